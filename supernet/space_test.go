package supernet

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
)

func lookup(t *testing.T, name string) *Space {
	t.Helper()
	s, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustParse(t *testing.T, def string) model.Arch {
	t.Helper()
	a, err := model.ParseArch(def)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLookup(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) || len(names) != 5 {
		t.Errorf("Names() = %v", names)
	}
	for _, name := range names {
		s := lookup(t, name)
		if s.Name != name {
			t.Errorf("Lookup(%q).Name = %q", name, s.Name)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err := Lookup("sr_huge")
	if err == nil || !strings.Contains(err.Error(), `unknown search space "sr_huge" (known: dev-small, fmnist, fmnist-wide, sr_small_mh, sr_tiny_mh)`) {
		t.Errorf("Lookup(sr_huge): %v", err)
	}
	a := lookup(t, "sr_tiny_mh")
	a.Layers[0].Heads[0] = 99
	a.Widths[0] = 1
	if b := lookup(t, "sr_tiny_mh"); b.Layers[0].Heads[0] != 6 || b.Widths[0] != 256 {
		t.Error("Lookup shares state between calls")
	}
}

// TestReferenceSpaces checks the two reference spaces against the fixture's largest defs and
// the block indices of reference.md §4.3.
func TestReferenceSpaces(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "macs-public.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Name       string `json:"name"`
		NetworkDef string `json:"network_def"`
	}
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatal(err)
	}
	maxDef := map[string]string{}
	for _, r := range rows {
		maxDef[r.Name] = r.NetworkDef
	}
	for _, tc := range []struct {
		name       string
		reductions []int
		skippable  []int
	}{
		{"sr_tiny_mh", []int{6, 13}, []int{1, 3, 5, 8, 10, 12, 15, 17, 19}},
		{"sr_small_mh", []int{7, 15}, []int{1, 3, 5, 9, 11, 13, 17, 19, 21}},
	} {
		s := lookup(t, tc.name)
		if got, want := s.Max().String(), maxDef[tc.name+"-max"]; got != want {
			t.Errorf("%s Max():\n got %s\nwant %s", tc.name, got, want)
		}
		var reductions, skippable []int
		for i, c := range s.Layers {
			if c.Type == model.TypeReduction {
				reductions = append(reductions, i)
			}
			if c.Skippable {
				skippable = append(skippable, i)
			}
		}
		if !slices.Equal(reductions, tc.reductions) || !slices.Equal(skippable, tc.skippable) {
			t.Errorf("%s: reductions %v skippable %v, want %v %v", tc.name, reductions, skippable, tc.reductions, tc.skippable)
		}
		if s.Input != model.ReferenceInput() || s.Classes != 1000 || s.StemType != model.TypeConvStem {
			t.Errorf("%s: input %+v classes %d stem %d", tc.name, s.Input, s.Classes, s.StemType)
		}
	}
}

// TestPresetsAreMembers: the released networks, uncompacted, belong to the spaces they were
// searched in; the hand-designed ViT-Res-Tiny does not (head dim 64 everywhere).
func TestPresetsAreMembers(t *testing.T) {
	for preset, space := range map[string]string{
		"vit-resnas-tiny": "sr_tiny_mh", "vit-resnas-small": "sr_small_mh", "vit-resnas-medium": "sr_small_mh",
	} {
		s := lookup(t, space)
		a, _ := model.Preset(preset)
		u, err := s.Uncompact(a)
		if err != nil {
			t.Fatalf("%s: %v", preset, err)
		}
		if err := s.Contains(u); err != nil {
			t.Errorf("%s in %s: %v", preset, space, err)
		}
		if !u.Compact().Equal(a) {
			t.Errorf("%s: Uncompact then Compact changed it", preset)
		}
		if err := s.Contains(a); err == nil || !strings.Contains(err.Error(), "skipped blocks deleted?") {
			t.Errorf("%s compacted: got %v, want a length error with a hint", preset, err)
		}
	}
	s := lookup(t, "sr_tiny_mh")
	a, _ := model.Preset("vit-res-tiny")
	u, err := s.Uncompact(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Contains(u); err == nil || err.Error() != "blocks.0: head dim 64, sr_tiny_mh uses 32 here" {
		t.Errorf("vit-res-tiny in sr_tiny_mh: %v", err)
	}
}

// TestSummaryDef: the README's summary.txt def for Small keeps its skipped blocks (with
// whatever heads/MLP they had); it is a member, and deleting them gives ViT-ResNAS-Small.
func TestSummaryDef(t *testing.T) {
	const summary = "((4, 220), (1, (220, 5, 32), (220, 880), 1), (1, (220, 5, 32), (220, 880), 1), (1, (220, 7, 32), (220, 800), 1), (1, (220, 7, 32), (220, 800), 0), (1, (220, 5, 32), (220, 720), 1), (1, (220, 5, 32), (220, 720), 1), (1, (220, 5, 32), (220, 720), 1), (3, 220, 440), (1, (440, 10, 48), (440, 1760), 1), (1, (440, 10, 48), (440, 1440), 1), (1, (440, 10, 48), (440, 1920), 1), (1, (440, 10, 48), (440, 1600), 1), (1, (440, 12, 48), (440, 1600), 1), (1, (440, 12, 48), (440, 1120), 0), (1, (440, 12, 48), (440, 1440), 1), (3, 440, 880), (1, (880, 16, 64), (880, 3200), 1), (1, (880, 12, 64), (880, 3200), 1), (1, (880, 16, 64), (880, 2880), 1), (1, (880, 12, 64), (880, 3200), 0), (1, (880, 12, 64), (880, 2240), 1), (1, (880, 12, 64), (880, 3520), 0), (1, (880, 14, 64), (880, 2560), 1), (2, 880, 1000))"
	s := lookup(t, "sr_small_mh")
	a := mustParse(t, summary)
	if err := s.Contains(a); err != nil {
		t.Fatal(err)
	}
	small, _ := model.Preset("vit-resnas-small")
	if !a.Compact().Equal(small) {
		t.Error("summary def compacted is not ViT-ResNAS-Small")
	}
	if profiler.MACs(a, s.Input) != profiler.MACs(small, s.Input) {
		t.Error("skipped blocks changed the MACs")
	}
}

// TestDevSmall: the fixture supernet is dev-small's largest network, its sub-networks members.
func TestDevSmall(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "reference-dev", "spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Img      int      `json:"img"`
		Space    string   `json:"space"`
		Supernet string   `json:"supernet"`
		Subnets  []string `json:"subnets"`
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	s := lookup(t, spec.Space)
	if s.Input.Size != spec.Img {
		t.Errorf("dev-small input %d px, fixture %d", s.Input.Size, spec.Img)
	}
	if got := s.Max().String(); got != spec.Supernet {
		t.Errorf("Max():\n got %s\nwant %s", got, spec.Supernet)
	}
	for i, def := range spec.Subnets {
		if err := s.Contains(mustParse(t, def)); err != nil {
			t.Errorf("subnet %d: %v", i, err)
		}
	}
}

// TestMembersProperties: for every space, Max, Min and random members are valid members that
// run on the space's input, and Compact→Uncompact round-trips.
func TestMembersProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, name := range Names() {
		s := lookup(t, name)
		member := func(what string, a model.Arch) {
			t.Helper()
			if err := a.ValidateFor(s.Input); err != nil {
				t.Fatalf("%s %s: %v\n%s", name, what, err, a)
			}
			if err := s.Contains(a); err != nil {
				t.Fatalf("%s %s: not a member: %v\n%s", name, what, err, a)
			}
			if err := s.Fits(a); err != nil {
				t.Fatalf("%s %s: does not fit: %v", name, what, err)
			}
			c := a.Compact()
			u, err := s.Uncompact(c)
			if err != nil {
				t.Fatalf("%s %s: Uncompact: %v", name, what, err)
			}
			if err := s.Contains(u); err != nil {
				t.Fatalf("%s %s: Uncompact gave a non-member: %v", name, what, err)
			}
			if !u.Compact().Equal(c) {
				t.Fatalf("%s %s: Uncompact(Compact(a)).Compact() != Compact(a)", name, what)
			}
			if canonicalSkips(s, a) && !u.Equal(a) {
				t.Fatalf("%s %s: Uncompact(Compact(a)) != a\n got %s\nwant %s", name, what, u, a)
			}
			v, err := s.Uncompact(a)
			if err != nil || !v.Equal(a) {
				t.Fatalf("%s %s: Uncompact of an uncompacted def changed it: %v", name, what, err)
			}
		}
		member("Max", s.Max())
		member("Min", s.Min())
		for i := range 300 {
			member("random #"+strconv.Itoa(i), s.Random(rng))
		}
		// Min is the smallest and Max the largest of everything.
		lo, hi := profiler.MACs(s.Min(), s.Input), profiler.MACs(s.Max(), s.Input)
		for range 100 {
			if m := profiler.MACs(s.Random(rng), s.Input); m < lo || m > hi {
				t.Errorf("%s: random member %d MACs outside [%d, %d]", name, m, lo, hi)
			}
		}
	}
}

// canonicalSkips reports whether a skips, in each stage, exactly the last skippable positions
// (the placement Uncompact chooses) with canonical placeholders.
func canonicalSkips(s *Space, a model.Arch) bool {
	u, err := s.Uncompact(a.Compact())
	if err != nil {
		return false
	}
	for i, l := range a.Layers {
		if l.Exists != u.Layers[i].Exists {
			return false
		}
	}
	return true
}

// TestUncompactExact builds members whose skips are canonical and checks exact round trips,
// so the property above is not vacuous.
func TestUncompactExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	s := lookup(t, "sr_tiny_mh")
	exact := 0
	for range 200 {
		a := s.Random(rng)
		if !canonicalSkips(s, a) {
			continue
		}
		exact++
		u, err := s.Uncompact(a.Compact())
		if err != nil || !u.Equal(a) {
			t.Fatalf("Uncompact(Compact(a)) != a: %v\n got %s\nwant %s", err, u, a)
		}
	}
	if exact < 10 {
		t.Fatalf("only %d of 200 random members skip canonically; the test checks too little", exact)
	}
	// A stage with blocks 0..5 (1, 3, 5 skippable) and 4 blocks left skips 3 and 5.
	a := s.Max()
	a.Layers[1] = placeholder(s.Layers[1], 256)
	a.Layers[3] = placeholder(s.Layers[3], 256)
	u, err := s.Uncompact(a.Compact())
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, true, false, true, false} {
		if u.Layers[i].Exists != want {
			t.Errorf("blocks.%d exists=%v, want %v", i, u.Layers[i].Exists, want)
		}
	}
}

func TestUncompactErrors(t *testing.T) {
	s := lookup(t, "sr_tiny_mh")
	tiny, _ := model.Preset("vit-resnas-tiny")
	for _, tc := range []struct {
		def, want string
	}{
		{"((4, 176), (1, (176, 3, 32), (176, 704), 1), (3, 176, 352), (2, 352, 1000))", "network_def: 2 stages, sr_tiny_mh has 3"},
		{"((4, 176), (1, (176, 3, 32), (176, 704), 1), (1, (176, 3, 32), (176, 704), 1), (3, 176, 352), (1, (352, 8, 48), (352, 1408), 1), (1, (352, 8, 48), (352, 1408), 1), (1, (352, 8, 48), (352, 1408), 1), (3, 352, 704), (1, (704, 8, 64), (704, 2560), 1), (1, (704, 8, 64), (704, 2560), 1), (1, (704, 8, 64), (704, 2560), 1), (2, 704, 1000))",
			"network_def: stage 1 has 2 blocks, sr_tiny_mh takes 3 to 6"},
		{strings.Replace(tiny.String(), "(3, 176, 352)", "(1, (176, 3, 32), (176, 704), 1), (1, (176, 3, 32), (176, 704), 1), (3, 176, 352)", 1),
			"network_def: stage 1 has 7 blocks, sr_tiny_mh takes 3 to 6"},
		{strings.Replace(tiny.String(), "(3, 176, 352)", "(3, 176, 100)", 1), "blocks.5: C_out 100 < C_in 176"},
	} {
		_, err := s.Uncompact(mustParse(t, tc.def))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Uncompact: got %v, want …%s…", err, tc.want)
		}
	}
}

func TestContainsErrors(t *testing.T) {
	s := lookup(t, "sr_tiny_mh")
	base := s.Max()
	tests := []struct {
		name  string
		edit  func(a model.Arch) model.Arch
		field string
		want  string
	}{
		{"heads", func(a model.Arch) model.Arch { a.Layers[7].Heads = 14; return a }, "heads", "blocks.7: 14 heads not in sr_tiny_mh choices [12 10 8 6]"},
		{"mlp", func(a model.Arch) model.Arch { a.Layers[0].MLP = 700; return a }, "mlp", "blocks.0: MLP hidden 700 not in sr_tiny_mh choices [768 704 640 576 512 448 384]"},
		{"head dim", func(a model.Arch) model.Arch { a.Layers[14].HeadDim = 32; return a }, "head_dim", "blocks.14: head dim 32, sr_tiny_mh uses 64 here"},
		{"skip", func(a model.Arch) model.Arch { a.Layers[9].Exists = false; return a }, "exists", "blocks.9: skipped (exists=0), but sr_tiny_mh cannot skip it; skippable: blocks.8, 10, 12"},
		{"stem width", func(a model.Arch) model.Arch { return a.WithStageWidth(0, 200) }, "width", "stem: width 200 not in sr_tiny_mh choices [256 224 192 176 160]"},
		{"SR width", func(a model.Arch) model.Arch { return a.WithStageWidth(2, 1000) }, "out", "blocks.13: width 1000 not in sr_tiny_mh choices [1024 896 768 704 640]"},
		{"stage width", func(a model.Arch) model.Arch { a.Layers[9].Dim = 448; return a }, "dim", "blocks.9: width 448, want 512, the current embed width (set by blocks.6)"},
		{"classes", func(a model.Arch) model.Arch { a.Head.Classes = 10; return a }, "classes", "head: 10 classes, sr_tiny_mh has 1000"},
		{"stem type", func(a model.Arch) model.Arch { a.Stem = model.Stem{Type: model.TypeLinearStem, Width: 256}; return a }, "type", "stem: stem type 0, sr_tiny_mh has a type-4 stem"},
		{"stem mid", func(a model.Arch) model.Arch {
			a.Stem = model.Stem{Type: model.TypeConvStemMid, Width: 256, Mid: 16}
			return a
		}, "type", "stem: stem (5, C, 16), sr_tiny_mh has (4, C)"},
		{"length", func(a model.Arch) model.Arch { a.Layers = slices.Delete(a.Layers, 1, 2); return a }, "", "network_def: 19 entries between stem and head, sr_tiny_mh has 20 (skipped blocks deleted?"},
	}
	for _, tc := range tests {
		a := tc.edit(base.Clone())
		err := s.Contains(a)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant …%s…", tc.name, err, tc.want)
			continue
		}
		var ae *model.ArchError
		if !errors.As(err, &ae) || ae.Field != tc.field {
			t.Errorf("%s: got %#v, want an *ArchError with field %q", tc.name, err, tc.field)
		}
	}
	// A reduction where the space has a block (and vice versa) is named as such.
	a := s.Max()
	a.Layers = slices.Insert(slices.Delete(a.Layers, 5, 6), 4, model.Layer{Type: model.TypeReduction, In: 256, Out: 256})
	if err := s.Contains(a); err == nil || !strings.Contains(err.Error(), "blocks.4: spatial reduction, but sr_tiny_mh has a transformer block here") {
		t.Errorf("misplaced reduction: %v", err)
	}
}

func TestFits(t *testing.T) {
	s := lookup(t, "sr_tiny_mh")
	a := s.Max()
	a.Layers[7].Heads = 11 // not a choice, but slices fine
	a.Layers[0].MLP = 700
	a = a.WithStageWidth(0, 200)
	if err := s.Fits(a); err != nil {
		t.Errorf("in-between sizes: %v", err)
	}
	if err := s.Contains(a); err == nil {
		t.Error("in-between sizes are members")
	}
	for _, tc := range []struct {
		edit func(a model.Arch) model.Arch
		want string
	}{
		{func(a model.Arch) model.Arch { a.Layers[7].Heads = 13; return a }, "blocks.7: 13 heads exceed sr_tiny_mh's largest, 12"},
		{func(a model.Arch) model.Arch { a.Layers[0].MLP = 800; return a }, "blocks.0: MLP hidden 800 exceeds sr_tiny_mh's largest, 768"},
		{func(a model.Arch) model.Arch { return a.WithStageWidth(1, 520) }, "blocks.6: width 520 exceeds sr_tiny_mh's largest, 512"},
		{func(a model.Arch) model.Arch { return a.WithStageWidth(0, 300) }, "stem: width 300 exceeds sr_tiny_mh's largest, 256"},
		{func(a model.Arch) model.Arch { a.Layers[7].HeadDim = 64; return a }, "blocks.7: head dim 64, sr_tiny_mh uses 48 here"},
		{func(a model.Arch) model.Arch {
			a.Stem = model.Stem{Type: model.TypeConvStemMid, Width: 256, Mid: 32}
			return a
		}, "stem: stem mid 32 exceeds sr_tiny_mh's 24"},
	} {
		err := s.Fits(tc.edit(s.Max()))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Fits: got %v, want …%s…", err, tc.want)
		}
	}
	b := s.Max()
	b.Layers[9].Exists = false // not skippable in the space, but nothing to slice
	if err := s.Fits(b); err != nil {
		t.Errorf("skipped non-skippable block: %v", err)
	}
}

func TestSpaceValidate(t *testing.T) {
	for _, tc := range []struct {
		edit func(s *Space)
		want string
	}{
		{func(s *Space) { s.Widths = []int{160, 256} }, "space sr_tiny_mh: widths: width choices [160 256] not strictly descending"},
		{func(s *Space) { s.Layers[6].Widths = []int{512, 200} }, "blocks.6: smallest width 200 < the previous stage's largest 256"},
		{func(s *Space) { s.Layers[0].Heads = nil }, "blocks.0: no heads choices"},
		{func(s *Space) { s.Layers[0].MLP = []int{0} }, "blocks.0: MLP choice 0 out of range"},
		{func(s *Space) { s.Layers[6].Skippable = true }, "blocks.6: spatial reduction has transformer block choices"},
		{func(s *Space) { s.Layers[0].Type = 7 }, "blocks.0: unknown layer type 7"},
		{func(s *Space) { s.Classes = 0 }, "classes: 0"},
		{func(s *Space) { s.Input.Size = 210 }, "largest network: blocks.6: spatial reduction needs an even token grid"},
	} {
		s := lookup(t, "sr_tiny_mh")
		tc.edit(s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want …%s…", err, tc.want)
		}
	}
}

// TestRandomIsUniform: every choice of every gene turns up, and skippable blocks exist about
// half the time (the seed is fixed, so this is deterministic).
func TestRandomIsUniform(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	s := lookup(t, "fmnist")
	const n = 4000
	widths := map[int]int{}
	heads := map[int]int{}
	exists := 0
	for range n {
		a := s.Random(rng)
		widths[a.Stem.Width]++
		if a.Layers[0].Exists {
			heads[a.Layers[0].Heads]++
		}
		if a.Layers[1].Exists {
			exists++
		}
	}
	for _, w := range s.Widths {
		if c := widths[w]; c < n/len(s.Widths)*8/10 || c > n/len(s.Widths)*12/10 {
			t.Errorf("stem width %d drawn %d of %d times", w, c, n)
		}
	}
	for _, h := range s.Layers[0].Heads {
		if c := heads[h]; c < n/len(s.Layers[0].Heads)*8/10 {
			t.Errorf("heads %d drawn %d of %d times", h, c, n)
		}
	}
	if exists < n*45/100 || exists > n*55/100 {
		t.Errorf("skippable blocks.1 exists %d of %d times", exists, n)
	}
}

// TestFmnistBudget pins the fmnist design: 32 px grayscale, 8×8 → 4×4 → 2×2 grids, largest
// ≤ 25 MMACs (about 17), smallest ≤ 3 MMACs.
func TestFmnistBudget(t *testing.T) {
	s := lookup(t, "fmnist")
	if s.Input != (model.Input{Size: 32, Channels: 1, Patch: 4}) || s.Classes != 10 {
		t.Errorf("fmnist input %+v classes %d", s.Input, s.Classes)
	}
	maxMACs, minMACs := profiler.MACs(s.Max(), s.Input), profiler.MACs(s.Min(), s.Input)
	t.Logf("fmnist: largest %d MACs %d params, smallest %d MACs %d params", maxMACs, profiler.Params(s.Max(), s.Input),
		minMACs, profiler.Params(s.Min(), s.Input))
	if maxMACs > 25_000_000 || maxMACs < 12_000_000 {
		t.Errorf("largest network %d MACs, want 12–25 M", maxMACs)
	}
	if minMACs > 3_000_000 {
		t.Errorf("smallest network %d MACs, want ≤ 3 M", minMACs)
	}
	grids := []int{}
	for _, st := range s.Max().Stages() {
		grids = append(grids, st.Grid(s.Input))
	}
	if !slices.Equal(grids, []int{8, 4, 2}) {
		t.Errorf("fmnist grids %v, want [8 4 2]", grids)
	}
}

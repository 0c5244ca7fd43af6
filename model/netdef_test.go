package model

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixtureDefs returns every network_def string in the repository's reference fixtures:
// testdata/macs-public.json and the reference-dev spec.json and golden.json.
func fixtureDefs(t testing.TB) map[string]string {
	t.Helper()
	defs := map[string]string{}
	read := func(name string, v any) {
		data, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var macs []struct {
		Name       string `json:"name"`
		NetworkDef string `json:"network_def"`
	}
	read("macs-public.json", &macs)
	for _, r := range macs {
		defs["macs-public/"+r.Name] = r.NetworkDef
	}
	var spec struct {
		Supernet string   `json:"supernet"`
		Subnets  []string `json:"subnets"`
	}
	read("reference-dev/spec.json", &spec)
	defs["spec/supernet"] = spec.Supernet
	for i, s := range spec.Subnets {
		defs["spec/subnet"+string(rune('0'+i))] = s
	}
	var golden struct {
		Cases []struct {
			Name       string `json:"name"`
			NetworkDef string `json:"network_def"`
		} `json:"cases"`
	}
	read("reference-dev/golden.json", &golden)
	for _, c := range golden.Cases {
		defs["golden/"+c.Name] = c.NetworkDef
	}
	if len(defs) < 8 {
		t.Fatalf("only %d fixture defs found", len(defs))
	}
	return defs
}

func TestParseArchFixturesRoundTrip(t *testing.T) {
	for name, def := range fixtureDefs(t) {
		a, err := ParseArch(def)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := a.String(); got != def {
			t.Errorf("%s: String() differs from the fixture\n got %s\nwant %s", name, got, def)
		}
		if err := a.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", name, err)
		}
	}
}

func TestParseArchFields(t *testing.T) {
	a, err := ParseArch("((5, 40, 12), (1, (40, 3, 16), (40, 120), 1), (1, (40, 2, 16), (40, 96), 0), (3, 40, 80), (2, 80, 10))")
	if err != nil {
		t.Fatal(err)
	}
	want := Arch{
		Stem: Stem{Type: TypeConvStemMid, Width: 40, Mid: 12},
		Layers: []Layer{
			{Type: TypeBlock, Dim: 40, Heads: 3, HeadDim: 16, MLP: 120, Exists: true},
			{Type: TypeBlock, Dim: 40, Heads: 2, HeadDim: 16, MLP: 96},
			{Type: TypeReduction, In: 40, Out: 80},
		},
		Head: Head{Dim: 80, Classes: 10},
	}
	if !a.Equal(want) {
		t.Fatalf("got %+v\nwant %+v", a, want)
	}
	b, err := ParseArch("((4, 16), (2, 16, 10))")
	if err != nil {
		t.Fatal(err)
	}
	if b.Stem != (Stem{Type: TypeConvStem, Width: 16, Mid: DefaultStemMid}) {
		t.Errorf("type-4 stem: got %+v, want mid %d", b.Stem, DefaultStemMid)
	}
}

// TestParseArchTolerant feeds the forms users paste: shell-quoted, multi-line with trailing
// commas and comments (as in supernet_config/*.py), json.dumps lists, True/False.
func TestParseArchTolerant(t *testing.T) {
	const canonical = "((4, 176), (1, (176, 3, 32), (176, 704), 1), (1, (176, 3, 32), (176, 576), 0), (3, 176, 352), (2, 352, 1000))"
	inputs := map[string]string{
		"canonical":    canonical,
		"single quote": "  '" + canonical + "'\n",
		"double quote": `"` + canonical + `"`,
		"no spaces":    strings.ReplaceAll(canonical, " ", ""),
		"multi-line": `((4, 176),   # conv stem
	(1, (176, 3, 32), (176, 704), 1),
	(1, (176, 3, 32), (176, 576), 0),
	(3, 176, 352),
	(2, 352, 1000),
)`,
		"lists":           "[[4, 176], [1, [176, 3, 32], [176, 704], 1], [1, [176, 3, 32], [176, 576], 0], [3, 176, 352], [2, 352, 1000]]",
		"bools":           "((4, 176), (1, (176, 3, 32), (176, 704), True), (1, (176, 3, 32), (176, 576), False), (3, 176, 352), (2, 352, 1000))",
		"trailing commas": "((4, 176,), (1, (176, 3, 32,), (176, 704,), 1,), (1, (176, 3, 32), (176, 576), 0), (3, 176, 352), (2, 352, 1000,),)",
		"grouping parens": "((4, (176)), (1, (176, 3, 32), (176, 704), 1), (1, (176, 3, 32), (176, 576), 0), (3, 176, 352), (2, 352, 1000))",
		"line continued":  "((4, 176), \\\n(1, (176, 3, 32), (176, 704), 1), (1, (176, 3, 32), (176, 576), 0), (3, 176, 352), (2, 352, 1000))",
	}
	for name, in := range inputs {
		a, err := ParseArch(in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := a.String(); got != canonical {
			t.Errorf("%s: got %s", name, got)
		}
	}
}

func TestParseArchErrors(t *testing.T) {
	tests := []struct {
		in, want string // want: a substring of the error
		entry    int
		field    string
	}{
		{"", "want a number or '(', got end of input", -1, ""},
		{"((4, 176), (2, 176, 1000)", "want ',' or ')' after an element, got end of input", -1, ""},
		{"((4, 176) (2, 176, 1000))", `col 11: want ',' or ')' after an element, got "(2, 176, 100"`, -1, ""},
		{"((4, 176), (2, 176, 1000)) x", `unexpected "x" after the network_def`, -1, ""},
		{"((4, 1.5), (2, 176, 1000))", "want a whole decimal number", -1, ""},
		{"((4, 99999999999), (2, 176, 1000))", "out of range", -1, ""},
		{"((4, 176),\n (1, (176, 3, 32), (176 704), 1),\n (2, 176, 1000))", "line 2 col 25: want ',' or ')' after an element, got \"704), 1),\" (opened at col 20)", -1, ""},
		{"176", "want a tuple of entries", -1, ""},
		{"'((4, 176) (2, 176, 1000))'", "col 12: want ','", -1, ""},
		{"'", "col 1: want a number or '(', got \"'\"", -1, ""},
		{"((4, 176),)", "want a tuple of entries", -1, ""},
		{"((1, (176, 3, 32), (176, 704), 1), (2, 176, 1000))", "entry 0 (stem): the first entry must be the stem", 0, "type"},
		{"((4, 176), (1, (176, 3, 32), (176, 704), 1))", "entry 1 (head): the last entry must be the head (2, C, classes)", 1, "type"},
		{"((4, 176), (2, 176, 1000), (1, (176, 3, 32), (176, 704), 1), (2, 176, 1000))", "entry 1 (blocks.0): the head (2, C, classes) must be the last entry", 1, "type"},
		{"((4, 176), (4, 176), (2, 176, 1000))", "entry 1 (blocks.0): a stem", 1, "type"},
		{"((4, 176, 24), (2, 176, 1000))", "entry 0 (stem): stem wants (4, C); write (5, C, mid)", 0, ""},
		{"((5, 176), (2, 176, 1000))", "stem wants (5, C, mid), got (5, 176)", 0, ""},
		{"((4, 176), (1, (176, 3, 32), (176, 704), 1), (1, (176, 3, 32), (176, 704), 1), (1, (176, 3), (176, 704), 1), (2, 176, 1000))",
			"entry 3 (blocks.2): transformer block wants (1, (C, H, D), (C, hidden), exists), got (1, (176, 3), (176, 704), 1)", 3, ""},
		{"((4, 176), (1, (176, 3, 32), (192, 704), 1), (2, 176, 1000))", "entry 1 (blocks.0): attention width C=176 and MLP width C=192 differ", 1, "dim"},
		{"((4, 176), (1, (176, 3, 32), (176, 704), 2), (2, 176, 1000))", "entry 1 (blocks.0): exists must be 0 or 1, got 2", 1, "exists"},
		{"((4, 176), (3, 176), (2, 176, 1000))", "entry 1 (blocks.0): spatial reduction wants (3, C_in, C_out), got (3, 176)", 1, ""},
		{"((4, 176), (7, 176), (2, 176, 1000))", "entry 1 (blocks.0): unknown entry type 7", 1, "type"},
		{"((4, 176), (2, 176))", "entry 1 (head): head wants (2, C, classes), got (2, 176)", 1, ""},
		{"((4, 176), (1,), (2, 176, 1000))", "transformer block wants (1, (C, H, D), (C, hidden), exists), got (1,)", 1, ""},
		{"((4, 176), 5, (2, 176, 1000))", "entry 1 (blocks.0): want an entry (type, …), got 5", 1, ""},
		{strings.Repeat("(", 40), "nested deeper than", -1, ""},
	}
	for _, tc := range tests {
		_, err := ParseArch(tc.in)
		if err == nil {
			t.Errorf("ParseArch(%q): no error, want %q", tc.in, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseArch(%q):\n got %v\nwant …%s…", tc.in, err, tc.want)
		}
		var ae *ArchError
		if !errors.As(err, &ae) {
			t.Errorf("ParseArch(%q): %T is not an *ArchError", tc.in, err)
			continue
		}
		if ae.Entry != tc.entry || ae.Field != tc.field {
			t.Errorf("ParseArch(%q): entry %d field %q, want entry %d field %q", tc.in, ae.Entry, ae.Field, tc.entry, tc.field)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseArch(%q): error spans lines: %q", tc.in, err)
		}
	}
}

func TestParseArchJSON(t *testing.T) {
	for name, def := range fixtureDefs(t) {
		a, err := ParseArch(def)
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseArchJSON(data)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, data)
		}
		if !a.Equal(b) {
			t.Errorf("%s: JSON round trip changed the arch\n got %s\nwant %s", name, b, a)
		}
		c, err := ParseArchAny("  " + string(data))
		if err != nil || !c.Equal(a) {
			t.Errorf("%s: ParseArchAny(JSON) = %s, %v", name, c, err)
		}
		d, err := ParseArchAny(def)
		if err != nil || !d.Equal(a) {
			t.Errorf("%s: ParseArchAny(tuple) = %s, %v", name, d, err)
		}
	}
	a, err := ParseArchJSON([]byte(`{"stem":{"type":4,"width":16},"layers":[],"head":{"dim":16,"classes":10}}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Stem.Mid != DefaultStemMid {
		t.Errorf("type-4 stem without mid: got mid %d, want %d", a.Stem.Mid, DefaultStemMid)
	}
	if _, err := ParseArchJSON([]byte(`{"stem":{"type":4,"width":16},"head":{"dim":16,"classes":10},"extra":1}`)); err == nil ||
		!strings.Contains(err.Error(), `unknown field "extra"`) {
		t.Errorf("unknown JSON field: got %v", err)
	}
	if _, err := ParseArchJSON([]byte(`{"stem":{"type":4,"width":16},"head":{"dim":16,"classes":10}} {}`)); err == nil {
		t.Error("trailing JSON data: no error")
	}
}

func TestCompactAndStages(t *testing.T) {
	a, err := ParseArch("((4, 24), (1, (24, 1, 16), (24, 64), 1), (1, (24, 2, 16), (24, 96), 0), (1, (24, 2, 16), (24, 96), 1), (3, 24, 48), (1, (48, 4, 16), (48, 192), 0), (3, 48, 80), (1, (80, 2, 32), (80, 288), 1), (2, 80, 10))")
	if err != nil {
		t.Fatal(err)
	}
	stages := a.Stages()
	want := []Stage{
		{Index: 0, Width: 24, Reduction: -1, Blocks: []int{0, 1, 2}},
		{Index: 1, Width: 48, Reduction: 3, Blocks: []int{4}},
		{Index: 2, Width: 80, Reduction: 5, Blocks: []int{6}},
	}
	if len(stages) != len(want) {
		t.Fatalf("got %d stages, want %d", len(stages), len(want))
	}
	for i := range want {
		g, w := stages[i], want[i]
		if g.Index != w.Index || g.Width != w.Width || g.Reduction != w.Reduction || !slices.Equal(g.Blocks, w.Blocks) {
			t.Errorf("stage %d: got %+v, want %+v", i, g, w)
		}
	}
	in := Input{Size: 112, Channels: 3, Patch: 14}
	if g, n := stages[2].Grid(in), stages[2].Tokens(in); g != 2 || n != 5 {
		t.Errorf("stage 2 at 112px: grid %d tokens %d, want 2 and 5", g, n)
	}
	if d := stages[0].Depth(a); d != 2 {
		t.Errorf("stage 0 depth %d, want 2", d)
	}

	c := a.Compact()
	const wantCompact = "((4, 24), (1, (24, 1, 16), (24, 64), 1), (1, (24, 2, 16), (24, 96), 1), (3, 24, 48), (3, 48, 80), (1, (80, 2, 32), (80, 288), 1), (2, 80, 10))"
	if c.String() != wantCompact {
		t.Errorf("Compact:\n got %s\nwant %s", c, wantCompact)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("compacted arch invalid: %v", err)
	}
	if len(a.Layers) != 7 || a.Layers[1].Exists {
		t.Error("Compact modified its receiver")
	}
}

// FuzzParseArch: parsing never panics, and whatever parses prints and re-parses to the same
// Arch, whose printed form is then stable.
func FuzzParseArch(f *testing.F) {
	for _, def := range fixtureDefs(f) {
		f.Add(def)
	}
	f.Add("((5, 40, 12), (1, (40, 3, 16), (40, 120), True), [3, 40, 80], (2, 80, 10),)")
	f.Add("'((0, 192), (2, 192, 1000))'")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseArch(s)
		if err != nil {
			if a.Stem != (Stem{}) || a.Layers != nil {
				t.Fatalf("error %v with a non-zero Arch", err)
			}
			return
		}
		printed := a.String()
		b, err := ParseArch(printed)
		if err != nil {
			t.Fatalf("printed form %q does not parse: %v", printed, err)
		}
		if !a.Equal(b) {
			t.Fatalf("re-parse differs:\n%+v\n%+v", a, b)
		}
		if b.String() != printed {
			t.Fatalf("printing is not stable: %q then %q", printed, b.String())
		}
		_ = a.Validate() // must not panic either
		_ = a.Compact().Stages()
	})
}

func TestWithStageWidth(t *testing.T) {
	a, _ := Preset("vit-resnas-tiny")
	for stage, w := range []int{160, 320, 640} {
		b := a.WithStageWidth(stage, w)
		if err := b.Validate(); err != nil {
			t.Errorf("stage %d → %d: %v", stage, w, err)
		}
		if got := b.Stages()[stage].Width; got != w {
			t.Errorf("stage %d width %d, want %d", stage, got, w)
		}
		for k, s := range b.Stages() {
			if k != stage && s.Width != a.Stages()[k].Width {
				t.Errorf("stage %d → %d changed stage %d", stage, w, k)
			}
		}
	}
	if a.Stem.Width != 176 {
		t.Error("WithStageWidth modified its receiver")
	}
}

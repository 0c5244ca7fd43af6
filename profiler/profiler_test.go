package profiler

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// TestFixtureCounts checks every row of testdata/macs-public.json: MACs from the reference
// estimator and inference parameter counts (no patch_head), at 224 px.
func TestFixtureCounts(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "macs-public.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Name       string `json:"name"`
		NetworkDef string `json:"network_def"`
		MACs       int64  `json:"macs"`
		Params     int64  `json:"params"`
	}
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no fixture rows")
	}
	for _, r := range rows {
		a, err := model.ParseArch(r.NetworkDef)
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		macs, params := Count(a, model.ReferenceInput())
		if macs != r.MACs || MACs(a, model.ReferenceInput()) != r.MACs {
			t.Errorf("%s: MACs %d, want %d (diff %d)", r.Name, macs, r.MACs, macs-r.MACs)
		}
		if params != r.Params || Params(a, model.ReferenceInput()) != r.Params {
			t.Errorf("%s: params %d, want %d (diff %d)", r.Name, params, r.Params, params-r.Params)
		}
	}
}

// TestSmallByHand checks a 32 px grayscale network counted by hand, which exercises the
// stem at its real intermediate resolution (16 px) and one input channel.
func TestSmallByHand(t *testing.T) {
	a, err := model.ParseArch("((5, 16, 8), (1, (16, 1, 8), (16, 32), 1), (1, (16, 1, 8), (16, 32), 0), (3, 16, 32), (2, 32, 10))")
	if err != nil {
		t.Fatal(err)
	}
	in := model.Input{Size: 32, Channels: 1, Patch: 4} // grid 8×8, 65 tokens; 4×4, 17 tokens
	const (
		stemMACs  = 1*8*9*16*16 + 2*8*8*9*16*16 + 16*8*2*2*8*8
		blockMACs = 65*16*3*8 + 2*65*65*8 + 65*8*16 + 2*65*16*32
		srMACs    = 4*4*32*9*16 + 16*32
		headMACs  = 32 * 10

		stemParams  = 16 + 65*16 + 8*1*9 + 2*8 + 2*(8*8*9+2*8) + 16*8*2*2 + 16
		blockParams = 2*16 + 16*24 + 24 + 8*16 + 16 + 2*16 + 16*32 + 32 + 32*16 + 16
		srParams    = 4*4*32 + 2*16 + 32*16*9 + 32 + 32*16 + 32
		headParams  = 2*32 + 32*10 + 10
	)
	want := []Part{
		{Name: "stem", Entry: 0, Kind: model.TypeConvStemMid, Tokens: 65, MACs: stemMACs, Params: stemParams},
		{Name: "blocks.0", Entry: 1, Kind: model.TypeBlock, Tokens: 65, MACs: blockMACs, Params: blockParams},
		{Name: "blocks.1", Entry: 2, Kind: model.TypeBlock, Tokens: 65},
		{Name: "blocks.2", Entry: 3, Kind: model.TypeReduction, Tokens: 17, MACs: srMACs, Params: srParams},
		{Name: "head", Entry: 4, Kind: model.TypeHead, Tokens: 17, MACs: headMACs, Params: headParams},
	}
	got := Breakdown(a, in)
	if !slices.Equal(got, want) {
		t.Errorf("Breakdown:\n got %+v\nwant %+v", got, want)
	}
	if m := MACs(a, in); m != stemMACs+blockMACs+srMACs+headMACs {
		t.Errorf("MACs %d, want %d", m, stemMACs+blockMACs+srMACs+headMACs)
	}
	if p := Params(a, in); p != stemParams+blockParams+srParams+headParams {
		t.Errorf("Params %d, want %d", p, stemParams+blockParams+srParams+headParams)
	}
}

// TestBreakdownSums: the parts add up to the totals for random members of every space.
func TestBreakdownSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range supernet.Names() {
		s, err := supernet.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for range 50 {
			a := s.Random(rng)
			var macs, params int64
			for _, p := range Breakdown(a, s.Input) {
				macs += p.MACs
				params += p.Params
			}
			if m, p := Count(a, s.Input); m != macs || p != params {
				t.Fatalf("%s %s: Count %d/%d, parts sum to %d/%d", name, a, m, p, macs, params)
			}
		}
	}
}

// TestMACsGrowWithEveryChoice: for random members of the reference spaces, growing any one
// gene (a stage width, a block's heads or MLP size, a skipped block's existence) to the next
// larger choice strictly increases MACs, and never decreases params.
func TestMACsGrowWithEveryChoice(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, name := range []string{"sr_tiny_mh", "sr_small_mh", "fmnist"} {
		s, err := supernet.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		stages := s.Stages()
		for range 20 {
			a := s.Random(rng)
			base, baseParams := Count(a, s.Input)
			check := func(what string, b model.Arch) {
				t.Helper()
				if err := s.Contains(b); err != nil {
					t.Fatalf("%s: grown arch not a member: %v", what, err)
				}
				m, p := Count(b, s.Input)
				if m <= base || p < baseParams {
					t.Errorf("%s %s: %s: MACs %d → %d, params %d → %d", name, a, what, base, m, baseParams, p)
				}
			}
			for k, st := range a.Stages() {
				if w, ok := nextLarger(stages[k].Widths, st.Width); ok {
					check("stage width", a.WithStageWidth(k, w))
				}
			}
			for i, l := range a.Layers {
				if l.Type != model.TypeBlock {
					continue
				}
				c := s.Layers[i]
				if !l.Exists {
					b := a.Clone()
					b.Layers[i].Exists = true
					check("existence", b)
					continue
				}
				if h, ok := nextLarger(c.Heads, l.Heads); ok {
					b := a.Clone()
					b.Layers[i].Heads = h
					check("heads", b)
				}
				if m, ok := nextLarger(c.MLP, l.MLP); ok {
					b := a.Clone()
					b.Layers[i].MLP = m
					check("mlp", b)
				}
			}
		}
	}
}

// nextLarger is the smallest choice above v.
func nextLarger(choices []int, v int) (int, bool) {
	best, ok := 0, false
	for _, c := range choices {
		if c > v && (!ok || c < best) {
			best, ok = c, true
		}
	}
	return best, ok
}

func BenchmarkMACs(b *testing.B) {
	a, _ := model.Preset("vit-resnas-small")
	in := model.ReferenceInput()
	b.ReportAllocs()
	for b.Loop() {
		MACs(a, in)
	}
}

package evaluate

import (
	"context"
	"testing"

	"github.com/resnas/resnas/checkpoints/shipped"
	"github.com/resnas/resnas/internal/gemm/backend"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/supernet"
)

// midArch takes the middle choice of every dimension of the space, all blocks on: the
// "mid-size sub-network" the explorer's latency targets are stated for.
func midArch(s *supernet.Space) model.Arch {
	a := s.Max()
	mid := func(c []int) int { return c[len(c)/2] }
	w := mid(s.Widths)
	a.Stem.Width = w
	if mids := s.StemMidChoices(); len(mids) > 1 {
		a.Stem.Mid = mid(mids)
	}
	for i, lc := range s.Layers {
		l := &a.Layers[i]
		switch lc.Type {
		case model.TypeBlock:
			l.Dim, l.Heads, l.MLP, l.Exists = w, mid(lc.Heads), mid(lc.MLP), true
		case model.TypeReduction:
			l.In = w
			w = mid(lc.Widths)
			l.Out = w
		}
	}
	a.Head.Dim = w
	return a
}

// BenchmarkDefaultSubVal times what the explorer does after an edit on the shipped default: a
// quick estimate on 256 sub-val images, then the whole sub-val, for a mid-size sub-network.
// Read ms/op; the targets are 300 ms and 3 s on 2 cores.
func BenchmarkDefaultSubVal(b *testing.B) {
	ck, err := shipped.Checkpoint()
	if err != nil {
		b.Skip(err)
	}
	set, err := shipped.SubVal()
	if err != nil {
		b.Skip(err)
	}
	sp, err := supernet.Lookup(ck.Meta.Space)
	if err != nil {
		b.Fatal(err)
	}
	sel, err := backend.Open(backend.Options{Device: "cpu"})
	if err != nil {
		b.Fatal(err)
	}
	a := midArch(sp)
	if err := sp.Contains(a); err != nil {
		b.Fatal(err)
	}
	b.Logf("mid-size sub-network: %.2f MMACs, GEMM %s", float64(profiler.MACs(a, sp.Input))/1e6, sel.Name)
	for _, c := range []struct {
		name  string
		limit int
	}{{"quick256", 256}, {"full", 0}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				ev, err := New(set, Options{Weights: ck.Weights, Input: sp.Input, Backend: sel.Backend})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ev.Evaluate(context.Background(), a, c.limit, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

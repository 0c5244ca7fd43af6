package train

import (
	"context"
	"math"
	"testing"

	"github.com/resnas/resnas/model"
)

// TestRewire checks importance sorting: the largest network computes the same function after
// it (a permutation of heads and hidden units), scores come out descending, and the AdamW
// moments move with their weights.
func TestRewire(t *testing.T) {
	o := tinyOptions(newSynthImages(32, 1, 16, 5, 1))
	tr, err := newTrainer(o)
	if err != nil {
		t.Fatal(err)
	}
	p := tr.p
	// Moments equal to the weights make "moved together" checkable after the permutation.
	for _, q := range p.trainable {
		copy(q.m, q.w)
		for i, v := range q.w {
			q.v[i] = v * v
		}
	}
	in := o.Space.Input
	x := newSynthImages(4, 1, in.Size, 5, 9).pix
	logits := func() []float32 {
		net, err := model.NewNet(p.weights(), p.maxArch, in, tr.opts.Gemm, model.NetOptions{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, 4*o.Space.Classes)
		if err := net.Forward(context.Background(), x, 4, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := logits()
	p.rewire()
	after := logits()
	for i := range before {
		if math.Abs(float64(before[i]-after[i])) > 1e-5 {
			t.Fatalf("logit %d changed from %g to %g by rewiring", i, before[i], after[i])
		}
	}
	for _, q := range p.trainable {
		for i, v := range q.w {
			if q.m[i] != v || q.v[i] != v*v {
				t.Fatalf("%s[%d]: moments did not move with the weight", q.key, i)
			}
		}
	}
	for i, l := range p.maxArch.Layers {
		if l.Type != model.TypeBlock {
			continue
		}
		lp := &p.layers[i]
		c, m := l.Dim, l.MLP
		prev := math.Inf(1)
		for u := 0; u < m; u++ {
			var s float64
			for _, v := range lp.fc1W.w[u*c : (u+1)*c] {
				s += abs32(v)
			}
			s += abs32(lp.fc1B.w[u])
			for o := 0; o < c; o++ {
				s += abs32(lp.fc2W.w[o*m+u])
			}
			if s > prev+1e-6 {
				t.Fatalf("blocks.%d: MLP unit %d scores %g after one scoring %g", i, u, s, prev)
			}
			prev = s
		}
	}
}

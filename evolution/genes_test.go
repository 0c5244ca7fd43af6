package evolution

import (
	"math/rand/v2"
	"testing"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
)

func TestOperatorsWithProbabilityZeroReturnTheParent(t *testing.T) {
	s := testSpace()
	r := newRNG(1)
	for i := range 50 {
		a, b := sampleUniform(r, s, s.Max()), sampleUniform(r, s, s.Max())
		src := rand.NewPCG(uint64(i), 7)
		if got := Mutate(src, s, a, 0); !got.Equal(a) {
			t.Fatalf("Mutate(p=0) of %s = %s", a, got)
		}
		if got := Crossover(src, s, a, b, 0); !got.Equal(a) {
			t.Fatalf("Crossover(p=0) of %s, %s = %s", a, b, got)
		}
		if got := Crossover(src, s, a, b, 1); !got.Equal(b) {
			t.Fatalf("Crossover(p=1) of %s, %s = %s, want the second parent", a, b, got)
		}
	}
}

func TestOperatorsStayInTheSpace(t *testing.T) {
	s := testSpace()
	r := newRNG(2)
	changed := 0
	for range 300 {
		var b model.Arch
		a := sampleUniform(r, s, s.Max())
		sampleWidthsDepth(r, s, s.Max(), &b)
		for _, c := range []model.Arch{a, b, mutate(r, s, a, 0.3), mutate(r, s, b, 1), crossover(r, s, a, b, 0.5)} {
			if err := s.Contains(c); err != nil {
				t.Fatalf("%s: %v", c, err)
			}
		}
		if !mutate(r, s, a, 0.3).Equal(a) {
			changed++
		}
	}
	if changed < 250 {
		t.Errorf("mutation with p=0.3 changed only %d of 300 parents", changed)
	}
}

func TestMutationFlipsExistenceOfSkippableBlocksOnly(t *testing.T) {
	s := testSpace()
	a := s.Max()
	m := mutate(newRNG(3), s, a, 1)
	for i, lc := range s.Layers {
		if lc.Type != model.TypeBlock {
			continue
		}
		if want := !lc.Skippable; m.Layers[i].Exists != want {
			t.Errorf("blocks.%d exists=%v after mutating every gene of the largest architecture, want %v", i, m.Layers[i].Exists, want)
		}
	}
}

func TestUpdateDepthRemovesFollowingSkippableBlocks(t *testing.T) {
	s := testSpace()
	// Make blocks 1..3 of stage 1 a run of skippable blocks, as in the reference's example.
	s.Layers[2].Skippable = true
	a := s.Max()
	a.Layers[1].Exists = false
	updateDepth(s, &a)
	if a.Layers[2].Exists || a.Layers[3].Exists {
		t.Errorf("after removing blocks.1, blocks.2 exists=%v and blocks.3 exists=%v, want both removed", a.Layers[2].Exists, a.Layers[3].Exists)
	}
	if !a.Layers[0].Exists || !a.Layers[6].Exists {
		t.Error("updateDepth removed a block outside the run")
	}
}

func TestPropagateKeepsWidthsConsistent(t *testing.T) {
	s := testSpace()
	a := s.Max()
	a.Stem.Width = 20
	a.Layers[4].Out = 48
	propagate(&a)
	if err := s.Contains(a); err != nil {
		t.Fatal(err)
	}
	if a.Layers[0].Dim != 20 || a.Layers[4].In != 20 || a.Layers[5].Dim != 48 || a.Layers[9].In != 48 || a.Head.Dim != 96 {
		t.Errorf("propagate gave %s", a)
	}
}

func TestRandomCandidatesFitTheWindow(t *testing.T) {
	s := testSpace()
	for _, frac := range []float64{0.1, 0.5, 0.9} {
		cons := midWindow(s, frac)
		g := generator{space: s, max: s.Max(), in: s.Input, r: newRNG(4), cons: cons}
		distinct := map[string]bool{}
		for range 100 {
			a, err := g.random(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Contains(a); err != nil {
				t.Fatalf("%s: %v", a, err)
			}
			if m := profiler.MACs(a, s.Input); m < cons.MinMACs || m > cons.MaxMACs {
				t.Fatalf("window %v: %s has %d MACs", cons, a, m)
			}
			distinct[a.String()] = true
		}
		if len(distinct) < 50 {
			t.Errorf("window %v: only %d distinct of 100 random candidates", cons, len(distinct))
		}
	}
}

func TestRandomHonoursAParamsCeiling(t *testing.T) {
	s := testSpace()
	lo, hi := profiler.Params(s.Min(), s.Input), profiler.Params(s.Max(), s.Input)
	cons := Constraints{MaxParams: (lo + hi) / 3}
	g := generator{space: s, max: s.Max(), in: s.Input, r: newRNG(5), cons: cons}
	for range 100 {
		a, err := g.random(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if p := profiler.Params(a, s.Input); p > cons.MaxParams {
			t.Fatalf("%s has %d params, ceiling %d", a, p, cons.MaxParams)
		}
	}
}

func TestIntnIsUniform(t *testing.T) {
	r := newRNG(6)
	var counts [5]int
	for range 50000 {
		counts[r.intn(5)]++
	}
	for i, c := range counts {
		if c < 9500 || c > 10500 {
			t.Errorf("intn(5) drew %d %d times of 50000", i, c)
		}
	}
}

func TestCanonicalKeyIgnoresSkippedBlocksGenes(t *testing.T) {
	s := testSpace()
	a := s.Max()
	a.Layers[1].Exists = false
	b := a.Clone()
	b.Layers[1].Heads, b.Layers[1].MLP = 1, 64
	if a.String() == b.String() || canonicalKey(s, a) != canonicalKey(s, b) {
		t.Errorf("keys %q and %q, want one network", canonicalKey(s, a), canonicalKey(s, b))
	}
	if a.Layers[1].Heads != 3 {
		t.Error("canonicalKey modified its argument")
	}
	c := b.Clone()
	c.Layers[3].MLP = 48
	if canonicalKey(s, c) == canonicalKey(s, b) {
		t.Error("an existing block's MLP does not change the key")
	}
}

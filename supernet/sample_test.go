package supernet

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/resnas/resnas/model"
)

func TestWarmupChoices(t *testing.T) {
	// The reference's formula with 30 warm-up epochs and 5 width choices.
	for _, c := range []struct{ epoch, n, w, want int }{
		{0, 5, 30, 1}, {7, 5, 30, 1}, {8, 5, 30, 2}, {15, 5, 30, 3}, {29, 5, 30, 4}, {30, 5, 30, 5}, {100, 5, 30, 5},
		{0, 4, 30, 1}, {20, 4, 30, 3}, {30, 4, 30, 4}, {0, 7, 0, 7},
	} {
		if got := WarmupChoices(c.epoch, c.n, c.w); got != c.want {
			t.Errorf("WarmupChoices(epoch %d, n %d, warmup %d) = %d, want %d", c.epoch, c.n, c.w, got, c.want)
		}
	}
}

// TestDrawStratified checks the reference's pool: distinct choices while k ≤ L, only the L
// largest choices, and each choice equally often over many draws.
func TestDrawStratified(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	choices := []int{50, 40, 30, 20, 10}
	out := make([]int, 3)
	count := map[int]int{}
	for i := 0; i < 30000; i++ {
		drawStratified(rng, choices, 4, out)
		seen := map[int]bool{}
		for _, v := range out {
			if v < 20 {
				t.Fatalf("drew %d outside the 4 largest choices", v)
			}
			if seen[v] {
				t.Fatalf("draw %v repeats a choice although k=3 ≤ L=4", out)
			}
			seen[v] = true
			count[v]++
		}
	}
	for _, v := range choices[:4] {
		if f := float64(count[v]) / 90000; math.Abs(f-0.25) > 0.01 {
			t.Errorf("choice %d drawn with frequency %.3f, want 0.25", v, f)
		}
	}
	// k > L: every choice appears ⌊k/L⌋ or ⌈k/L⌉ times.
	out = make([]int, 5)
	drawStratified(rng, choices, 2, out)
	n50 := 0
	for _, v := range out {
		if v == 50 {
			n50++
		}
	}
	if n50 < 2 || n50 > 3 {
		t.Errorf("k=5, L=2: choice 50 drawn %d times in %v, want 2 or 3", n50, out)
	}
}

// TestSampleArchs checks that sampled sub-networks are members of the space, that warm-up
// epoch 0 trains only the largest, and that skippable blocks are skipped half the time at
// full warm-up.
func TestSampleArchs(t *testing.T) {
	s := tinySpace()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, a := range SampleArchs(rng, s, 0, 10, 4) {
		if !a.Equal(s.Max()) {
			t.Fatalf("epoch 0 of the warm-up sampled %s, want the largest %s", a, s.Max())
		}
	}
	skipped, total := 0, 0
	for i := 0; i < 2000; i++ {
		for _, a := range SampleArchs(rng, s, 10, 10, 2) {
			if err := s.Contains(a); err != nil {
				t.Fatalf("sampled %s: %v", a, err)
			}
			if err := a.ValidateFor(s.Input); err != nil {
				t.Fatalf("sampled %s: %v", a, err)
			}
			for i, l := range a.Layers {
				if s.Layers[i].Skippable {
					total++
					if !l.Exists {
						skipped++
					}
				}
			}
		}
	}
	if f := float64(skipped) / float64(total); math.Abs(f-0.5) > 0.03 {
		t.Errorf("skippable blocks skipped with frequency %.3f, want 0.5", f)
	}
}

// TestConsecutiveSkips checks the reference's AND of consecutive layer masks: a skippable
// block right after a skipped skippable block is skipped too.
func TestConsecutiveSkips(t *testing.T) {
	s := tinySpace()
	s.Layers[0].Skippable = true // blocks 0 and 1 are now adjacent skippable blocks
	a := s.Max()
	a.Layers[0].Exists = false
	fillWidths(&a, s)
	if a.Layers[1].Exists {
		t.Fatalf("block 1 exists after skipped skippable block 0: %s", a)
	}
	if a.Layers[1].Type != model.TypeBlock || a.Layers[1].Dim != a.Stem.Width {
		t.Fatalf("skipped block lost its fields: %+v", a.Layers[1])
	}
}

// TestWarmupExtreme checks the sandwich rule's extremes: the space's Max and Min once all
// choices are in play, and only the largest at the first warm-up epoch.
func TestWarmupExtreme(t *testing.T) {
	s := tinySpace()
	if a := WarmupExtreme(s, 10, 10, false); !a.Equal(s.Min()) {
		t.Errorf("smallest after warm-up = %s, want %s", a, s.Min())
	}
	if a := WarmupExtreme(s, 10, 10, true); !a.Equal(s.Max()) {
		t.Errorf("largest = %s, want %s", a, s.Max())
	}
	if a := WarmupExtreme(s, 0, 10, false); !a.Equal(s.Max()) {
		t.Errorf("smallest at warm-up epoch 0 = %s, want the largest %s", a, s.Max())
	}
}

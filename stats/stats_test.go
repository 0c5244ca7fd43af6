package stats

import (
	"math"
	"testing"
)

// TestWilsonHalfWidth checks the defining property of the Wilson interval: both ends q
// satisfy |p − q| = z·sqrt(q(1−q)/n), with the interval centred at (p + z²/2n)/(1 + z²/n).
func TestWilsonHalfWidth(t *testing.T) {
	for _, c := range [][2]int{{45, 50}, {900, 1000}, {50, 50}, {0, 10}, {1, 3}, {1, 1}} {
		k, n := c[0], c[1]
		p, fn := float64(k)/float64(n), float64(n)
		h := WilsonHalfWidth(k, n)
		center := (p + z95*z95/(2*fn)) / (1 + z95*z95/fn)
		for _, q := range []float64{center - h, center + h} {
			if d := math.Abs(math.Abs(p-q) - z95*math.Sqrt(q*(1-q)/fn)); d > 1e-9 {
				t.Errorf("k=%d n=%d: end %.6f is off the Wilson equation by %.3g", k, n, q, d)
			}
		}
	}
	if h := WilsonHalfWidth(0, 0); h != 0.5 {
		t.Errorf("no trials: %g, want 0.5", h)
	}
	// A hand-computed case: 900 of 1000 gives [0.88002, 0.91727] (statsmodels proportion_confint, method wilson).
	if h := WilsonHalfWidth(900, 1000); math.Abs(h-0.018621) > 1e-5 {
		t.Errorf("900/1000: %.6f, want 0.018621", h)
	}
}

func TestMedian(t *testing.T) {
	xs := []float64{5, 1, 4, 2}
	if got := Median(xs); got != 3 {
		t.Errorf("Median(5 1 4 2) = %v, want 3", got)
	}
	if xs[0] != 5 || xs[3] != 2 {
		t.Errorf("Median sorted its argument: %v", xs)
	}
	if got := Median([]float64{7, 1, 3}); got != 3 {
		t.Errorf("Median(7 1 3) = %v, want 3", got)
	}
	if got := Median(nil); !math.IsNaN(got) {
		t.Errorf("Median(nil) = %v, want NaN", got)
	}
}

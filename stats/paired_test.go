package stats

import (
	"math"
	"testing"
)

// TestMcNemarExact against binomial tails summed by hand: p = 2·Σ_{i≤min} C(n,i)/2^n.
func TestMcNemarExact(t *testing.T) {
	for _, c := range []struct {
		b, c int
		want float64
	}{
		{0, 0, 1},                       // no discordant images: nothing to test
		{1, 0, 1},                       // 2·½ = 1
		{9, 2, 134.0 / 2048},            // 2·(1+11+55)/2^11
		{2, 9, 134.0 / 2048},            // symmetric
		{10, 0, 2.0 / 1024},             // 2·1/2^10
		{5, 5, 1},                       // capped at 1
		{60, 20, 8.580559867049611e-06}, // integer binomials in Python
	} {
		if got := McNemarExact(c.b, c.c); math.Abs(got-c.want) > 1e-9*math.Max(1e-6, c.want) && math.Abs(got-c.want) > 1e-12 {
			t.Errorf("McNemarExact(%d, %d) = %.12g, want %.12g", c.b, c.c, got, c.want)
		}
	}
	// Large counts stay finite and in (0, 1].
	if p := McNemarExact(20000, 19000); !(p > 0 && p <= 1) {
		t.Errorf("McNemarExact(20000, 19000) = %g", p)
	}
}

// TestComparePaired against Newcombe's method 10 computed independently (Python, from the
// 1998 paper's formulas), and the degenerate tables.
func TestComparePaired(t *testing.T) {
	for _, c := range []struct {
		name                     string
		both, onlyA, onlyB, none int
		diff, lo, hi             float64
		distinguishable          bool
	}{
		{"Newcombe's example table", 12, 9, 2, 21, 0.159090909, 0.018210226, 0.289156660, true},
		{"large, A better", 900, 60, 20, 20, 0.04, 0.022858102, 0.058127571, true},
		{"twins: no discordant images", 5, 0, 0, 5, 0, 0, 0, false},
		{"one image, both right", 1, 0, 0, 0, 0, -0.793450686, 0.793450686, false},
		{"one image, only A right", 0, 1, 0, 0, 1, -0.122108721, 1, false},
	} {
		r := ComparePaired(c.both, c.onlyA, c.onlyB, c.none)
		got := []float64{r.Diff, r.CI95[0], r.CI95[1]}
		want := []float64{c.diff, c.lo, c.hi}
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-8 {
				t.Errorf("%s: diff and interval %v, want %v", c.name, got, want)
				break
			}
		}
		if r.Distinguishable() != c.distinguishable {
			t.Errorf("%s: distinguishable %v, want %v", c.name, r.Distinguishable(), c.distinguishable)
		}
		if n := c.both + c.onlyA + c.onlyB + c.none; r.Images != n || r.OnlyA != c.onlyA || r.OnlyB != c.onlyB {
			t.Errorf("%s: counts %+v", c.name, r)
		}
	}
	if r := ComparePaired(0, 0, 0, 0); r.CI95 != [2]float64{-1, 1} || r.P != 1 {
		t.Errorf("no images: %+v, want the whole range and p = 1", r)
	}
}

package stats

import "math"

// Paired compares two classifiers evaluated on the same n images, from the 2×2 table of
// their per-image results: both right, only A right (onlyA), only B right (onlyB), both
// wrong. Only the discordant images (onlyA, onlyB) say which is better; comparing two
// accuracies as if they were independent overstates the noise many times over.
type Paired struct {
	Images       int
	ATop1, BTop1 float64    // fractions in [0, 1]
	Diff         float64    // ATop1 − BTop1
	CI95         [2]float64 // Newcombe's hybrid score interval of Diff (method 10, 1998)
	P            float64    // exact two-sided McNemar p-value
	OnlyA, OnlyB int        // discordant images
}

// ComparePaired builds the comparison from the table's four counts.
func ComparePaired(both, onlyA, onlyB, neither int) Paired {
	n := both + onlyA + onlyB + neither
	r := Paired{Images: n, OnlyA: onlyA, OnlyB: onlyB, P: McNemarExact(onlyA, onlyB)}
	if n == 0 {
		r.CI95 = [2]float64{-1, 1}
		return r
	}
	fn := float64(n)
	r.ATop1 = float64(both+onlyA) / fn
	r.BTop1 = float64(both+onlyB) / fn
	r.Diff = r.ATop1 - r.BTop1
	l1, u1 := wilson(both+onlyA, n)
	l2, u2 := wilson(both+onlyB, n)
	// phi is the correlation of the two results over the images; 0 where a margin is empty.
	phi := 0.0
	if den := float64(both+onlyA) * float64(onlyB+neither) * float64(both+onlyB) * float64(onlyA+neither); den > 0 {
		phi = (float64(both)*float64(neither) - float64(onlyA)*float64(onlyB)) / math.Sqrt(den)
	}
	p1, p2 := r.ATop1, r.BTop1
	lo := math.Sqrt(math.Max(0, sq(p1-l1)-2*phi*(p1-l1)*(u2-p2)+sq(u2-p2)))
	hi := math.Sqrt(math.Max(0, sq(u1-p1)-2*phi*(u1-p1)*(p2-l2)+sq(p2-l2)))
	r.CI95 = [2]float64{math.Max(-1, r.Diff-lo), math.Min(1, r.Diff+hi)}
	return r
}

// Distinguishable reports whether the 95% interval of the difference excludes zero.
func (p Paired) Distinguishable() bool { return p.CI95[0] > 0 || p.CI95[1] < 0 }

// McNemarExact is the exact two-sided McNemar test of b against c discordant pairs: twice
// the smaller binomial tail of Bin(b+c, ½), at most 1; 1 when there are no discordant pairs.
func McNemarExact(b, c int) float64 {
	n := b + c
	if n == 0 {
		return 1
	}
	k := min(b, c)
	// P(X = k) once in log space (n can be tens of thousands of images), then down the tail
	// by the ratio P(X = i−1) = P(X = i)·i/(n−i+1), until the terms no longer count.
	term := math.Exp(lchoose(n, k) - float64(n)*math.Ln2)
	tail := term
	for i := k; i > 0 && term > 1e-17*tail; i-- {
		term *= float64(i) / float64(n-i+1)
		tail += term
	}
	return math.Min(1, 2*tail)
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// wilson is the 95% Wilson score interval of k hits in n trials.
func wilson(k, n int) (lo, hi float64) {
	p := float64(k) / float64(n)
	fn := float64(n)
	center := (p + z95*z95/(2*fn)) / (1 + z95*z95/fn)
	h := WilsonHalfWidth(k, n)
	return math.Max(0, center-h), math.Min(1, center+h)
}

func sq(x float64) float64 { return x * x }

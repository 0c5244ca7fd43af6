package predict

import (
	"math"
	"sort"
)

// KendallTau is Kendall's τ-b between x and y: (concordant − discordant pairs) divided by
// √((n₀ − n₁)(n₀ − n₂)), where n₀ = n(n−1)/2 and n₁, n₂ count the pairs tied in x and in y.
// A pair tied in either is neither concordant nor discordant. It is NaN when x or y is
// constant or has fewer than two elements. It panics when the lengths differ.
//
// It is the plain O(n²) count, which is its own reference: a few thousand points take
// milliseconds.
func KendallTau(x, y []float64) float64 {
	if len(x) != len(y) {
		panic("predict: KendallTau of slices of different lengths")
	}
	n := len(x)
	var conc, disc, tiesX, tiesY float64
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			dx, dy := sign(x[i]-x[j]), sign(y[i]-y[j])
			switch {
			case dx == 0 && dy == 0:
				tiesX++
				tiesY++
			case dx == 0:
				tiesX++
			case dy == 0:
				tiesY++
			case dx == dy:
				conc++
			default:
				disc++
			}
		}
	}
	n0 := float64(n) * float64(n-1) / 2
	den := math.Sqrt((n0 - tiesX) * (n0 - tiesY))
	if den == 0 {
		return math.NaN()
	}
	return (conc - disc) / den
}

func sign(v float64) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// topIndices returns the indices of the ceil(frac·n) largest y (at least min(2, n)), largest
// first; equal values keep their order.
func topIndices(y []float64, frac float64) []int {
	idx := make([]int, len(y))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return y[idx[a]] > y[idx[b]] })
	k := int(math.Ceil(frac * float64(len(y))))
	k = max(k, min(2, len(y)))
	return idx[:k]
}

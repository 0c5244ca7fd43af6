// Package stats holds the statistics resnas reports with its accuracies: confidence
// intervals of a measured proportion, in plain float64 and without dependencies, so every
// package that shows an accuracy computes its interval the same way.
package stats

import (
	"math"
	"slices"
)

// z95 is the standard normal quantile of 0.975: a two-sided 95% interval.
const z95 = 1.959963984540054

// WilsonHalfWidth is half the width of the 95% Wilson score interval for k hits in n trials;
// unlike the normal approximation it stays sensible at small n and accuracies near 1. With
// no trials it is 0.5: nothing is known.
func WilsonHalfWidth(k, n int) float64 {
	if n == 0 {
		return 0.5
	}
	p := float64(k) / float64(n)
	fn := float64(n)
	return z95 / (1 + z95*z95/fn) * math.Sqrt(p*(1-p)/fn+z95*z95/(4*fn*fn))
}

// Median is the middle of xs (the mean of the two middle values for an even count), NaN
// when xs is empty. xs is not modified.
func Median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return (s[(n-1)/2] + s[n/2]) / 2
}

package nn

import (
	"math"
	"testing"
)

func TestFastMath(t *testing.T) {
	var maxExp, maxErf float64
	for x := -20.0; x <= 20; x += 1e-3 {
		want := math.Exp(float64(float32(x)))
		if got := float64(expf(float32(x))); math.Abs(got-want) > 4e-7*want {
			t.Fatalf("expf(%g) = %g, want %g", x, got, want)
		} else {
			maxExp = max(maxExp, math.Abs(got-want)/want)
		}
	}
	for x := -6.0; x <= 6; x += 1e-3 {
		want := math.Erf(float64(float32(x)))
		if got := float64(erff(float32(x))); math.Abs(got-want) > 1e-6 {
			t.Fatalf("erff(%g) = %g, want %g", x, got, want)
		} else {
			maxErf = max(maxErf, math.Abs(got-want))
		}
	}
	var xs []float32
	for x := -90.0; x <= 0; x += 1e-3 {
		xs = append(xs, float32(x))
	}
	ys := append([]float32(nil), xs...)
	expNeg(ys)
	for i, x := range xs {
		want := math.Exp(float64(x))
		if x < -87 {
			want = 0 // flushed, as expf: below float32's normal range
		}
		if got := float64(ys[i]); math.Abs(got-want) > 4e-7*want {
			t.Fatalf("expNeg(%g) = %g, want %g", x, got, want)
		}
	}
	if expf(-100) != 0 || !math.IsInf(float64(expf(100)), 1) {
		t.Fatal("expf out of range")
	}
	t.Logf("expf max relative error %.2g, erff max absolute error %.2g", maxExp, maxErf)
}

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
	// The vector and scalar paths agree (the tail after the last multiple of 8 is scalar).
	scalar := append([]float32(nil), xs...)
	for i, v := range scalar {
		tail := []float32{v}
		expNeg(tail) // one value: always the scalar loop
		scalar[i] = tail[0]
	}
	for i := range ys {
		if d := math.Abs(float64(ys[i] - scalar[i])); d > 3e-7*float64(scalar[i]) {
			t.Fatalf("expNeg(%g): vector %g, scalar %g", xs[i], ys[i], scalar[i])
		}
	}
	if expf(-100) != 0 || !math.IsInf(float64(expf(100)), 1) {
		t.Fatal("expf out of range")
	}
	t.Logf("expf max relative error %.2g, erff max absolute error %.2g", maxExp, maxErf)
}

// TestGELUVectorMatchesScalar compares the AVX2 GELU (where the CPU has it) with the scalar
// loop and exact float64 values over [-10, 10], with d aliasing x as the trainer uses it.
func TestGELUVectorMatchesScalar(t *testing.T) {
	e := &Exec{Workers: 1}
	var x []float32
	for v := -10.0; v <= 10; v += 1e-3 {
		x = append(x, float32(v))
	}
	y := make([]float32, len(x))
	d := append([]float32(nil), x...)
	GELUForward(e, y, d, d) // d aliases the input
	var maxY, maxD float64
	for i, v := range x {
		sy, sd := make([]float32, 1), make([]float32, 1)
		geluForwardBlock(sy, sd, []float32{v})
		w := float64(v)
		cdf := 0.5 * (1 + math.Erf(w/math.Sqrt2))
		wantY, wantD := w*cdf, cdf+w*math.Exp(-w*w/2)/math.Sqrt(2*math.Pi)
		if math.Abs(float64(y[i])-wantY) > 2e-6*max(1, math.Abs(wantY)) || math.Abs(float64(d[i])-wantD) > 2e-6 {
			t.Fatalf("GELU(%g) = %g, d %g; want %g, %g (scalar loop %g, %g)", v, y[i], d[i], wantY, wantD, sy[0], sd[0])
		}
		maxY = max(maxY, math.Abs(float64(y[i]-sy[0])))
		maxD = max(maxD, math.Abs(float64(d[i]-sd[0])))
	}
	t.Logf("vector vs scalar: max |Δy| %.2g, |Δd| %.2g", maxY, maxD)
}

// TestSoftmaxVectorMatchesScalar compares rows long enough for the AVX2 passes (with a scalar
// tail) against float64 softmax, including very negative entries that flush to zero.
func TestSoftmaxVectorMatchesScalar(t *testing.T) {
	for _, n := range []int{1, 7, 8, 9, 65, 257} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(math.Sin(float64(i)*1.7)) * 12
		}
		x[n/2] = -200
		y := make([]float32, n)
		softmaxRow(y, x, 1)
		mx := math.Inf(-1)
		for _, v := range x {
			mx = max(mx, float64(v))
		}
		var z float64
		for _, v := range x {
			z += math.Exp(float64(v) - mx)
		}
		for i, v := range x {
			want := math.Exp(float64(v)-mx) / z
			if math.Abs(float64(y[i])-want) > 1e-6*max(want, 1e-3) {
				t.Fatalf("n=%d: softmax[%d] = %g, want %g", n, i, y[i], want)
			}
		}
	}
}

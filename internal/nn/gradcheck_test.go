package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/gemm/gonum"
)

// Finite-difference checks run the float32 kernels and accumulate the probe loss
// L = Σ y·R in float64; the tolerance is on the max-norm relative error in float32:
// ‖num − ana‖∞ ≤ gradTol·‖ana‖∞.
const (
	gradTol = 1e-3
	fdStep  = 1e-2
)

func testExec() *Exec { return &Exec{Gemm: gonum.New(), Workers: 2} }

func randSlice(rng *rand.Rand, n int, scale float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = scale * float32(rng.NormFloat64())
	}
	return s
}

// probe returns Σ y·r over y's elements in float64.
func probe(y gemm.Mat, r []float32) float64 {
	var s float64
	k := 0
	for i := 0; i < y.Rows; i++ {
		for _, v := range row(y, i) {
			s += float64(v) * float64(r[k])
			k++
		}
	}
	return s
}

// denseGrad copies r into a matrix shaped like y (the upstream gradient of the probe loss).
func denseGrad(y gemm.Mat, r []float32) gemm.Mat {
	return gemm.NewMat(y.Rows, y.Cols, append([]float32(nil), r[:y.Rows*y.Cols]...))
}

// checkGrad compares ana, the analytic gradient of loss with respect to x, against central
// differences at up to 40 positions (all when fewer). idx restricts the positions checked
// (nil: any element of x).
func checkGrad(t *testing.T, name string, x, ana []float32, idx []int, loss func() float64) {
	t.Helper()
	if idx == nil {
		idx = make([]int, len(x))
		for i := range idx {
			idx[i] = i
		}
	}
	rng := rand.New(rand.NewPCG(7, uint64(len(x))))
	if len(idx) > 40 {
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:40]
	}
	var maxDiff, maxAna float64
	worst := -1
	for _, i := range idx {
		old := x[i]
		x[i] = old + fdStep
		lp := loss()
		x[i] = old - fdStep
		lm := loss()
		x[i] = old
		num := (lp - lm) / (2 * fdStep)
		if d := math.Abs(num - float64(ana[i])); d > maxDiff {
			maxDiff, worst = d, i
		}
		maxAna = max(maxAna, math.Abs(float64(ana[i])))
	}
	for _, v := range ana {
		maxAna = max(maxAna, math.Abs(float64(v)))
	}
	if maxAna == 0 {
		t.Fatalf("%s: analytic gradient is all zero", name)
	}
	rel := maxDiff / maxAna
	if rel > gradTol || math.IsNaN(rel) {
		t.Errorf("%s: max |num−ana| = %.3g at %d (max |ana| %.3g), relative %.3g > %g", name, maxDiff, worst, maxAna, rel, gradTol)
	} else {
		t.Logf("%s: max relative error %.2g", name, rel)
	}
}

// subIndices lists the flat indices of the r×c top-left block of a matrix with the given stride.
func subIndices(r, c, stride int) []int {
	var idx []int
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			idx = append(idx, i*stride+j)
		}
	}
	return idx
}

// outsideUntouched fails if any element outside the r×c block of g (stride) changed from v.
func outsideUntouched(t *testing.T, name string, g []float32, r, c, stride int, v float32) {
	t.Helper()
	for i, x := range g {
		if i/stride < r && i%stride < c {
			continue
		}
		if x != v && !(math.IsNaN(float64(x)) && math.IsNaN(float64(v))) {
			t.Fatalf("%s: element %d outside the %d×%d sub-block changed to %g", name, i, r, c, x)
		}
	}
}

func zeros(n int) []float32 { return make([]float32, n) }

package gemmtest

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	gblas "gonum.org/v1/gonum/blas/gonum"

	"github.com/resnas/resnas/internal/gemm/gonum"
)

// broken is gonum's Sgemm with one deliberate fault, to show the suite catches it.
type broken struct {
	name  string
	sgemm func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

func (b broken) Name() string { return b.name }
func (b broken) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int) {
	b.sgemm(tA, tB, m, n, k, alpha, a, lda, bb, ldb, beta, c, ldc)
}

func brokenBackends() []broken {
	var g gblas.Implementation
	return []broken{
		{"ignores beta", func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			g.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, 0, c, ldc)
		}},
		{"ignores transA", func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			if tA != blas.NoTrans && m == k && lda == m {
				tA = blas.NoTrans
			}
			g.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}},
		{"writes padding", func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			g.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			if ldc > n && m > 1 {
				c[n] = 0
			}
		}},
		{"writes past C", func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			g.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			c = c[:cap(c)]
			c[len(c)-1] = 1
		}},
		{"scribbles on A", func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			g.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			a[0]++
		}},
		{"propagates NaN when beta is 0", func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			if beta == 0 {
				for i := range m {
					for j := range n {
						c[i*ldc+j] *= 0
					}
				}
				beta = 1
			}
			g.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}},
		{"TF32 inputs", func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			g.Sgemm(tA, tB, m, n, k, alpha, tf32(a), lda, tf32(b), ldb, beta, c, ldc)
		}},
	}
}

// tf32 rounds to the 10-bit mantissa tensor cores use for float32 inputs.
func tf32(x []float32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		bits := math.Float32bits(v)
		bits = (bits + 0x1000) &^ 0x1fff
		out[i] = math.Float32frombits(bits)
	}
	return out
}

// TestSuiteCatchesFaults runs the suite's cases on each broken backend and requires at least
// one reported failure; a suite that passes everything proves nothing.
func TestSuiteCatchesFaults(t *testing.T) {
	var cases []Case
	for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
		for _, mnk := range [][3]int{{3, 3, 3}, {8, 17, 8}, {197, 192, 576}} {
			cases = append(cases, withLeadingDims(tA, blas.NoTrans, mnk[0], mnk[1], mnk[2], scalars())...)
		}
	}
	for _, be := range brokenBackends() {
		rng := rand.New(rand.NewPCG(1, 1))
		caught := ""
		for _, c := range cases {
			if msg := RunCase(be, rng, c); msg != "" {
				caught = c.String() + ": " + msg
				break
			}
		}
		if caught == "" {
			t.Errorf("backend that %s passed every case", be.name)
			continue
		}
		t.Logf("%s: %s", be.name, caught)
	}
}

// TestSuitePassesGonum guards against a suite so strict that a correct backend fails, with
// a case count small enough to run here in milliseconds.
func TestSuitePassesGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range withLeadingDims(blas.Trans, blas.Trans, 5, 7, 9, scalars()) {
		if msg := RunCase(gonum.New(), rng, c); msg != "" {
			t.Errorf("%s: %s", c, msg)
		}
	}
}

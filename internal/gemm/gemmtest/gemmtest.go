// Package gemmtest is the conformance suite and benchmark body every gemm.Backend runs, in the
// manner of gonum's blas/testblas: one set of tests written against the interface, called from
// each backend's own _test.go.
//
// Results are compared with a naive float64 reference with tolerance abs + rel·|ref|, where
// |ref| is the sum of the magnitudes of the terms of each output element (alpha·a·b products and
// beta·c): the scale float32 rounding error grows with, so large cancelling sums are not judged
// by their small result.
package gemmtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"

	"github.com/resnas/resnas/internal/gemm"
)

// Tolerances for one output element: |got - want| <= AbsTol + RelTol·|ref|. Float32 summation of
// k terms in any order stays well inside this for the sizes here; TF32 tensor-core math would
// not.
const (
	AbsTol = 1e-5
	RelTol = 2e-6
)

// Bit patterns written where a backend must not look or write: padding between rows and
// guards around each slice (padNaN), and C's elements when beta = 0 (ignoredNaN, which must be
// overwritten, not propagated).
const (
	padNaN     = 0x7fc0beef
	ignoredNaN = 0x7fc0dead
)

// maxFailures stops a broken backend from printing thousands of cases.
const maxFailures = 10

// guard is the number of padNaN elements before and after each slice passed to Sgemm; the
// slices themselves are exactly as long as gonum requires, so reads past them see NaN.
const guard = 4

// Case is one Sgemm call.
type Case struct {
	TA, TB        blas.Transpose
	M, N, K       int
	LdA, LdB, LdC int
	Alpha, Beta   float32
}

func (c Case) String() string {
	return fmt.Sprintf("tA=%c tB=%c m=%d n=%d k=%d lda=%d ldb=%d ldc=%d alpha=%g beta=%g",
		c.TA, c.TB, c.M, c.N, c.K, c.LdA, c.LdB, c.LdC, c.Alpha, c.Beta)
}

// TestSgemm runs be.Sgemm over transposes, sizes (1, odd, and ViT shapes such as 197×192×576),
// tight and padded leading dimensions, and alpha/beta values (beta = 0 with NaN in C, alpha =
// 0), checking each result against the float64 reference, that padding and guards keep their
// NaN bits, and that A and B are unchanged. It also checks that bad arguments panic with
// gonum's messages.
func TestSgemm(t *testing.T, be gemm.Backend) {
	t.Helper()
	t.Run("small", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		dims := []int{1, 2, 3, 8, 17}
		var cases []Case
		for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				for _, m := range dims {
					for _, n := range dims {
						for _, k := range dims {
							cases = append(cases, withLeadingDims(tA, tB, m, n, k, scalars())...)
						}
					}
				}
			}
		}
		runCases(t, be, rng, cases)
	})
	t.Run("conjtrans", func(t *testing.T) {
		// For real matrices ConjTrans is Trans; backends must accept it.
		rng := rand.New(rand.NewPCG(3, 4))
		var cases []Case
		for _, mnk := range [][3]int{{2, 3, 5}, {17, 8, 3}} {
			cases = append(cases, withLeadingDims(blas.ConjTrans, blas.ConjTrans, mnk[0], mnk[1], mnk[2], [][2]float32{{0.5, 2}})...)
			cases = append(cases, withLeadingDims(blas.ConjTrans, blas.NoTrans, mnk[0], mnk[1], mnk[2], [][2]float32{{1, 0}})...)
		}
		runCases(t, be, rng, cases)
	})
	t.Run("vit", func(t *testing.T) {
		// The model's own shapes: qkv/proj/MLP GEMMs of DeiT-Ti sized stages, attention
		// scores and values of one head.
		rng := rand.New(rand.NewPCG(5, 6))
		var cases []Case
		for _, mnk := range [][3]int{{197, 192, 576}, {197, 197, 64}, {65, 352, 1408}} {
			for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
					m, n, k := mnk[0], mnk[1], mnk[2]
					tight := newCase(tA, tB, m, n, k, 0, 0.5, 2)
					padded := newCase(tA, tB, m, n, k, 3, 1, 0)
					cases = append(cases, tight, padded)
				}
			}
		}
		runCases(t, be, rng, cases)
	})
	t.Run("panics", func(t *testing.T) { testPanics(t, be) })
}

// scalars are the (alpha, beta) pairs every small case runs with.
func scalars() [][2]float32 {
	return [][2]float32{{1, 0}, {0.5, 2}, {-1.25, 1}, {0, -0.5}}
}

// withLeadingDims returns the case for each combination of tight and tight+3 leading
// dimensions and each (alpha, beta).
func withLeadingDims(tA, tB blas.Transpose, m, n, k int, ab [][2]float32) []Case {
	var out []Case
	for pad := range 8 {
		for _, s := range ab {
			c := newCase(tA, tB, m, n, k, 0, s[0], s[1])
			c.LdA += 3 * (pad & 1)
			c.LdB += 3 * (pad >> 1 & 1)
			c.LdC += 3 * (pad >> 2 & 1)
			out = append(out, c)
		}
	}
	return out
}

// newCase returns a case whose leading dimensions are tight plus pad.
func newCase(tA, tB blas.Transpose, m, n, k, pad int, alpha, beta float32) Case {
	_, aCols := opShape(tA, m, k)
	_, bCols := opShape(tB, k, n)
	return Case{TA: tA, TB: tB, M: m, N: n, K: k, LdA: aCols + pad, LdB: bCols + pad, LdC: n + pad, Alpha: alpha, Beta: beta}
}

// opShape is the stored shape of an operand used as op(X) of shape rows×cols.
func opShape(t blas.Transpose, rows, cols int) (int, int) {
	if t == blas.NoTrans {
		return rows, cols
	}
	return cols, rows
}

func runCases(t *testing.T, be gemm.Backend, rng *rand.Rand, cases []Case) {
	t.Helper()
	failures := 0
	for _, c := range cases {
		if msg := RunCase(be, rng, c); msg != "" {
			t.Errorf("%s %s: %s", be.Name(), c, msg)
			failures++
			if failures >= maxFailures {
				t.Fatalf("stopping after %d failures", failures)
			}
		}
	}
}

// RunCase runs one Sgemm call on fresh random operands and returns "" or what went wrong,
// including the largest difference from the reference.
func RunCase(be gemm.Backend, rng *rand.Rand, c Case) string {
	aRows, aCols := opShape(c.TA, c.M, c.K)
	bRows, bCols := opShape(c.TB, c.K, c.N)
	a := newOperand(rng, aRows, aCols, c.LdA, false)
	b := newOperand(rng, bRows, bCols, c.LdB, false)
	cm := newOperand(rng, c.M, c.N, c.LdC, c.Beta == 0)
	aBefore, bBefore, cBefore := a.snapshot(), b.snapshot(), cm.snapshot()

	be.Sgemm(c.TA, c.TB, c.M, c.N, c.K, c.Alpha, a.slice(), c.LdA, b.slice(), c.LdB, c.Beta, cm.slice(), c.LdC)

	if i := firstChange(aBefore, a.buf); i >= 0 {
		return fmt.Sprintf("A changed at buffer index %d", i)
	}
	if i := firstChange(bBefore, b.buf); i >= 0 {
		return fmt.Sprintf("B changed at buffer index %d", i)
	}
	var problems []string
	maxDiff := 0.0
	bad := 0
	// op(A) by rows and op(B) by columns, in float64, so each element is a contiguous dot product.
	opA := make([]float64, c.M*c.K)
	for i := range c.M {
		for l := range c.K {
			opA[i*c.K+l] = float64(a.at(c.TA, i, l))
		}
	}
	opBT := make([]float64, c.N*c.K)
	for j := range c.N {
		for l := range c.K {
			opBT[j*c.K+l] = float64(b.at(c.TB, l, j))
		}
	}
	for i := range c.M {
		rowA := opA[i*c.K : (i+1)*c.K]
		for j := range c.N {
			colB := opBT[j*c.K : (j+1)*c.K]
			var sum, mag float64
			for l, x := range rowA {
				p := x * colB[l]
				sum += p
				mag += math.Abs(p)
			}
			want := float64(c.Alpha) * sum
			mag *= math.Abs(float64(c.Alpha))
			if c.Beta != 0 {
				c0 := float64(math.Float32frombits(cBefore[cm.index(i, j)]))
				want += float64(c.Beta) * c0
				mag += math.Abs(float64(c.Beta) * c0)
			}
			got := float64(cm.buf[cm.index(i, j)])
			diff := math.Abs(got - want)
			if math.IsNaN(got) {
				diff = math.Inf(1)
			}
			maxDiff = max(maxDiff, diff)
			if diff > AbsTol+RelTol*mag {
				if bad == 0 {
					problems = append(problems, fmt.Sprintf("C[%d,%d] = %g, want %g (tol %.3g)", i, j, got, want, AbsTol+RelTol*mag))
				}
				bad++
			}
		}
	}
	if bad > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d elements wrong, max |diff| %.3g", bad, c.M*c.N, maxDiff))
	}
	for idx := range cm.buf {
		if !cm.inside(idx) && math.Float32bits(cm.buf[idx]) != cBefore[idx] {
			problems = append(problems, fmt.Sprintf("C padding/guard at buffer index %d overwritten with %g", idx, cm.buf[idx]))
			break
		}
	}
	return strings.Join(problems, "; ")
}

// operand is a rows×cols matrix with leading dimension ld inside a buffer that has guard
// elements on both sides; everything outside the matrix holds padNaN.
type operand struct {
	buf            []float32
	rows, cols, ld int
	minLen         int
}

func newOperand(rng *rand.Rand, rows, cols, ld int, ignored bool) operand {
	o := operand{rows: rows, cols: cols, ld: ld}
	if rows > 0 && cols > 0 {
		o.minLen = (rows-1)*ld + cols
	}
	o.buf = make([]float32, guard+o.minLen+guard)
	for i := range o.buf {
		o.buf[i] = math.Float32frombits(padNaN)
	}
	for i := range rows {
		for j := range cols {
			v := float32(rng.Float64()*2 - 1)
			if ignored {
				v = math.Float32frombits(ignoredNaN)
			}
			o.buf[o.index(i, j)] = v
		}
	}
	return o
}

func (o operand) slice() []float32 { return o.buf[guard : guard+o.minLen] }

func (o operand) index(i, j int) int { return guard + i*o.ld + j }

// at is element (i, j) of op(X) for the stored operand X.
func (o operand) at(t blas.Transpose, i, j int) float32 {
	if t == blas.NoTrans {
		return o.buf[o.index(i, j)]
	}
	return o.buf[o.index(j, i)]
}

// inside reports whether buffer index idx is an element of the matrix.
func (o operand) inside(idx int) bool {
	p := idx - guard
	if p < 0 || p >= o.minLen {
		return false
	}
	return p%o.ld < o.cols
}

func (o operand) snapshot() []uint32 {
	s := make([]uint32, len(o.buf))
	for i, v := range o.buf {
		s[i] = math.Float32bits(v)
	}
	return s
}

// firstChange is the first index whose bits differ from before, or -1.
func firstChange(before []uint32, after []float32) int {
	for i, v := range after {
		if math.Float32bits(v) != before[i] {
			return i
		}
	}
	return -1
}

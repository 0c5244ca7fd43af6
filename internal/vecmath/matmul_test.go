package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// randNormal returns n floats drawn from rng's standard normal distribution.
func randNormal(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// sentinels returns n floats holding sentinel, for outputs whose unwritten parts are checked.
func sentinels(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = sentinel
	}
	return x
}

// checkProduct checks an m × n product that starts pad floats into buf with row stride ldc:
// each element within 1e-5·(1+k) of want(i, j), the float64 reference over inner dimension k,
// and every other float of those rows' strides bit-identical to before (nothing written
// outside c's columns).
func checkProduct(t *testing.T, name string, buf, before []float32, pad, ldc, m, n, k int, want func(i, j int) float64) {
	t.Helper()
	for i := range m {
		for j := -pad; j < ldc-pad; j++ {
			idx := pad + i*ldc + j
			if idx >= len(buf) {
				continue
			}
			got := buf[idx]
			if j < 0 || j >= n {
				if math.Float32bits(got) != math.Float32bits(before[idx]) {
					t.Fatalf("%s: wrote outside c at row %d col %d", name, i, j)
				}
				continue
			}
			w := want(i, j)
			if d := math.Abs(float64(got) - w); !(d <= 1e-5*(1+float64(k))) {
				t.Fatalf("%s: c[%d,%d] = %v, want %v (diff %.3g)", name, i, j, got, w, d)
			}
		}
	}
}

// TestMatMul checks both paths against a float64 reference over row counts around the
// four-row blocks, column counts around the 8-column blocks (attention's 65×72·8 scores and
// 65×65·{8,16,32} products included), strided operands, and writes outside c's columns.
func TestMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, avx2 := range paths(t) {
		for _, m := range []int{1, 2, 3, 4, 5, 8, 9, 17, 65} {
			for _, n := range []int{1, 7, 8, 9, 16, 24, 32, 72} {
				for _, k := range []int{0, 1, 3, 8, 16, 65} {
					const pad = 3
					lda, ldb, ldc := k+pad, n+pad, n+2*pad
					a := randNormal(rng, m*lda+1)
					b := randNormal(rng, max(k, 1)*ldb+1)
					c := sentinels(m * ldc)
					a0, b0, c0 := slices.Clone(a), slices.Clone(b), slices.Clone(c)
					matMul(c[pad:], ldc, a, lda, b, ldb, m, n, k, avx2)
					name := fmt.Sprintf("%s m=%d n=%d k=%d", pathName(avx2), m, n, k)
					checkProduct(t, name, c, c0, pad, ldc, m, n, k, func(i, j int) float64 {
						var w float64
						for p := range k {
							w += float64(a[i*lda+p]) * float64(b[p*ldb+j])
						}
						return w
					})
					if !slices.Equal(a, a0) {
						t.Fatalf("%s: a changed", name)
					}
					if !slices.Equal(b, b0) {
						t.Fatalf("%s: b changed", name)
					}
				}
			}
		}
	}
}

// TestMatMulPathsAgree: the assembly differs from the Go loops only by fused multiply-adds.
func TestMatMulPathsAgree(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2+FMA")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	const m, n, k = 65, 72, 16
	a, b := make([]float32, m*k), make([]float32, k*n)
	for i := range a {
		a[i] = float32(rng.NormFloat64())
	}
	for i := range b {
		b[i] = float32(rng.NormFloat64())
	}
	c1, c2 := make([]float32, m*n), make([]float32, m*n)
	matMul(c1, n, a, k, b, n, m, n, k, false)
	matMul(c2, n, a, k, b, n, m, n, k, true)
	for i := range c1 {
		if d := math.Abs(float64(c1[i] - c2[i])); d > 1e-5*(1+math.Abs(float64(c1[i]))) {
			t.Fatalf("element %d: go %v, avx2 %v", i, c1[i], c2[i])
		}
	}
}

func BenchmarkMatMul(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{65, 72, 8}, {65, 8, 65}, {17, 24, 16}, {17, 16, 17}} {
		a, x, c := make([]float32, s.m*s.k), make([]float32, s.k*s.n), make([]float32, s.m*s.n)
		for _, avx2 := range paths(b) {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", pathName(avx2), s.m, s.n, s.k), func(b *testing.B) {
				for b.Loop() {
					matMul(c, s.n, a, s.k, x, s.n, s.m, s.n, s.k, avx2)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

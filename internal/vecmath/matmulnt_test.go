package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMatMulNT checks both paths against a float64 reference: row counts around the pairs
// (batch-1 stages have 65, 17 and 5 rows), column counts around the 4-column blocks (the
// 10-class head included), k around the 8-lane steps, strided operands, overwrite and
// accumulate, and no write outside c's columns.
func TestMatMulNT(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, avx2 := range paths(t) {
		for _, m := range []int{1, 2, 3, 4, 5, 7, 17} {
			for _, n := range []int{1, 3, 4, 5, 8, 10, 24} {
				for _, k := range []int{0, 3, 8, 16, 40, 65, 192} {
					for _, acc := range []bool{false, true} {
						const pad = 3
						lda, ldb, ldc := k+pad, k+2*pad, n+2*pad
						a := randNormal(rng, m*lda+1)
						b := randNormal(rng, n*ldb+1)
						c := sentinels(m * ldc)
						if acc {
							for i := range m {
								for j := range n {
									c[pad+i*ldc+j] = float32(rng.NormFloat64())
								}
							}
						}
						c0 := slices.Clone(c)
						matMulNT(c[pad:], ldc, a, lda, b, ldb, m, n, k, acc, avx2)
						name := fmt.Sprintf("%s m=%d n=%d k=%d acc=%v", pathName(avx2), m, n, k, acc)
						checkProduct(t, name, c, c0, pad, ldc, m, n, k, func(i, j int) float64 {
							var w float64
							if acc {
								w = float64(c0[pad+i*ldc+j])
							}
							for p := range k {
								w += float64(a[i*lda+p]) * float64(b[j*ldb+p])
							}
							return w
						})
					}
				}
			}
		}
	}
}

// TestMatMulNTPathsAgree: the AVX2 kernels and the Go path sum in the same lane order, so they
// differ only by FMA's single rounding: a few ulps, never a reordering error.
func TestMatMulNTPathsAgree(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 on this build")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	const m, n, k = 5, 12, 192
	a := make([]float32, m*k)
	b := make([]float32, n*k)
	for i := range a {
		a[i] = float32(rng.NormFloat64())
	}
	for i := range b {
		b[i] = float32(rng.NormFloat64())
	}
	asm, gov := make([]float32, m*n), make([]float32, m*n)
	matMulNT(asm, n, a, k, b, k, m, n, k, false, true)
	matMulNT(gov, n, a, k, b, k, m, n, k, false, false)
	for i := range asm {
		if d := math.Abs(float64(asm[i] - gov[i])); d > 1e-5*math.Max(1, math.Abs(float64(gov[i]))) {
			t.Fatalf("element %d: assembly %v, Go %v", i, asm[i], gov[i])
		}
	}
}

func BenchmarkMatMulNT(b *testing.B) {
	for _, s := range [][3]int{{1, 576, 192}, {5, 576, 192}, {5, 192, 576}, {17, 240, 80}, {65, 144, 40}} {
		m, n, k := s[0], s[1], s[2]
		a, w, c := make([]float32, m*k), make([]float32, n*k), make([]float32, m*n)
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			b.SetBytes(int64(4 * n * k))
			for range b.N {
				MatMulNT(c, n, a, k, w, k, m, n, k, false)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

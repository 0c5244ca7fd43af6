package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
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
						a := make([]float32, m*lda+1)
						b := make([]float32, n*ldb+1)
						for i := range a {
							a[i] = float32(rng.NormFloat64())
						}
						for i := range b {
							b[i] = float32(rng.NormFloat64())
						}
						c := make([]float32, m*ldc)
						for i := range c {
							c[i] = sentinel
						}
						c0 := make([]float32, len(c))
						if acc {
							for i := range m {
								for j := range n {
									c[pad+i*ldc+j] = float32(rng.NormFloat64())
								}
							}
						}
						copy(c0, c)
						matMulNT(c[pad:], ldc, a, lda, b, ldb, m, n, k, acc, avx2)
						name := fmt.Sprintf("%s m=%d n=%d k=%d acc=%v", pathName(avx2), m, n, k, acc)
						for i := range m {
							for j := -pad; j < ldc-pad; j++ {
								idx := pad + i*ldc + j
								if idx >= len(c) {
									continue
								}
								got := c[idx]
								if j < 0 || j >= n {
									if math.Float32bits(got) != math.Float32bits(c0[idx]) {
										t.Fatalf("%s: wrote outside c at row %d col %d", name, i, j)
									}
									continue
								}
								var want float64
								if acc {
									want = float64(c0[idx])
								}
								for p := range k {
									want += float64(a[i*lda+p]) * float64(b[j*ldb+p])
								}
								if d := math.Abs(float64(got) - want); !(d <= 1e-5*(1+float64(k))) {
									t.Fatalf("%s: c[%d,%d] = %v, want %v (diff %.3g)", name, i, j, got, want, d)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestMatMulNTPathsAgree: the assembly and the Go path sum in the same lane order, so they
// differ only by FMA's single rounding (a few ulps), never by a reordering of the sum.
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

package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// packedPaths are the GemmPacked paths this build and machine run: Go always, the AVX-512
// kernels where the CPU has them.
func packedPaths(t testing.TB) []bool {
	if !useAVX512 {
		t.Log("no AVX-512 here (or purego build): testing the Go path only")
		return []bool{false}
	}
	return []bool{false, true}
}

// TestGemmPacked checks both paths against a float64 reference: row counts around the six-row
// blocks (and a 512-row tile), column counts around the 16- and 32-column panels (the
// fmnist-wide widths 40, 64 and 120 included), k from 1 to the last stage's MLP, strided
// operands, bias or none, overwrite and accumulate, and no write outside c's columns.
func TestGemmPacked(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, asm := range packedPaths(t) {
		for _, m := range []int{1, 2, 5, 6, 7, 11, 13, 512} {
			for _, n := range []int{1, 8, 15, 16, 17, 31, 32, 33, 40, 48, 64, 120} {
				for _, k := range []int{1, 3, 40, 192} {
					if m == 512 && k != 40 {
						continue
					}
					for _, acc := range []bool{false, true} {
						for _, withBias := range []bool{false, true} {
							const pad = 3
							lda, ldb, ldc := k+pad, k+2*pad, n+2*pad
							a := randNormal(rng, m*lda+1)
							b := randNormal(rng, n*ldb+1)
							var bias []float32
							if withBias {
								bias = randNormal(rng, n)
							}
							c := sentinels(m * ldc)
							if acc {
								for i := range m {
									for j := range n {
										c[pad+i*ldc+j] = float32(rng.NormFloat64())
									}
								}
							}
							c0, a0 := slices.Clone(c), slices.Clone(a)
							p := PackB(b, ldb, n, k, bias)
							gemmPacked(c[pad:], ldc, a, lda, m, p, acc, asm)
							name := fmt.Sprintf("%s m=%d n=%d k=%d acc=%v bias=%v", packedName(asm), m, n, k, acc, withBias)
							checkProduct(t, name, c, c0, pad, ldc, m, n, k, func(i, j int) float64 {
								var w float64
								if acc {
									w = float64(c0[pad+i*ldc+j])
								}
								if withBias {
									w += float64(bias[j])
								}
								for q := range k {
									w += float64(a[i*lda+q]) * float64(b[j*ldb+q])
								}
								return w
							})
							if !slices.Equal(a, a0) {
								t.Fatalf("%s: a changed", name)
							}
						}
					}
				}
			}
		}
	}
}

// TestGemmPackedPathsAgree: the kernels sum each element's products in the Go path's order,
// so the two differ only by FMA's single rounding.
func TestGemmPackedPathsAgree(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512 on this machine or build")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	const m, n, k = 65, 120, 40
	a, b, bias := randNormal(rng, m*k), randNormal(rng, n*k), randNormal(rng, n)
	p := PackB(b, k, n, k, bias)
	asm, gov := make([]float32, m*n), make([]float32, m*n)
	gemmPacked(asm, n, a, k, m, p, false, true)
	gemmPacked(gov, n, a, k, m, p, false, false)
	for i := range asm {
		if d := math.Abs(float64(asm[i] - gov[i])); d > 1e-5*math.Max(1, math.Abs(float64(gov[i]))) {
			t.Fatalf("element %d: assembly %v, Go %v", i, asm[i], gov[i])
		}
	}
}

func packedName(asm bool) string {
	if asm {
		return "avx512"
	}
	return "go"
}

// BenchmarkGemmPacked runs the 512-row tiles of the fmnist-wide blocks (stage 1: 40 wide,
// qkv 120, MLP 120; stage 2: 80, qkv 240, MLP 240; stage 3: 192, MLP 576).
func BenchmarkGemmPacked(b *testing.B) {
	for _, s := range [][3]int{{512, 120, 40}, {512, 40, 40}, {512, 120, 40}, {512, 40, 120}, {512, 240, 80}, {512, 80, 240}, {320, 576, 192}, {320, 192, 576}} {
		m, n, k := s[0], s[1], s[2]
		a, w, c := make([]float32, m*k), make([]float32, n*k), make([]float32, m*n)
		p := PackB(w, k, n, k, make([]float32, n))
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			for b.Loop() {
				GemmPacked(c, n, a, k, m, p, false)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMatMulTN checks both paths against a float64 reference, with a stored k × m and read
// down its columns: row counts around the four-row blocks, column counts around the 8-column
// blocks, strided operands, no write outside c's columns.
func TestMatMulTN(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, avx2 := range paths(t) {
		for _, m := range []int{1, 3, 4, 5, 8, 17, 65} {
			for _, n := range []int{1, 8, 9, 16, 32} {
				for _, k := range []int{0, 1, 5, 17, 65} {
					const pad = 3
					lda, ldb, ldc := m+pad, n+pad, n+2*pad
					a := randNormal(rng, max(k, 1)*lda)
					b := randNormal(rng, max(k, 1)*ldb)
					c := sentinels(m * ldc)
					c0 := slices.Clone(c)
					matMulTN(c[pad:], ldc, a, lda, b, ldb, m, n, k, avx2)
					name := fmt.Sprintf("%s m=%d n=%d k=%d", pathName(avx2), m, n, k)
					checkProduct(t, name, c, c0, pad, ldc, m, n, k, func(i, j int) float64 {
						var w float64
						for p := range k {
							w += float64(a[p*lda+i]) * float64(b[p*ldb+j])
						}
						return w
					})
				}
			}
		}
	}
}

// TestSoftmaxCols: each column equals Softmax of that column taken as a row (within the
// ulps of a different summation order), on both paths; -Inf entries get 0, a NaN makes its
// column NaN and leaves the others alone, and nothing outside the columns is written.
func TestSoftmaxCols(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, avx2 := range paths(t) {
		for _, rows := range []int{1, 2, 5, 17, 65} {
			for _, cols := range []int{1, 7, 8, 9, 24, 72} {
				stride := cols + 3
				m := make([]float32, rows*stride)
				for i := range m {
					m[i] = float32(rng.NormFloat64() * 3)
				}
				if rows > 2 {
					m[stride+0] = float32(math.Inf(-1))
				}
				nanCol := -1
				if cols > 1 {
					nanCol = cols - 1
					m[(rows-1)*stride+nanCol] = float32(math.NaN())
				}
				orig := append([]float32(nil), m...)
				softmaxCols(m, rows, cols, stride, 0.35, avx2)
				name := fmt.Sprintf("%s rows=%d cols=%d", pathName(avx2), rows, cols)
				for j := 0; j < stride; j++ {
					col := make([]float32, rows)
					for r := range rows {
						col[r] = orig[r*stride+j]
					}
					if j >= cols {
						for r := range rows {
							if math.Float32bits(m[r*stride+j]) != math.Float32bits(col[r]) {
								t.Fatalf("%s: wrote outside the columns at (%d, %d)", name, r, j)
							}
						}
						continue
					}
					want := make([]float32, rows)
					softmaxGo(want, col, 0.35)
					for r := range rows {
						got := m[r*stride+j]
						if j == nanCol {
							if !math.IsNaN(float64(got)) {
								t.Fatalf("%s: column %d holds a NaN, row %d = %v", name, j, r, got)
							}
							continue
						}
						if d := math.Abs(float64(got - want[r])); d > 1e-6*float64(want[r])+1e-30 {
							t.Fatalf("%s: (%d, %d) = %v, softmax of the column %v", name, r, j, got, want[r])
						}
					}
				}
			}
		}
	}
}

// TestTranspose: both paths, shapes around the 8×8 blocks (65×8, 17×16, 5×32 are attention's),
// strided operands, nothing written outside dst's block.
func TestTranspose(t *testing.T) {
	for _, avx2 := range paths(t) {
		for _, rows := range []int{1, 5, 7, 8, 9, 17, 65} {
			for _, cols := range []int{1, 3, 8, 12, 16, 32} {
				lds, ldd := cols+2, rows+5
				src := make([]float32, rows*lds)
				for i := range src {
					src[i] = float32(i)
				}
				dst := sentinels(cols * ldd)
				transpose(dst, ldd, src, lds, rows, cols, avx2)
				for j := range cols {
					for i := range ldd {
						got := dst[j*ldd+i]
						if i >= rows {
							if math.Float32bits(got) != 0x7fc0dead {
								t.Fatalf("%s %d×%d: wrote dst[%d][%d]", pathName(avx2), rows, cols, j, i)
							}
							continue
						}
						if want := src[i*lds+j]; got != want {
							t.Fatalf("%s %d×%d: dst[%d][%d] = %v, want %v", pathName(avx2), rows, cols, j, i, got, want)
						}
					}
				}
			}
		}
	}
}

// TestLayerNormRows: eight rows at a time in the transposed block agree with LayerNorm row
// by row (float32 against the row kernel's float64 variance: within 2e-5 of each output's
// scale), for widths on and off the 8-channel grid, row counts around 8, strided and aliased
// rows, and rows far from zero mean (the shifted variance).
func TestLayerNormRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, avx2 := range paths(t) {
		for _, c := range []int{8, 12, 16, 24, 32, 40, 192} {
			for _, rows := range []int{1, 7, 8, 9, 17, 65} {
				for _, offset := range []float64{0, 300} {
					ld := c + 5
					x := make([]float32, rows*ld)
					for i := range x {
						x[i] = float32(offset + rng.NormFloat64()*2)
					}
					w, b := make([]float32, c), make([]float32, c)
					for i := range w {
						w[i], b[i] = float32(1+rng.NormFloat64()*0.3), float32(rng.NormFloat64()*0.3)
					}
					want := make([]float32, rows*ld)
					for i := range rows {
						layerNorm(want[i*ld:i*ld+c], x[i*ld:i*ld+c], w, b, 1e-6, false)
					}
					got := append([]float32(nil), x...) // in place: y aliases x
					layerNormRows(got, ld, got, ld, rows, c, w, b, 1e-6, avx2)
					for i := range rows {
						for j := range ld {
							g, e := got[i*ld+j], want[i*ld+j]
							if j >= c {
								if g != x[i*ld+j] {
									t.Fatalf("%s c=%d rows=%d: wrote outside the row at (%d, %d)", pathName(avx2), c, rows, i, j)
								}
								continue
							}
							if d := math.Abs(float64(g - e)); d > 2e-5*(1+math.Abs(float64(e))) {
								t.Fatalf("%s c=%d rows=%d offset=%v: (%d, %d) = %v, row by row %v", pathName(avx2), c, rows, offset, i, j, g, e)
							}
						}
					}
				}
			}
		}
	}
}

// BenchmarkLayerNormRows times a 512-row tile (blockTile) row by row and eight rows at a time,
// at the fmnist-wide widths.
func BenchmarkLayerNormRows(b *testing.B) {
	for _, c := range []int{8, 16, 24, 32, 40, 80, 192} {
		const rows = 512
		x := make([]float32, rows*c)
		for i := range x {
			x[i] = float32(i%13) * 0.1
		}
		y := make([]float32, rows*c)
		w, bb := make([]float32, c), make([]float32, c)
		for i := range w {
			w[i] = 1
		}
		b.Run(fmt.Sprintf("rowwise/c=%d", c), func(b *testing.B) {
			for range b.N {
				for i := range rows {
					LayerNorm(y[i*c:(i+1)*c], x[i*c:(i+1)*c], w, bb, 1e-6)
				}
			}
		})
		b.Run(fmt.Sprintf("rows8/c=%d", c), func(b *testing.B) {
			for range b.N {
				LayerNormRows(y, c, x, c, rows, c, w, bb, 1e-6)
			}
		})
	}
}

// TestSoftmaxCols512MatchesAVX2: the 16-lane column softmax does per lane exactly what the
// 8-lane one does, so the two agree bit for bit (-Inf and large inputs included).
func TestSoftmaxCols512MatchesAVX2(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512 on this machine or build")
	}
	rng := rand.New(rand.NewPCG(17, 18))
	for _, rows := range []int{1, 2, 5, 17, 65} {
		m := make([]float32, rows*64)
		for i := range m {
			m[i] = float32(rng.NormFloat64() * 40)
		}
		m[3] = float32(math.Inf(-1))
		a := append([]float32(nil), m...)
		b := append([]float32(nil), m...)
		softmaxColsAVX2(&a[0], rows, 8, 64, 0.35)
		softmaxCols512(&b[0], rows, 4, 64, 0.35)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("rows %d, element %d: %v on 16 lanes, %v on 8", rows, i, b[i], a[i])
			}
		}
	}
}

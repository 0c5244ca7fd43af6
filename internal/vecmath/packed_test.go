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
// qkv 120, MLP 120; stage 2: 80, qkv 240, MLP 240; stage 3: 192, MLP 576; the smallest
// network's stage 1: 8 wide, qkv 24, MLP 16).
func BenchmarkGemmPacked(b *testing.B) {
	for _, s := range [][3]int{{512, 120, 40}, {512, 40, 40}, {512, 40, 120}, {512, 240, 80}, {512, 80, 240}, {320, 576, 192}, {320, 192, 576}, {512, 24, 8}, {512, 8, 8}, {512, 8, 16}} {
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

// TestConvPacked checks implicit 3×3 convolutions (stride 1 and 2, padding 1, as the conv
// stem's and the reductions') and a 2×2 stride-2 one (the stem projection) against a float64
// direct convolution: HWC images with a zero border, PyTorch-ordered weights through
// PackConv with a folded BatchNorm, ReLU and accumulate, and output rows scattered at their
// own offsets (the token rows a reduction writes).
func TestConvPacked(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, asm := range packedPaths(t) {
		for _, c := range []struct{ h, cin, cout, k, stride, pad int }{
			{16, 12, 12, 3, 1, 1}, {32, 1, 12, 3, 2, 1}, {8, 8, 40, 3, 2, 1}, {4, 40, 80, 3, 2, 1}, {16, 12, 40, 2, 2, 0}, {6, 3, 17, 3, 1, 1},
		} {
			for _, flags := range []struct{ relu, acc bool }{{false, false}, {true, false}, {true, true}, {false, true}} {
				hp := c.h + 2*c.pad
				img := make([]float32, hp*hp*c.cin+5)
				for y := range c.h {
					for x := range c.h {
						for ci := range c.cin {
							img[((y+c.pad)*hp+x+c.pad)*c.cin+ci] = float32(rng.NormFloat64())
						}
					}
				}
				kk := c.k * c.k
				ldw := c.cin*kk + 2
				w := randNormal(rng, c.cout*ldw)
				bias, scale, shift := randNormal(rng, c.cout), randNormal(rng, c.cout), randNormal(rng, c.cout)
				p := PackConv(w, ldw, c.cout, c.cin, c.k, bias, scale, shift)
				ho := (c.h+2*c.pad-c.k)/c.stride + 1
				const ldc, skip = 3, 7 // output row o at skip + o·(cout+ldc)
				out := sentinels(skip + ho*ho*(c.cout+ldc))
				var aRows, cRows []int
				for oy := range ho {
					for ox := range ho {
						aRows = append(aRows, (oy*c.stride*hp+ox*c.stride)*c.cin)
						cRows = append(cRows, skip+(oy*ho+ox)*(c.cout+ldc))
					}
				}
				if flags.acc {
					for _, r := range cRows {
						for j := range c.cout {
							out[r+j] = float32(rng.NormFloat64())
						}
					}
				}
				segs := make([]int, c.k)
				for ky := range segs {
					segs[ky] = ky * hp * c.cin
				}
				before := slices.Clone(out)
				convPacked(out, cRows, img, aRows, segs, p, flags.relu, flags.acc, asm)
				name := fmt.Sprintf("%s %+v relu=%v acc=%v", packedName(asm), c, flags.relu, flags.acc)
				for o, r := range cRows {
					oy, ox := o/ho, o%ho
					for co := range c.cout {
						want := float64(bias[co])
						for ci := range c.cin {
							for ky := range c.k {
								for kx := range c.k {
									v := img[((oy*c.stride+ky)*hp+ox*c.stride+kx)*c.cin+ci]
									want += float64(v) * float64(w[co*ldw+ci*kk+ky*c.k+kx])
								}
							}
						}
						want = want*float64(scale[co]) + float64(shift[co])
						if flags.relu {
							want = math.Max(want, 0)
						}
						if flags.acc {
							want += float64(before[r+co])
						}
						if d := math.Abs(float64(out[r+co]) - want); !(d <= 1e-4*(1+math.Abs(want))) {
							t.Fatalf("%s: output %d channel %d = %v, want %v", name, o, co, out[r+co], want)
						}
					}
					for j := c.cout; j < c.cout+ldc && r+j < len(out); j++ {
						if math.Float32bits(out[r+j]) != math.Float32bits(before[r+j]) {
							t.Fatalf("%s: wrote past output row %d", name, o)
						}
					}
				}
				for j := range skip {
					if math.Float32bits(out[j]) != math.Float32bits(before[j]) {
						t.Fatalf("%s: wrote before the first row", name)
					}
				}
			}
		}
	}
}

// TestConvPackedRejectsRowsOutside: a row whose runs would read past a, or whose output would
// land past c, panics before any kernel touches memory, on either path.
func TestConvPackedRejectsRowsOutside(t *testing.T) {
	p := PackConv(make([]float32, 4*2*9), 2*9, 4, 2, 3, nil, nil, nil)
	segs := []int{0, 10, 20}
	a, c := make([]float32, 40), make([]float32, 12)
	for _, asm := range packedPaths(t) {
		for name, rows := range map[string][2][]int{
			"a past its end": {{0, 20}, {0, 4}},
			"a before start": {{0, -1}, {0, 4}},
			"c past its end": {{0, 1}, {0, 9}},
			"c before start": {{0, 1}, {-4, 4}},
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s, %s: no panic", packedName(asm), name)
					}
				}()
				convPacked(c, rows[1], a, rows[0], segs, p, false, false, asm)
			}()
		}
	}
}

// TestGemmPackedCols computes products a column range at a time (the ranges a pair of cores
// shares at batch 1) and checks that each range writes exactly its columns, and that the
// ranges together give GemmPacked's result bit for bit.
func TestGemmPackedCols(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, s := range [][3]int{{5, 432, 192}, {5, 192, 576}, {3, 40, 40}, {16, 120, 40}, {7, 10, 24}} {
		m, n, k := s[0], s[1], s[2]
		a, b, bias := randNormal(rng, m*k), randNormal(rng, n*k), randNormal(rng, n)
		p := PackB(b, k, n, k, bias)
		for _, acc := range []bool{false, true} {
			start := randNormal(rng, m*n)
			want := slices.Clone(start)
			GemmPacked(want, n, a, k, m, p, acc)
			got := slices.Clone(start)
			var cuts []int
			for c := 0; c < n; c += 48 {
				cuts = append(cuts, c)
			}
			cuts = append(cuts, n)
			for i := 0; i+1 < len(cuts); i++ {
				before := slices.Clone(got)
				GemmPackedCols(got, n, a, k, m, p, acc, cuts[i], cuts[i+1])
				for r := range m {
					for j := range n {
						inside := j >= cuts[i] && j < cuts[i+1]
						if changed := math.Float32bits(got[r*n+j]) != math.Float32bits(before[r*n+j]); changed && !inside {
							t.Fatalf("%v acc=%v: range [%d,%d) wrote column %d", s, acc, cuts[i], cuts[i+1], j)
						}
					}
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%v acc=%v: column ranges differ from the whole product", s, acc)
			}
		}
	}
	for _, bad := range [][2]int{{8, 32}, {0, 20}, {-16, 16}, {32, 16}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("columns %v: no panic", bad)
				}
			}()
			GemmPackedCols(make([]float32, 64), 64, make([]float32, 8), 8, 1, PackB(make([]float32, 64*8), 8, 64, 8, nil), false, bad[0], bad[1])
		}()
	}
}

//go:build !purego

package vecmath

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels; it is computed once and never changes.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// The kernels below are in avx2_amd64.s. They take n ≥ 1 and pointers to at least n
// elements each; the exported wrappers check both.

//go:noescape
func expAVX2(x *float32, n int)

//go:noescape
func softmaxAVX2(y, x *float32, n int, scale float32)

//go:noescape
func softmaxBackwardAVX2(dx, dy, y *float32, n int, scale, dot float32, add bool)

//go:noescape
func geluAVX2(y, x *float32, n int)

//go:noescape
func biasGELUAVX2(x, bias *float32, n int)

//go:noescape
func geluDerivAVX2(y, d, x *float32, n int)

//go:noescape
func geluGradAVX2(dx, dy, x *float32, n int)

//go:noescape
func sumAVX2(x *float32, n int) float32

//go:noescape
func dotAVX2(x, y *float32, n int) float32

// layerNormAVX2 takes n also as nf = float64(n) and eps as float64(eps).
//
//go:noescape
func layerNormAVX2(y, x, w, b *float32, n int, nf, eps float64) (mean, rstd float32)

// layerNormBackwardAVX2 takes n also as nf = float32(n).
//
//go:noescape
func layerNormBackwardAVX2(dx, dy, x, w *float32, n int, nf, mean, rstd float32)

//go:noescape
func layerNormParamGradAVX2(dw, db, dy, x *float32, n int, mean, rstd float32)

//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)

//go:noescape
func addAVX2(dst, src *float32, n int)

//go:noescape
func mulAddAVX2(dst, a, b *float32, n int)

//go:noescape
func scaleShiftReLUAVX2(x *float32, n int, scale, shift float32)

// matMulAVX2 takes m, nb, k ≥ 1 and strides in elements (a's rows rs apart, its k values ks
// apart); the wrapper checks the lengths.
//
//go:noescape
func matMulAVX2(c *float32, ldc int, a *float32, rs, ks int, b *float32, ldb int, m, nb, k int)

//go:noescape
func matMulNT2AVX2(c0, c1, a0, a1, b *float32, ldb, nq, k int, acc bool)

//go:noescape
func matMulNT1AVX2(c0, a0, b *float32, ldb, nq, k int, acc bool)

//go:noescape
func matMulNT3AVX2(c *float32, ldc int, a *float32, lda int, b *float32, ldb, nq, k int, acc bool)

//go:noescape
func softmaxColsAVX2(m *float32, rows, nb, stride int, scale float32)

//go:noescape
func transpose8AVX2(dst *float32, ldd int, src *float32, lds int, nb int)

//go:noescape
func layerNormColsAVX2(t *float32, c int, w, b *float32, n, eps float32)

// useAVX512 selects the 16-lane column softmax (softmaxCols512), which uses only Z0–Z15:
// a first version with constants in Z16–Z31 cost a fixed ~250 cycles a call here, the
// upper registers that VZEROUPPER does not clear.
var useAVX512 = useAVX2 && cpu.X86.HasAVX512F

//go:noescape
func softmaxCols512(m *float32, rows, nb, stride int, scale float32)

// The packed GEMM kernels (packed_amd64.s) take offs: byte offsets of the six rows of a
// (offs[0:6]) and of c (offs[6:12]) from the pointers given; segs: nseg byte offsets of the
// segments of segK values that make up each row of a; flags: packedAcc | packedReLU; blocks
// ≥ 1 six-row blocks, a and c advancing by aStep and cStep bytes between them.
//
//go:noescape
func gemmPacked6x32AVX512(c, a *float32, offs *[12]int, b *float32, segs *int, nseg, segK int, bias *float32, flags int, mask uint32, blocks, aStep, cStep int)

//go:noescape
func gemmPacked6x16AVX512(c, a *float32, offs *[12]int, b *float32, segs *int, nseg, segK int, bias *float32, flags int, mask uint32, blocks, aStep, cStep int)

//go:noescape
func biasGELU512(x, bias *float32, n int)

//go:noescape
func attnD8AVX512(o, q *float32, idx *[32]int32, nq int, k, v *float32, ldkv, tok int, s *float32, scale float32)

//go:noescape
func layerNormRows512(y *float32, ldy int, x *float32, ldx int, rows, n int, w, b *float32, nf, eps float64)

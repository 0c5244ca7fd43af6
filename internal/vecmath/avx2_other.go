//go:build !amd64 || purego

package vecmath

// Without the amd64 assembly every kernel runs its pure-Go version; these stubs are never
// called.
const useAVX2 = false

const noAsm = "vecmath: AVX2 kernel called on a build without assembly"

func expAVX2(x *float32, n int)                                  { panic(noAsm) }
func softmaxAVX2(y, x *float32, n int, scale float32)            { panic(noAsm) }
func geluAVX2(y, x *float32, n int)                              { panic(noAsm) }
func biasGELUAVX2(x, bias *float32, n int)                       { panic(noAsm) }
func geluDerivAVX2(y, d, x *float32, n int)                      { panic(noAsm) }
func geluGradAVX2(dx, dy, x *float32, n int)                     { panic(noAsm) }
func sumAVX2(x *float32, n int) float32                          { panic(noAsm) }
func dotAVX2(x, y *float32, n int) float32                       { panic(noAsm) }
func axpyAVX2(alpha float32, x, y *float32, n int)               { panic(noAsm) }
func addAVX2(dst, src *float32, n int)                           { panic(noAsm) }
func mulAddAVX2(dst, a, b *float32, n int)                       { panic(noAsm) }
func scaleShiftReLUAVX2(x *float32, n int, scale, shift float32) { panic(noAsm) }

func softmaxBackwardAVX2(dx, dy, y *float32, n int, scale, dot float32, add bool) {
	panic(noAsm)
}

func layerNormAVX2(y, x, w, b *float32, n int, nf, eps float64) (mean, rstd float32) {
	panic(noAsm)
}

func layerNormBackwardAVX2(dx, dy, x, w *float32, n int, nf, mean, rstd float32) {
	panic(noAsm)
}

func layerNormParamGradAVX2(dw, db, dy, x *float32, n int, mean, rstd float32) {
	panic(noAsm)
}

func matMulAVX2(c *float32, ldc int, a *float32, rs, ks int, b *float32, ldb int, m, nb, k int) {
	panic(noAsm)
}

func matMulNT2AVX2(c0, c1, a0, a1, b *float32, ldb, nq, k int, acc bool) { panic(noAsm) }
func matMulNT1AVX2(c0, a0, b *float32, ldb, nq, k int, acc bool)         { panic(noAsm) }

func matMulNT3AVX2(c *float32, ldc int, a *float32, lda int, b *float32, ldb, nq, k int, acc bool) {
	panic(noAsm)
}

func softmaxColsAVX2(m *float32, rows, nb, stride int, scale float32) { panic(noAsm) }

func transpose8AVX2(dst *float32, ldd int, src *float32, lds int, nb int) { panic(noAsm) }

func layerNormColsAVX2(t *float32, c int, w, b *float32, n, eps float32) { panic(noAsm) }

const useAVX512 = false

func softmaxCols512(m *float32, rows, nb, stride int, scale float32) { panic(noAsm) }

func gemmPacked6x32AVX512(c, a *float32, offs *[12]int, b *float32, segs *int, nseg, segK int, bias *float32, flags int, mask uint32, blocks, aStep, cStep int) {
	panic(noAsm)
}

func gemmPacked6x16AVX512(c, a *float32, offs *[12]int, b *float32, segs *int, nseg, segK int, bias *float32, flags int, mask uint32, blocks, aStep, cStep int) {
	panic(noAsm)
}

func biasGELU512(x, bias *float32, n int) { panic(noAsm) }

func attnD8AVX512(o, q *float32, idx *[32]int32, nq int, k, v *float32, ldkv, tok int, s *float32, scale float32) {
	panic(noAsm)
}

func layerNormRows512(y *float32, ldy int, x *float32, ldx int, rows, n int, w, b *float32, nf, eps float64) {
	panic(noAsm)
}

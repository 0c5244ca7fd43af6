// Package vecmath holds the elementwise and row kernels around the GEMMs of a transformer
// (softmax, exact GELU, LayerNorm, residual adds, dot products) on flat []float32.
//
// On amd64 CPUs with AVX2 and FMA they run as 8-lane assembly; elsewhere (or built with the
// purego tag) as plain Go that follows the assembly step by step. exp and erf use the
// same float32 approximations as the scalar code they replace (Cephes expf; the Eigen/XLA
// rational erf): exp within 1e-7 relative, erf within 5e-7 absolute. Sums keep 32 partial
// sums (4 vectors × 8 lanes) combined in a fixed order, so a result depends only on the data,
// never on the slice's alignment.
//
// Every kernel reads the length of its first input (the one named in its doc comment) and
// requires the other slices to be at least as long; it panics otherwise, like an
// out-of-range index, since the assembly has no bounds checks. Outputs may alias inputs only
// exactly (same first element), where a doc comment says so.
package vecmath

// Exp replaces every x[i] by e^x[i]: 0 below -87.33 (under float32's normal range), +Inf
// above 88.72, NaN for NaN.
func Exp(x []float32) { exp(x, useAVX2) }

func exp(x []float32, avx2 bool) {
	if len(x) == 0 {
		return
	}
	if avx2 {
		expAVX2(&x[0], len(x))
		return
	}
	expGo(x)
}

// Softmax writes y = softmax(scale·x): e^((x−max)·scale) normalised to sum 1. scale must be
// positive (it folds the attention scale into the kernel); y may alias x. A NaN or +Inf
// anywhere in x makes the whole row NaN, as in the scalar code; -Inf entries get 0.
func Softmax(y, x []float32, scale float32) { softmax(y, x, scale, useAVX2) }

func softmax(y, x []float32, scale float32, avx2 bool) {
	if len(x) == 0 {
		return
	}
	checkLen(len(y), len(x), "vecmath: Softmax: len(y) < len(x)")
	if !(scale > 0) {
		panic("vecmath: Softmax: scale must be positive")
	}
	if avx2 {
		softmaxAVX2(&y[0], &x[0], len(x), scale)
		return
	}
	softmaxGo(y[:len(x)], x, scale)
}

// SoftmaxRows applies Softmax in place to each of the rows of the strided matrix m: row i is
// m[i·stride : i·stride+cols].
func SoftmaxRows(m []float32, rows, cols, stride int, scale float32) {
	for i := range rows {
		r := m[i*stride : i*stride+cols]
		softmax(r, r, scale, useAVX2)
	}
}

// SoftmaxBackward adds the gradient of y = Softmax(x, scale) into dx:
// dx += scale·y⊙(dy − ⟨dy, y⟩). dx may alias dy.
func SoftmaxBackward(dx, dy, y []float32, scale float32) {
	softmaxBackward(dx, dy, y, scale, true, useAVX2)
}

// SoftmaxBackwardInPlace overwrites dy with scale·y⊙(dy − ⟨dy, y⟩), the gradient of the
// softmax's input (attention's dS, computed where dP was).
func SoftmaxBackwardInPlace(dy, y []float32, scale float32) {
	softmaxBackward(dy, dy, y, scale, false, useAVX2)
}

func softmaxBackward(dx, dy, y []float32, scale float32, add, avx2 bool) {
	n := len(y)
	if n == 0 {
		return
	}
	checkLen(len(dx), n, "vecmath: SoftmaxBackward: len(dx) < len(y)")
	checkLen(len(dy), n, "vecmath: SoftmaxBackward: len(dy) < len(y)")
	d := dot(dy, y, avx2)
	if avx2 {
		softmaxBackwardAVX2(&dx[0], &dy[0], &y[0], n, scale, d, add)
		return
	}
	softmaxBackwardGo(dx[:n], dy[:n], y, scale, d, add)
}

// GELU writes y = x·Φ(x) = x/2·(1 + erf(x/√2)), the exact GELU (nn.GELU()); y may alias x.
func GELU(y, x []float32) { geluVec(y, x, useAVX2) }

func geluVec(y, x []float32, avx2 bool) {
	if len(x) == 0 {
		return
	}
	checkLen(len(y), len(x), "vecmath: GELU: len(y) < len(x)")
	if avx2 {
		geluAVX2(&y[0], &x[0], len(x))
		return
	}
	geluGo(y[:len(x)], x)
}

// GELUInPlace replaces x by GELU(x) — a whole tile of MLP activations whose bias is already
// added, in one call. Where the CPU has AVX-512 it runs BiasGELU's 16-lane kernel, whose
// erf quotient may differ from GELU's by an ulp.
func GELUInPlace(x []float32) { geluInPlace(x, useAVX2) }

func geluInPlace(x []float32, avx2 bool) {
	if len(x) == 0 {
		return
	}
	if avx2 && useAVX512 {
		biasGELU512(&x[0], nil, len(x))
		return
	}
	geluVec(x, x, avx2)
}

// BiasGELU replaces x[i] by GELU(x[i] + bias[i]): the fc1 bias and activation in one pass.
func BiasGELU(x, bias []float32) { biasGELU(x, bias, useAVX2) }

func biasGELU(x, bias []float32, avx2 bool) {
	if len(x) == 0 {
		return
	}
	checkLen(len(bias), len(x), "vecmath: BiasGELU: len(bias) < len(x)")
	if avx2 && useAVX512 {
		biasGELU512(&x[0], &bias[0], len(x))
		return
	}
	if avx2 {
		biasGELUAVX2(&x[0], &bias[0], len(x))
		return
	}
	biasGELUGo(x, bias[:len(x)])
}

// GELUDeriv writes y = GELU(x) and d = GELU'(x) = Φ(x) + x·φ(x), so that a training
// backward pass needs no transcendental function. y and d may alias x, not each other.
func GELUDeriv(y, d, x []float32) { geluDerivVec(y, d, x, useAVX2) }

func geluDerivVec(y, d, x []float32, avx2 bool) {
	if len(x) == 0 {
		return
	}
	checkLen(len(y), len(x), "vecmath: GELUDeriv: len(y) < len(x)")
	checkLen(len(d), len(x), "vecmath: GELUDeriv: len(d) < len(x)")
	if avx2 {
		geluDerivAVX2(&y[0], &d[0], &x[0], len(x))
		return
	}
	geluDerivGo(y[:len(x)], d[:len(x)], x)
}

// GELUGrad adds the gradient of y = GELU(x) into dx: dx += dy·(Φ(x) + x·φ(x)), for a
// backward pass that keeps x rather than the derivative. dx may alias dy.
func GELUGrad(dx, dy, x []float32) { geluGrad(dx, dy, x, useAVX2) }

func geluGrad(dx, dy, x []float32, avx2 bool) {
	if len(x) == 0 {
		return
	}
	checkLen(len(dx), len(x), "vecmath: GELUGrad: len(dx) < len(x)")
	checkLen(len(dy), len(x), "vecmath: GELUGrad: len(dy) < len(x)")
	if avx2 {
		geluGradAVX2(&dx[0], &dy[0], &x[0], len(x))
		return
	}
	geluGradGo(dx[:len(x)], dy[:len(x)], x)
}

// LayerNorm writes y = (x − mean)·rstd·w + b with rstd = 1/√(var + eps) (biased variance,
// as F.layer_norm) and returns mean and rstd for the backward pass; y may alias x. An empty
// x returns (0, 0).
//
// The statistics are float32 sums with a float64 finish: a first mean m0, then Σ(x−m0) and
// Σ(x−m0)², whose ratio corrects m0 (the corrected two-pass algorithm). The output
// subtracts m0 and the correction separately, so a row far from zero (mean 1e3, spread 1)
// loses nothing to the rounding of its mean.
func LayerNorm(y, x, w, b []float32, eps float32) (mean, rstd float32) {
	return layerNorm(y, x, w, b, eps, useAVX2)
}

func layerNorm(y, x, w, b []float32, eps float32, avx2 bool) (mean, rstd float32) {
	n := len(x)
	if n == 0 {
		return 0, 0
	}
	checkLen(len(y), n, "vecmath: LayerNorm: len(y) < len(x)")
	checkLen(len(w), n, "vecmath: LayerNorm: len(w) < len(x)")
	checkLen(len(b), n, "vecmath: LayerNorm: len(b) < len(x)")
	if avx2 {
		return layerNormAVX2(&y[0], &x[0], &w[0], &b[0], n, float64(n), float64(eps))
	}
	return layerNormGo(y[:n], x, w[:n], b[:n], eps)
}

// LayerNormBackward adds the input gradient of LayerNorm into dx:
//
//	dx += rstd·(g − mean(g) − x̂·mean(g·x̂)),  g = dy·w,  x̂ = (x − mean)·rstd
//
// with mean and rstd from the forward pass. dx may alias dy.
func LayerNormBackward(dx, dy, x, w []float32, mean, rstd float32) {
	layerNormBackward(dx, dy, x, w, mean, rstd, useAVX2)
}

func layerNormBackward(dx, dy, x, w []float32, mean, rstd float32, avx2 bool) {
	n := len(x)
	if n == 0 {
		return
	}
	checkLen(len(dx), n, "vecmath: LayerNormBackward: len(dx) < len(x)")
	checkLen(len(dy), n, "vecmath: LayerNormBackward: len(dy) < len(x)")
	checkLen(len(w), n, "vecmath: LayerNormBackward: len(w) < len(x)")
	if avx2 {
		layerNormBackwardAVX2(&dx[0], &dy[0], &x[0], &w[0], n, float32(n), mean, rstd)
		return
	}
	layerNormBackwardGo(dx[:n], dy[:n], x, w[:n], mean, rstd)
}

// LayerNormParamGrad adds one row's share of the weight and bias gradients:
// dw += dy·x̂, db += dy with x̂ = (x − mean)·rstd. Called row by row in a fixed order (or on
// column ranges of each row) it gives deterministic sums.
func LayerNormParamGrad(dw, db, dy, x []float32, mean, rstd float32) {
	layerNormParamGrad(dw, db, dy, x, mean, rstd, useAVX2)
}

func layerNormParamGrad(dw, db, dy, x []float32, mean, rstd float32, avx2 bool) {
	n := len(x)
	if n == 0 {
		return
	}
	checkLen(len(dw), n, "vecmath: LayerNormParamGrad: len(dw) < len(x)")
	checkLen(len(db), n, "vecmath: LayerNormParamGrad: len(db) < len(x)")
	checkLen(len(dy), n, "vecmath: LayerNormParamGrad: len(dy) < len(x)")
	if avx2 {
		layerNormParamGradAVX2(&dw[0], &db[0], &dy[0], &x[0], n, mean, rstd)
		return
	}
	layerNormParamGradGo(dw[:n], db[:n], dy[:n], x, mean, rstd)
}

// Sum returns Σx.
func Sum(x []float32) float32 { return sum(x, useAVX2) }

func sum(x []float32, avx2 bool) float32 {
	if len(x) == 0 {
		return 0
	}
	if avx2 {
		return sumAVX2(&x[0], len(x))
	}
	return sumGo(x)
}

// Dot returns Σ x[i]·y[i].
func Dot(x, y []float32) float32 { return dot(x, y, useAVX2) }

func dot(x, y []float32, avx2 bool) float32 {
	if len(x) == 0 {
		return 0
	}
	checkLen(len(y), len(x), "vecmath: Dot: len(y) < len(x)")
	if avx2 {
		return dotAVX2(&x[0], &y[0], len(x))
	}
	return dotGo(x, y[:len(x)])
}

// Axpy adds alpha·x into y (a residual branch with a drop-path scale).
func Axpy(alpha float32, x, y []float32) { axpy(alpha, x, y, useAVX2) }

func axpy(alpha float32, x, y []float32, avx2 bool) {
	if len(x) == 0 {
		return
	}
	checkLen(len(y), len(x), "vecmath: Axpy: len(y) < len(x)")
	if avx2 {
		axpyAVX2(alpha, &x[0], &y[0], len(x))
		return
	}
	axpyGo(alpha, x, y[:len(x)])
}

// Add adds src into dst (residual adds, biases, position embeddings).
func Add(dst, src []float32) { add(dst, src, useAVX2) }

func add(dst, src []float32, avx2 bool) {
	if len(src) == 0 {
		return
	}
	checkLen(len(dst), len(src), "vecmath: Add: len(dst) < len(src)")
	if avx2 {
		addAVX2(&dst[0], &src[0], len(src))
		return
	}
	addGo(dst[:len(src)], src)
}

// MulAdd adds a⊙b into dst (GELU's backward with a saved derivative: dx += dy⊙d).
func MulAdd(dst, a, b []float32) { mulAdd(dst, a, b, useAVX2) }

func mulAdd(dst, a, b []float32, avx2 bool) {
	if len(a) == 0 {
		return
	}
	checkLen(len(dst), len(a), "vecmath: MulAdd: len(dst) < len(a)")
	checkLen(len(b), len(a), "vecmath: MulAdd: len(b) < len(a)")
	if avx2 {
		mulAddAVX2(&dst[0], &a[0], &b[0], len(a))
		return
	}
	mulAddGo(dst[:len(a)], a, b[:len(a)])
}

// ScaleShiftReLU replaces x[i] by max(x[i]·scale + shift, 0): a BatchNorm folded into one
// channel, then ReLU. NaN stays NaN.
func ScaleShiftReLU(x []float32, scale, shift float32) { scaleShiftReLU(x, scale, shift, useAVX2) }

func scaleShiftReLU(x []float32, scale, shift float32, avx2 bool) {
	if len(x) == 0 {
		return
	}
	if avx2 {
		scaleShiftReLUAVX2(&x[0], len(x), scale, shift)
		return
	}
	scaleShiftReLUGo(x, scale, shift)
}

// checkLen guards the assembly, which has no bounds checks.
func checkLen(got, want int, msg string) {
	if got < want {
		panic(msg)
	}
}

// MatMul writes c = a·b for small row-major strided matrices: c is m×n with row stride ldc,
// a is m×k (lda), b is k×n (ldb); element (i, j) of a is a[i·lda+j]. Each element of c is
// the sum over p = 0, 1, …, k−1 in order. It is for products too small for a BLAS call to
// pay off (attention over a few dozen tokens); c must not overlap a or b.
func MatMul(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n, k int) {
	matMul(c, ldc, a, lda, b, ldb, m, n, k, useAVX2)
}

func matMul(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n, k int, avx2 bool) {
	product(c, ldc, a, lda, b, ldb, m, n, k, false, avx2)
}

// product is MatMul (aT false: a is m × k) and MatMulTN (aT true: a is stored k × m): the
// same checks and the same split between an 8-column assembly kernel and the Go tail.
func product(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n, k int, aT, avx2 bool) {
	name, aRows, aCols := "MatMul", m, k
	if aT {
		name, aRows, aCols = "MatMulTN", k, m
	}
	if m <= 0 || n <= 0 {
		return
	}
	// The messages are built only when a check fails: this runs per attention head.
	fail := func(what string) { panic("vecmath: " + name + ": " + what) }
	if ldc < n || k < 0 || (k > 0 && (lda < aCols || ldb < n)) {
		fail("bad leading dimension")
	}
	if len(c) < (m-1)*ldc+n {
		fail("c too short")
	}
	if k == 0 {
		for i := range m {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	if len(a) < (aRows-1)*lda+aCols {
		fail("a too short")
	}
	if len(b) < (k-1)*ldb+n {
		fail("b too short")
	}
	n8 := 0
	if avx2 {
		if n8 = n &^ 7; n8 > 0 {
			rs, ks := lda, 1
			if aT {
				rs, ks = 1, lda
			}
			matMulAVX2(&c[0], ldc, &a[0], rs, ks, &b[0], ldb, m, n8/8, k)
		}
	}
	if n8 < n {
		if aT {
			matMulTNGo(c, ldc, a, lda, b, ldb, m, n8, n, k)
		} else {
			matMulGo(c, ldc, a, lda, b, ldb, m, n8, n, k)
		}
	}
}

// MatMulNT computes c = a·bᵀ, or c += a·bᵀ with acc: a is m × k (row stride lda), b is n × k
// (ldb) — a linear layer's weights in their out × in layout — and c is m × n (ldc). It is for
// few rows (a batch of one image's tokens), where a blocked GEMM spends its time packing b:
// here each three rows of a stream b once. With AVX2 and k a multiple of 8, four columns at
// a time run in assembly; other columns, and other builds, in Go (matMulNTGo, summing in the
// AVX2 kernels' lane order). Where the CPU has AVX-512 a Net's few-row GEMMs run on its
// packed weights instead (GemmPacked), so this is the path of AVX2-only machines.
func MatMulNT(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n, k int, acc bool) {
	matMulNT(c, ldc, a, lda, b, ldb, m, n, k, acc, useAVX2)
}

// MatMulNTFast says whether MatMulNT runs in assembly for inner dimension k on this build.
func MatMulNTFast(k int) bool { return useAVX2 && k >= 8 && k%8 == 0 }

func matMulNT(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n, k int, acc, avx2 bool) {
	if m <= 0 || n <= 0 {
		return
	}
	if ldc < n || k < 0 || (k > 0 && (lda < k || ldb < k)) {
		panic("vecmath: MatMulNT: bad leading dimension")
	}
	checkLen(len(c), (m-1)*ldc+n, "vecmath: MatMulNT: c too short")
	if k == 0 {
		if !acc {
			for i := range m {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	checkLen(len(a), (m-1)*lda+k, "vecmath: MatMulNT: a too short")
	checkLen(len(b), (n-1)*ldb+k, "vecmath: MatMulNT: b too short")
	n4 := 0
	if avx2 && k%8 == 0 {
		n4 = n &^ 3
	}
	if n4 > 0 {
		// Rows three at a time (b streamed once per three), except that four go as two pairs
		// rather than three and a lone row, whose kernel is bound by its loads.
		for i := 0; i < m; {
			switch r := m - i; {
			case r == 4 || r == 2:
				matMulNT2AVX2(&c[i*ldc], &c[(i+1)*ldc], &a[i*lda], &a[(i+1)*lda], &b[0], ldb, n4/4, k, acc)
				i += 2
			case r >= 3:
				matMulNT3AVX2(&c[i*ldc], ldc, &a[i*lda], lda, &b[0], ldb, n4/4, k, acc)
				i += 3
			default:
				matMulNT1AVX2(&c[i*ldc], &a[i*lda], &b[0], ldb, n4/4, k, acc)
				i++
			}
		}
	}
	if n4 < n {
		matMulNTGo(c, ldc, a, lda, b, ldb, m, n4, n, k, acc)
	}
}

// MatMulTN computes c = aᵀ·b: a is stored k × m (row stride lda), b is k × n (ldb), c is
// m × n (ldc). It is MatMul reading a down its columns, for attention's P·v when the scores
// are kept transposed (keys × queries, SoftmaxCols). With AVX2, column blocks of 8 run in
// assembly; the rest in Go. Every element sums p = 0..k-1 in order.
func MatMulTN(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n, k int) {
	matMulTN(c, ldc, a, lda, b, ldb, m, n, k, useAVX2)
}

func matMulTN(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n, k int, avx2 bool) {
	product(c, ldc, a, lda, b, ldb, m, n, k, true, avx2)
}

// SoftmaxCols applies Softmax with scale (positive) in place down each column of the
// rows × cols matrix m (row stride stride): column j is m[j], m[stride+j], … Attention keeps
// its scores as keys × queries so that each query's softmax is lane-wise, with no
// horizontal reductions. With AVX2, blocks of 8 columns run in assembly; the rest in Go.
// Each column sums its rows top to bottom, on both paths.
func SoftmaxCols(m []float32, rows, cols, stride int, scale float32) {
	softmaxCols(m, rows, cols, stride, scale, useAVX2)
}

func softmaxCols(m []float32, rows, cols, stride int, scale float32, avx2 bool) {
	if rows <= 0 || cols <= 0 {
		return
	}
	if stride < cols {
		panic("vecmath: SoftmaxCols: stride < cols")
	}
	if !(scale > 0) {
		panic("vecmath: SoftmaxCols: scale must be positive")
	}
	checkLen(len(m), (rows-1)*stride+cols, "vecmath: SoftmaxCols: m too short")
	c8 := 0
	if avx2 {
		// Sixteen columns per vector where the CPU has AVX-512 (the same operations per
		// lane, so the same bits), then eight.
		c16 := 0
		if useAVX512 {
			if c16 = cols &^ 15; c16 > 0 {
				softmaxCols512(&m[0], rows, c16/16, stride, scale)
			}
		}
		if c8 = cols &^ 7; c8 > c16 {
			softmaxColsAVX2(&m[c16], rows, (c8-c16)/8, stride, scale)
		}
	}
	if c8 < cols {
		softmaxColsGo(m, rows, c8, cols, stride, scale)
	}
}

// Transpose writes dst = srcᵀ: src is rows × cols (row stride lds), dst cols × rows (ldd).
// With AVX2, whole 8×8 blocks run in assembly; the edges in Go.
func Transpose(dst []float32, ldd int, src []float32, lds int, rows, cols int) {
	transpose(dst, ldd, src, lds, rows, cols, useAVX2)
}

func transpose(dst []float32, ldd int, src []float32, lds int, rows, cols int, avx2 bool) {
	if rows <= 0 || cols <= 0 {
		return
	}
	if lds < cols || ldd < rows {
		panic("vecmath: Transpose: bad leading dimension")
	}
	checkLen(len(src), (rows-1)*lds+cols, "vecmath: Transpose: src too short")
	checkLen(len(dst), (cols-1)*ldd+rows, "vecmath: Transpose: dst too short")
	r8, c8 := 0, 0
	if avx2 {
		r8, c8 = rows&^7, cols&^7
		if r8 > 0 {
			for j := 0; j < c8; j += 8 {
				transpose8AVX2(&dst[j*ldd], ldd, &src[j], lds, r8/8)
			}
		} else {
			c8 = 0
		}
	}
	// The rows the blocks left (all of them without AVX2), then the columns they left.
	for i := r8; i < rows; i++ {
		for j, v := range src[i*lds : i*lds+cols] {
			dst[j*ldd+i] = v
		}
	}
	for j := c8; j < cols; j++ {
		for i := 0; i < r8; i++ {
			dst[j*ldd+i] = src[i*lds+j]
		}
	}
}

// layerNormRowsMaxC is the widest row LayerNormRows takes eight at a time. Measured on
// 512-row tiles (BenchmarkLayerNormRows, AVX-512 Xeon): 3.9× the row kernel's speed at 8
// channels, 2.6× at 16, 1.5× at 24, a tie at 32, and slower from 40 on, where the row
// kernel's vectors are full and the two transposes are the extra cost.
const layerNormRowsMaxC = 24

// LayerNormRows applies LayerNorm with eps to each of rows rows of width c: row i of y
// (y[i·ldy:]) from row i of x (x[i·ldx:]); y may alias x exactly (ldy = ldx). With AVX2 and c
// a multiple of 8 up to layerNormRowsMaxC, eight rows at a time are transposed into a block
// where every statistic is lane-wise (one row per lane), which for the narrow rows of small
// networks replaces eight chains of horizontal reductions by one pass; wider rows, the rows
// left over, and other builds run LayerNorm row by row. The two agree within float32
// rounding (the row kernel takes its variance in float64).
func LayerNormRows(y []float32, ldy int, x []float32, ldx int, rows, c int, w, b []float32, eps float32) {
	layerNormRows(y, ldy, x, ldx, rows, c, w, b, eps, useAVX2)
}

func layerNormRows(y []float32, ldy int, x []float32, ldx int, rows, c int, w, b []float32, eps float32, avx2 bool) {
	if rows <= 0 || c <= 0 {
		return
	}
	if ldy < c || ldx < c {
		panic("vecmath: LayerNormRows: bad leading dimension")
	}
	checkLen(len(x), (rows-1)*ldx+c, "vecmath: LayerNormRows: x too short")
	checkLen(len(y), (rows-1)*ldy+c, "vecmath: LayerNormRows: y too short")
	checkLen(len(w), c, "vecmath: LayerNormRows: len(w) < c")
	checkLen(len(b), c, "vecmath: LayerNormRows: len(b) < c")
	i := 0
	if avx2 && c%8 == 0 && c <= layerNormRowsMaxC {
		var t [8 * layerNormRowsMaxC]float32
		for ; i+8 <= rows; i += 8 {
			for g := 0; g < c; g += 8 {
				transpose8AVX2(&t[8*g], 8, &x[i*ldx+g], ldx, 1)
			}
			layerNormColsAVX2(&t[0], c, &w[0], &b[0], float32(c), eps)
			for g := 0; g < c; g += 8 {
				transpose8AVX2(&y[i*ldy+g], ldy, &t[8*g], 8, 1)
			}
		}
	}
	if avx2 && useAVX512 && i < rows {
		// The row kernel's arithmetic on 16 lanes, all remaining rows in one call.
		layerNormRows512(&y[i*ldy], ldy, &x[i*ldx], ldx, rows-i, c, &w[0], &b[0], float64(c), float64(eps))
		return
	}
	for ; i < rows; i++ {
		layerNorm(y[i*ldy:i*ldy+c], x[i*ldx:i*ldx+c], w, b, eps, avx2)
	}
}

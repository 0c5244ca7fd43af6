package cuda

import (
	"math"

	"gonum.org/v1/gonum/blas"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/gemm/backend/native"
)

// cublasOperation_t values.
const (
	cublasOpN = 0
	cublasOpT = 1
)

func cublasOp(t blas.Transpose) int32 {
	if native.IsTrans(t) {
		return cublasOpT
	}
	return cublasOpN
}

// Sgemm computes row-major C = alpha·op(A)·op(B) + beta·C on device memory, where A starts at
// element aOff of a with leading dimension lda, and likewise B and C: the arguments of
// gemm.Backend's Sgemm with a buffer and offset for each slice. Bad arguments panic with
// gonum's messages before anything reaches the GPU. The GEMM is queued; errors of the kernel
// itself may surface at the next Synchronize or download.
func (d *Device) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a *Buffer, aOff, lda int, b *Buffer, bOff, ldb int, beta float32, c *Buffer, cOff, ldc int) error {
	return d.SgemmStridedBatched(tA, tB, m, n, k, alpha, a, aOff, lda, 0, b, bOff, ldb, 0, beta, c, cOff, ldc, 0, 1)
}

// SgemmStridedBatched runs batch independent Sgemms; GEMM i reads A at aOff + i·strideA, B at
// bOff + i·strideB and writes C at cOff + i·strideC (strides in elements, as for attention over
// heads). The C matrices must not overlap.
func (d *Device) SgemmStridedBatched(tA, tB blas.Transpose, m, n, k int, alpha float32,
	a *Buffer, aOff, lda, strideA int, b *Buffer, bOff, ldb, strideB int,
	beta float32, c *Buffer, cOff, ldc, strideC int, batch int) error {
	return d.sgemmBatched(d.do, tA, tB, m, n, k, alpha, a, aOff, lda, strideA, b, bOff, ldb, strideB, beta, c, cOff, ldc, strideC, batch)
}

func (d *Device) sgemmBatched(run runner, tA, tB blas.Transpose, m, n, k int, alpha float32,
	a *Buffer, aOff, lda, strideA int, b *Buffer, bOff, ldb, strideB int,
	beta float32, c *Buffer, cOff, ldc, strideC int, batch int) error {
	if batch < 0 || strideA < 0 || strideB < 0 || strideC < 0 {
		panic("cuda: negative batch or stride")
	}
	lenA := d.batchSpan(a, aOff, strideA, batch, k)
	lenB := d.batchSpan(b, bOff, strideB, batch, k)
	lenC := d.batchSpan(c, cOff, strideC, batch, 1)
	if !native.CheckSgemm(tA, tB, m, n, k, lenA, lda, lenB, ldb, lenC, ldc) || batch == 0 {
		return nil
	}
	if batch > 1 {
		stacked := strideC >= (m-1)*ldc+n
		sideBySide := strideC >= n && (batch-1)*strideC+n <= ldc // per-head column blocks of one output
		if !stacked && !sideBySide {
			panic("cuda: batched C matrices overlap")
		}
	}
	if batch > math.MaxInt32 {
		panic("cuda: batch exceeds the 32-bit range of cuBLAS")
	}
	return run(func() error {
		return d.sgemmStrided(tA, tB, m, n, k, alpha, addr(a, aOff), lda, strideA, addr(b, bOff), ldb, strideB, beta, addr(c, cOff), ldc, strideC, batch)
	})
}

// batchSpan is the length available to the last matrix of the batch, which is what the
// per-matrix length checks must see. An operand that cannot be read (k = 0) may be nil.
func (d *Device) batchSpan(b *Buffer, off, stride, batch, k int) int {
	if b == nil && k == 0 {
		return math.MaxInt // nothing is read, so any length will do
	}
	d.checkRange(b, off, 0, "cuda: matrix offset out of range")
	last := off + max(0, batch-1)*stride
	if last > b.n {
		return -1 // fails the length check with gonum's message
	}
	return b.n - last
}

func addr(b *Buffer, off int) uint64 {
	if b == nil {
		return 0
	}
	return b.ptr + uint64(off)*floatBytes
}

// sgemmStrided issues the column-major call for a row-major GEMM, on the serving goroutine:
// C (m×n, row-major, ldc) viewed column-major is Cᵀ, and Cᵀ = op(B)ᵀ·op(A)ᵀ, so B goes first
// with the same transpose flags and leading dimensions, and m and n swap.
func (d *Device) sgemmStrided(tA, tB blas.Transpose, m, n, k int, alpha float32, a uint64, lda, strideA int,
	b uint64, ldb, strideB int, beta float32, c uint64, ldc, strideC, batch int) error {
	alphaV, betaV := alpha, beta
	if batch == 1 {
		return d.checkBLAS("cublasSgemm_v2", d.blas.sgemm(d.handle, cublasOp(tB), cublasOp(tA), int32(n), int32(m), int32(k),
			&alphaV, b, int32(ldb), a, int32(lda), &betaV, c, int32(ldc)))
	}
	return d.checkBLAS("cublasSgemmStridedBatched", d.blas.sgemmStridedBatched(d.handle, cublasOp(tB), cublasOp(tA), int32(n), int32(m), int32(k),
		&alphaV, b, int32(ldb), int64(strideB), a, int32(lda), int64(strideA), &betaV, c, int32(ldc), int64(strideC), int32(batch)))
}

// Mul computes c = alpha·op(a)·op(b) + beta·c on device views, the twin of gemm.Mul: shapes are
// checked here, and an empty inner dimension scales c by beta (through cuBLAS with k = 0).
func (d *Device) Mul(transA, transB bool, alpha float32, a, b DMat, beta float32, c DMat) error {
	return d.mul(d.do, transA, transB, alpha, a, b, beta, c)
}

func (d *Device) mul(run runner, transA, transB bool, alpha float32, a, b DMat, beta float32, c DMat) error {
	m, n, k, ok := gemm.MulShape(a.Rows, a.Cols, transA, b.Rows, b.Cols, transB, c.Rows, c.Cols)
	if !ok {
		panic("cuda: shape mismatch in Mul")
	}
	if m == 0 || n == 0 {
		return nil
	}
	a.checkIn(d)
	b.checkIn(d)
	c.checkIn(d)
	tA, tB := blas.NoTrans, blas.NoTrans
	if transA {
		tA = blas.Trans
	}
	if transB {
		tB = blas.Trans
	}
	aBuf, bBuf := a.Buf, b.Buf
	lda, ldb := max(1, a.Stride), max(1, b.Stride)
	if k == 0 {
		aBuf, bBuf = nil, nil
		lda, ldb = max(1, a.Cols), max(1, b.Cols)
		if transA {
			lda = max(1, m)
		}
		if !transB {
			ldb = max(1, n)
		}
	}
	return d.sgemmBatched(run, tA, tB, m, n, k, alpha, aBuf, a.Off, lda, 0, bBuf, b.Off, ldb, 0, beta, c.Buf, c.Off, c.Stride, 0, 1)
}

// Package gemm defines the one matrix-multiply interface every layer uses and the strided
// matrix view that lets a sub-network run on the top-left block of a supernet weight.
//
// Backends (pure Go, OpenBLAS, CUDA) live in sibling packages and are chosen at run time;
// gemmtest holds the conformance suite every backend passes.
package gemm

import "gonum.org/v1/gonum/blas"

// Backend is a single-precision GEMM with the signature of gonum's blas.Float32Level3 Sgemm:
// row-major C = alpha·op(A)·op(B) + beta·C.
type Backend interface {
	// Name is a short identifier shown to users ("gonum", "openblas", "cublas").
	Name() string
	Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

// Threaded is implemented by backends whose internal thread count can be set. Callers that
// parallelise in Go set it to 1, since nested threading was measured to be slower.
type Threaded interface {
	SetThreads(n int)
}

// Mat is a row-major strided view over a flat slice, shaped like gonum's blas32.General:
// element (i, j) is Data[i*Stride+j]. Data runs from the first element to the last one, so a
// sub-block of a larger matrix shares its parent's memory and keeps its stride.
type Mat struct {
	Rows, Cols, Stride int
	Data               []float32
}

// NewMat returns a dense rows×cols matrix over data, which must hold rows*cols values.
func NewMat(rows, cols int, data []float32) Mat {
	if len(data) < rows*cols {
		panic("gemm: data too short for matrix")
	}
	return Mat{Rows: rows, Cols: cols, Stride: cols, Data: data[:rows*cols]}
}

// Sub views rows [r0,r1) and columns [c0,c1) of m; it shares m.Data.
func (m Mat) Sub(r0, r1, c0, c1 int) Mat {
	if r0 < 0 || c0 < 0 || r1 > m.Rows || c1 > m.Cols || r0 > r1 || c0 > c1 {
		panic("gemm: sub-matrix out of range")
	}
	if r1 == r0 || c1 == c0 {
		return Mat{Rows: r1 - r0, Cols: c1 - c0, Stride: m.Stride}
	}
	return Mat{Rows: r1 - r0, Cols: c1 - c0, Stride: m.Stride, Data: m.Data[r0*m.Stride+c0 : (r1-1)*m.Stride+c1]}
}

// Row returns row i as a slice of length Cols.
func (m Mat) Row(i int) []float32 { return m.Data[i*m.Stride : i*m.Stride+m.Cols] }

// At returns element (i, j).
func (m Mat) At(i, j int) float32 { return m.Data[i*m.Stride+j] }

// Mul computes c = alpha·op(a)·op(b) + beta·c with shape checks done here, once, so kernels can
// trust them. transA/transB say whether a and b are used transposed.
func Mul(be Backend, transA, transB bool, alpha float32, a, b Mat, beta float32, c Mat) {
	m, n, k, ok := MulShape(a.Rows, a.Cols, transA, b.Rows, b.Cols, transB, c.Rows, c.Cols)
	if !ok {
		panic("gemm: shape mismatch in Mul")
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scale(c, beta)
		return
	}
	tA, tB := blas.NoTrans, blas.NoTrans
	if transA {
		tA = blas.Trans
	}
	if transB {
		tB = blas.Trans
	}
	be.Sgemm(tA, tB, m, n, k, alpha, a.Data, a.Stride, b.Data, b.Stride, beta, c.Data, c.Stride)
}

// MulShape gives the m, n, k of c = op(a)·op(b) from the operands' shapes, and whether they
// agree with each other and with c's shape; every backend's Mul checks shapes through it.
func MulShape(aRows, aCols int, transA bool, bRows, bCols int, transB bool, cRows, cCols int) (m, n, k int, ok bool) {
	m, k = aRows, aCols
	if transA {
		m, k = k, m
	}
	kb, n := bRows, bCols
	if transB {
		kb, n = n, kb
	}
	return m, n, k, k == kb && cRows == m && cCols == n
}

func scale(c Mat, beta float32) {
	for i := 0; i < c.Rows; i++ {
		r := c.Row(i)
		for j := range r {
			if beta == 0 {
				r[j] = 0
			} else {
				r[j] *= beta
			}
		}
	}
}

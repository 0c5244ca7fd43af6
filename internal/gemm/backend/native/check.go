package native

import (
	"math"

	"gonum.org/v1/gonum/blas"
)

// Panic messages shared with gonum's blas/gonum (errors.go), so every backend fails the same
// way on the same bug.
const (
	badTranspose = "blas: illegal transpose"
	mLT0         = "blas: m < 0"
	nLT0         = "blas: n < 0"
	kLT0         = "blas: k < 0"
	badLdA       = "blas: bad leading dimension of A"
	badLdB       = "blas: bad leading dimension of B"
	badLdC       = "blas: bad leading dimension of C"
	shortA       = "blas: insufficient length of a"
	shortB       = "blas: insufficient length of b"
	shortC       = "blas: insufficient length of c"
	tooBig       = "native: GEMM dimension exceeds the 32-bit range of the library"
)

// CheckSgemm validates Sgemm arguments exactly as gonum's Sgemm does, panicking with the same
// messages, and also that every dimension fits the 32-bit ints of CBLAS and cuBLAS. lenA, lenB
// and lenC are the lengths of the slices (or device buffers) holding A, B and C. It reports
// whether there is anything to compute: false when m or n is zero.
func CheckSgemm(tA, tB blas.Transpose, m, n, k, lenA, lda, lenB, ldb, lenC, ldc int) bool {
	aTrans := IsTrans(tA)
	bTrans := IsTrans(tB)
	if m < 0 {
		panic(mLT0)
	}
	if n < 0 {
		panic(nLT0)
	}
	if k < 0 {
		panic(kLT0)
	}
	if aTrans {
		if lda < max(1, m) {
			panic(badLdA)
		}
	} else if lda < max(1, k) {
		panic(badLdA)
	}
	if bTrans {
		if ldb < max(1, k) {
			panic(badLdB)
		}
	} else if ldb < max(1, n) {
		panic(badLdB)
	}
	if ldc < max(1, n) {
		panic(badLdC)
	}
	if m == 0 || n == 0 {
		return false
	}
	if aTrans {
		if lenA < (k-1)*lda+m {
			panic(shortA)
		}
	} else if lenA < (m-1)*lda+k {
		panic(shortA)
	}
	if bTrans {
		if lenB < (n-1)*ldb+k {
			panic(shortB)
		}
	} else if lenB < (k-1)*ldb+n {
		panic(shortB)
	}
	if lenC < (m-1)*ldc+n {
		panic(shortC)
	}
	for _, v := range [...]int{m, n, k, lda, ldb, ldc} {
		if v > math.MaxInt32 {
			panic(tooBig)
		}
	}
	return true
}

// IsTrans reports whether t asks for a transpose, panicking on a value that is not a
// transpose at all. For real matrices ConjTrans is Trans.
func IsTrans(t blas.Transpose) bool {
	switch t {
	case blas.NoTrans:
		return false
	case blas.Trans, blas.ConjTrans:
		return true
	}
	panic(badTranspose)
}

// ScaleC sets C = beta·C over its m×n block, the whole result when alpha or k is zero. As in
// the reference BLAS, beta = 0 writes zeros without reading C, so NaNs there do not survive.
func ScaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

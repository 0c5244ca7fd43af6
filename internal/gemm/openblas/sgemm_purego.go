//go:build !(amd64 && linux)

package openblas

import "github.com/resnas/resnas/internal/gemm/backend/native"

// cblasSgemm is cblas_sgemm bound by purego's reflection, for platforms ccall does not cover;
// each call allocates.
type cblasSgemm func(order, tA, tB, m, n, k int32, alpha float32, a []float32, lda int32, b []float32, ldb int32, beta float32, c []float32, ldc int32)

func bindSgemm(lib native.Library) (cblasSgemm, error) {
	var fn cblasSgemm
	err := lib.Bind(native.Symbol{Name: "cblas_sgemm", Fn: &fn})
	return fn, err
}

func (fn cblasSgemm) call(order, tA, tB, m, n, k int32, alpha float32, a []float32, lda int32, b []float32, ldb int32, beta float32, c []float32, ldc int32) {
	fn(order, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

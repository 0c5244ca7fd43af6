// Package gonum is the always-available pure-Go GEMM backend, gonum's blas/gonum Sgemm.
package gonum

import (
	"gonum.org/v1/gonum/blas"
	gblas "gonum.org/v1/gonum/blas/gonum"
)

// Backend runs Sgemm with gonum's pure-Go implementation (which parallelises internally).
type Backend struct{ impl gblas.Implementation }

// New returns the pure-Go backend.
func New() *Backend { return &Backend{} }

// Name implements gemm.Backend.
func (*Backend) Name() string { return "gonum" }

// Sgemm implements gemm.Backend.
func (b *Backend) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int) {
	b.impl.Sgemm(tA, tB, m, n, k, alpha, a, lda, bb, ldb, beta, c, ldc)
}

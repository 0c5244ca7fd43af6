package gemmtest

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"

	"github.com/resnas/resnas/internal/gemm"
)

// Shape is one benchmarked GEMM: C (M×N) = op(A)·op(B) with inner dimension K.
type Shape struct {
	M, N, K int
	TA, TB  blas.Transpose
}

// Name is "MxNxK", with the transposes appended when either is set ("197x197x64_NT").
func (s Shape) Name() string {
	name := fmt.Sprintf("%dx%dx%d", s.M, s.N, s.K)
	if s.TA != blas.NoTrans || s.TB != blas.NoTrans {
		name += fmt.Sprintf("_%c%c", s.TA, s.TB)
	}
	return name
}

// BenchShapes are the model's GEMMs (one image of a DeiT-Ti-sized stage, a later
// ViT-ResNAS stage, attention of one head, a batch-64 qkv projection) and a square reference.
func BenchShapes() []Shape {
	nn, nt := blas.NoTrans, blas.Trans
	return []Shape{
		{197, 192, 576, nn, nn},
		{197, 576, 192, nn, nt},
		{197, 197, 64, nn, nt},
		{197, 64, 197, nn, nn},
		{65, 352, 1408, nn, nn},
		{12608, 576, 192, nn, nt},
		{1024, 1024, 1024, nn, nn},
	}
}

// BenchmarkSgemm times be.Sgemm on each of BenchShapes as a sub-benchmark named by its shape,
// reporting GFLOP/s. The same body runs for every backend, so results compare with benchstat.
func BenchmarkSgemm(b *testing.B, be gemm.Backend) {
	for _, s := range BenchShapes() {
		b.Run(s.Name(), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(9, 10))
			aRows, aCols := opShape(s.TA, s.M, s.K)
			bRows, bCols := opShape(s.TB, s.K, s.N)
			x := randMat(rng, aRows, aCols)
			y := randMat(rng, bRows, bCols)
			z := randMat(rng, s.M, s.N)
			for b.Loop() {
				be.Sgemm(s.TA, s.TB, s.M, s.N, s.K, 1, x.Data, x.Stride, y.Data, y.Stride, 0, z.Data, z.Stride)
			}
			b.ReportMetric(2*float64(s.M)*float64(s.N)*float64(s.K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

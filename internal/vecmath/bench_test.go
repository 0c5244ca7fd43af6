package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Benchmarks report ns per element for the assembly, the pure-Go kernels and the scalar
// loops they replace (model/kernels.go), at the row lengths of the small models (16, 65 tokens,
// widths 257 with a class token, 1024 for MLP rows).
//
//	go test -run - -bench . ./internal/vecmath

var benchLengths = []int{16, 65, 257, 1024}

type benchImpl struct {
	name string
	run  func(n int) func()
}

func benchRow(n int, mean, spread float64) []float32 {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(mean + spread*r.NormFloat64())
	}
	return x
}

func runBench(b *testing.B, impls []benchImpl) {
	for _, n := range benchLengths {
		for _, im := range impls {
			if strings.HasPrefix(im.name, "avx2") && !useAVX2 {
				continue
			}
			b.Run(fmt.Sprintf("n=%d/%s", n, im.name), func(b *testing.B) {
				f := im.run(n)
				for b.Loop() {
					f()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
			})
		}
	}
}

// scalarSoftmax and scalarLayerNorm are the loops of model/kernels.go.
func scalarSoftmax(row []float32) {
	mx := row[0]
	for _, v := range row[1:] {
		if v > mx {
			mx = v
		}
	}
	var sum float32
	for i, v := range row {
		e := scalarExpf(v - mx)
		row[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range row {
		row[i] *= inv
	}
}

func scalarLayerNorm(y, x, w, b []float32) {
	n := len(x)
	var s, sq float64
	for _, v := range x {
		s += float64(v)
	}
	mean := s / float64(n)
	for _, v := range x {
		d := float64(v) - mean
		sq += d * d
	}
	rstd := float32(1 / math.Sqrt(sq/float64(n)+1e-6))
	m := float32(mean)
	for i, v := range x {
		y[i] = (v-m)*rstd*w[i] + b[i]
	}
}

func BenchmarkSoftmax(b *testing.B) {
	mk := func(avx2 bool) func(n int) func() {
		return func(n int) func() {
			x := benchRow(n, 0, 3)
			return func() { softmax(x, x, 1, avx2) }
		}
	}
	runBench(b, []benchImpl{
		{"scalar", func(n int) func() {
			x := benchRow(n, 0, 3)
			return func() { scalarSoftmax(x) }
		}},
		{"go", mk(false)},
		{"avx2", mk(true)},
	})
}

func BenchmarkBiasGELU(b *testing.B) {
	mk := func(avx2 bool) func(n int) func() {
		return func(n int) func() {
			x, bias := benchRow(n, 0, 2), benchRow(n, 0, 0.1)
			orig := append([]float32(nil), x...)
			return func() {
				copy(x, orig) // keep the inputs in range; the copy costs the same for all
				biasGELU(x, bias, avx2)
			}
		}
	}
	runBench(b, []benchImpl{
		{"scalar", func(n int) func() {
			x, bias := benchRow(n, 0, 2), benchRow(n, 0, 0.1)
			orig := append([]float32(nil), x...)
			return func() {
				copy(x, orig)
				for i, v := range x {
					x[i] = scalarGELU(v + bias[i])
				}
			}
		}},
		{"go", mk(false)},
		{"avx2", mk(true)}, // the 16-lane kernel where the CPU has AVX-512
		{"avx2-8lane", func(n int) func() {
			x, bias := benchRow(n, 0, 2), benchRow(n, 0, 0.1)
			orig := append([]float32(nil), x...)
			return func() {
				copy(x, orig)
				biasGELUAVX2(&x[0], &bias[0], n)
			}
		}},
	})
}

func BenchmarkGELUDeriv(b *testing.B) {
	mk := func(avx2 bool) func(n int) func() {
		return func(n int) func() {
			x := benchRow(n, 0, 2)
			y, d := make([]float32, n), make([]float32, n)
			return func() { geluDerivVec(y, d, x, avx2) }
		}
	}
	runBench(b, []benchImpl{{"go", mk(false)}, {"avx2", mk(true)}})
}

func BenchmarkLayerNorm(b *testing.B) {
	setup := func(n int) (y, x, w, bb []float32) {
		return make([]float32, n), benchRow(n, 0.5, 2), benchRow(n, 1, 0.2), benchRow(n, 0, 0.2)
	}
	mk := func(avx2 bool) func(n int) func() {
		return func(n int) func() {
			y, x, w, bb := setup(n)
			return func() { layerNorm(y, x, w, bb, 1e-6, avx2) }
		}
	}
	runBench(b, []benchImpl{
		{"scalar", func(n int) func() {
			y, x, w, bb := setup(n)
			return func() { scalarLayerNorm(y, x, w, bb) }
		}},
		{"go", mk(false)},
		{"avx2", mk(true)},
	})
}

func BenchmarkLayerNormBackward(b *testing.B) {
	mk := func(avx2 bool) func(n int) func() {
		return func(n int) func() {
			dx, dy, x, w := make([]float32, n), benchRow(n, 0, 1), benchRow(n, 0.5, 2), benchRow(n, 1, 0.2)
			dw, db := make([]float32, n), make([]float32, n)
			return func() {
				layerNormBackward(dx, dy, x, w, 0.5, 0.5, avx2)
				layerNormParamGrad(dw, db, dy, x, 0.5, 0.5, avx2)
			}
		}
	}
	runBench(b, []benchImpl{{"go", mk(false)}, {"avx2", mk(true)}})
}

func BenchmarkExp(b *testing.B) {
	mk := func(avx2 bool) func(n int) func() {
		return func(n int) func() {
			x := benchRow(n, 0, 3)
			orig := append([]float32(nil), x...)
			return func() {
				copy(x, orig)
				exp(x, avx2)
			}
		}
	}
	runBench(b, []benchImpl{{"go", mk(false)}, {"avx2", mk(true)}})
}

func BenchmarkDot(b *testing.B) {
	mk := func(avx2 bool) func(n int) func() {
		return func(n int) func() {
			x, y := benchRow(n, 0, 1), benchRow(n, 0, 1)
			return func() { dot(x, y, avx2) }
		}
	}
	runBench(b, []benchImpl{{"go", mk(false)}, {"avx2", mk(true)}})
}

func BenchmarkAdd(b *testing.B) {
	mk := func(avx2 bool) func(n int) func() {
		return func(n int) func() {
			x, y := benchRow(n, 0, 1), make([]float32, n)
			return func() { add(y, x, avx2) }
		}
	}
	runBench(b, []benchImpl{{"go", mk(false)}, {"avx2", mk(true)}})
}

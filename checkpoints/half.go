package checkpoints

import "github.com/resnas/resnas/model"

// The IEEE 754 binary16 conversions this package's readers and writers use are model's
// (model.HalfToFloat32, model.Float32ToHalf, model.FitsHalf, model/half.go).

// scratch is the float32 buffer a float16 load decodes each tensor into before rounding it,
// grown to the largest tensor and reused, so such a load allocates no float32 copy of the
// weights, not even as garbage.
type scratch struct{ buf []float32 }

// values returns n float32 slots: of the scratch buffer when half, else newly allocated.
func (s *scratch) values(n int, half bool) []float32 {
	if !half {
		return make([]float32, n)
	}
	if cap(s.buf) < n {
		s.buf = make([]float32, n)
	}
	return s.buf[:n]
}

// keepHalf turns a tensor decoded into scratch into one the weights keep: float16, or a
// float32 copy when a value would overflow float16 (model.Tensor.ToHalf).
func keepHalf(t model.Tensor) model.Tensor {
	if h := t.ToHalf(); h.IsHalf() {
		return h
	}
	return model.Tensor{Shape: t.Shape, Data: append([]float32(nil), t.Data...)}
}

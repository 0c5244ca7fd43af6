package nn

import "github.com/resnas/resnas/internal/gemm"

// SoftmaxForward writes y = softmax(scale·x) row by row (y may alias x). x, y (N, C);
// scale must be positive.
func SoftmaxForward(e *Exec, y, x gemm.Mat, scale float32) {
	e.For(x.Rows, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			softmaxRow(row(y, i), row(x, i), scale)
		}
	})
}

func softmaxRow(y, x []float32, scale float32) {
	if len(x) == 0 {
		return
	}
	if scale != 1 {
		for j, v := range x {
			y[j] = v * scale
		}
	} else if &y[0] != &x[0] {
		copy(y, x)
	}
	if mx, s, n, ok := softmaxVector(y); ok {
		tail := y[n:]
		for j, v := range tail {
			tail[j] = v - mx
		}
		expNeg(tail)
		for _, p := range tail {
			s += p
		}
		inv := 1 / s
		for j := range y {
			y[j] *= inv
		}
		return
	}
	mx := y[0]
	for _, v := range y {
		mx = max(mx, v)
	}
	for j, v := range y {
		y[j] = v - mx
	}
	expNeg(y)
	var s float32
	for _, p := range y {
		s += p
	}
	inv := 1 / s
	for j := range y {
		y[j] *= inv
	}
}

// SoftmaxBackward adds dx += scale·y⊙(dy − Σ_j dy_j·y_j) row by row, where y is the forward
// output. dx must not alias dy.
func SoftmaxBackward(e *Exec, dx, dy, y gemm.Mat, scale float32) {
	e.For(y.Rows, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			softmaxBackwardRow(row(dx, i), row(dy, i), row(y, i), scale)
		}
	})
}

func softmaxBackwardRow(dx, dy, y []float32, scale float32) {
	var dot float32
	for j, p := range y {
		dot += dy[j] * p
	}
	for j, p := range y {
		dx[j] += scale * p * (dy[j] - dot)
	}
}

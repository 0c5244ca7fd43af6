package nn

import (
	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/vecmath"
)

// SoftmaxForward writes y = softmax(scale·x) row by row (y may alias x). x, y (N, C);
// scale must be positive.
func SoftmaxForward(e *Exec, y, x gemm.Mat, scale float32) {
	if e.serial(x.Rows, 16) {
		softmaxRows(y, x, scale, 0, x.Rows)
		return
	}
	e.For(x.Rows, 16, func(lo, hi int) { softmaxRows(y, x, scale, lo, hi) })
}

func softmaxRows(y, x gemm.Mat, scale float32, lo, hi int) {
	for i := lo; i < hi; i++ {
		vecmath.Softmax(row(y, i), row(x, i), scale)
	}
}

// SoftmaxBackward adds dx += scale·y⊙(dy − Σ_j dy_j·y_j) row by row, where y is the forward
// output. dx may alias dy.
func SoftmaxBackward(e *Exec, dx, dy, y gemm.Mat, scale float32) {
	if e.serial(y.Rows, 16) {
		softmaxBackwardRows(dx, dy, y, scale, 0, y.Rows)
		return
	}
	e.For(y.Rows, 16, func(lo, hi int) { softmaxBackwardRows(dx, dy, y, scale, lo, hi) })
}

func softmaxBackwardRows(dx, dy, y gemm.Mat, scale float32, lo, hi int) {
	for i := lo; i < hi; i++ {
		vecmath.SoftmaxBackward(row(dx, i), row(dy, i), row(y, i), scale)
	}
}

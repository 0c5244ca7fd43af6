package nn

import "github.com/resnas/resnas/internal/gemm"

// LinearForward computes y = x·wᵀ + b.
//
//	x (N, in), w (out, in) — usually a sub-block view of a max-size weight —, b (out) or nil,
//	y (N, out).
//
// With a bias, y's rows start as b and the GEMM adds into them (beta = 1), as addmm does:
// with beta = 0 the BLAS library clears y first, and the bias would take a pass of its own.
func LinearForward(e *Exec, y, x, w gemm.Mat, b []float32) {
	if b == nil {
		e.Mul(false, true, 1, x, w, 0, y)
		return
	}
	if e.serial(y.Rows, 256) {
		fillRows(y, b, 0, y.Rows)
	} else {
		e.For(y.Rows, 256, func(lo, hi int) { fillRows(y, b, lo, hi) })
	}
	e.Mul(false, true, 1, x, w, 1, y)
}

// fillRows sets rows [lo, hi) of y to b.
func fillRows(y gemm.Mat, b []float32, lo, hi int) {
	b = b[:y.Cols]
	for i := lo; i < hi; i++ {
		copy(row(y, i), b)
	}
}

// LinearBackward adds the gradients of y = x·wᵀ + b:
//
//	dx += dy·w (skipped when dx has no rows), dw += dyᵀ·x, db += Σ_rows dy (skipped when nil).
//
// dw is the same sub-block view of the max-size gradient as w of the weight, so a sub-network's
// gradient lands exactly on the weights it used.
func LinearBackward(e *Exec, dx, dw gemm.Mat, db []float32, dy, x, w gemm.Mat) {
	if dx.Rows > 0 {
		e.Mul(false, false, 1, dy, w, 1, dx)
	}
	// dwᵀ rows are split across workers by e.Mul through the transposed operand.
	e.Mul(true, false, 1, dy, x, 1, dw)
	if db != nil {
		ColumnSums(e, db[:dy.Cols], dy)
	}
}

// ColumnSums adds the column sums of m into s (len m.Cols), as the GEMM s += 1ᵀ·m: the BLAS
// library's vector code sums in a fixed order, faster than strided Go loops.
func ColumnSums(e *Exec, s []float32, m gemm.Mat) {
	if m.Rows == 0 {
		return
	}
	e.Mul(false, false, 1, e.onesRow(m.Rows), m, 1, gemm.NewMat(1, m.Cols, s[:m.Cols]))
}

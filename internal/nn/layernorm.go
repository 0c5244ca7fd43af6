package nn

import (
	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/vecmath"
)

// LNEps is the epsilon of every LayerNorm in the reference (MaskedLayerNorm, eps 1e-6).
const LNEps = 1e-6

// LayerNormForward normalises each row of x over its columns:
//
//	y = (x − mean)·rstd·w + b,   rstd = 1/sqrt(var + LNEps) (biased variance)
//
// x, y (N, C); w, b (≥ C; the first C are used, as a sub-network slices a max-size LN);
// mean, rstd (N) are written for the backward pass (vecmath.LayerNorm computes them).
// y may alias x only if backward is not needed.
func LayerNormForward(e *Exec, y, x gemm.Mat, w, b, mean, rstd []float32) {
	if e.serial(x.Rows, 32) {
		layerNormRows(y, x, w, b, mean, rstd, 0, x.Rows)
		return
	}
	e.For(x.Rows, 32, func(lo, hi int) { layerNormRows(y, x, w, b, mean, rstd, lo, hi) })
}

func layerNormRows(y, x gemm.Mat, w, b, mean, rstd []float32, lo, hi int) {
	w, b = w[:x.Cols], b[:x.Cols]
	for i := lo; i < hi; i++ {
		mean[i], rstd[i] = vecmath.LayerNorm(row(y, i), row(x, i), w, b, LNEps)
	}
}

// LayerNormBackward adds the gradients of LayerNormForward:
//
//	dx += rstd·(g − mean(g) − x̂·mean(g·x̂)),  g = dy·w,  x̂ = (x − mean)·rstd
//	dw += Σ_rows dy·x̂,  db += Σ_rows dy
//
// Shapes as in LayerNormForward; dw, db are (≥ C) max-size gradients, the first C updated.
func LayerNormBackward(e *Exec, dx gemm.Mat, dw, db []float32, dy, x gemm.Mat, w, mean, rstd []float32) {
	c := x.Cols
	w, dw, db = w[:c], dw[:c], db[:c]
	// Parameter gradients: with one worker row by row; with more, split by columns so each
	// column is still summed in row order (deterministic).
	if e.serial(c, 16) || c < 32 {
		lnParamGradCols(dw, db, dy, x, mean, rstd, 0, c)
	} else {
		e.For(c, 16, func(lo, hi int) { lnParamGradCols(dw, db, dy, x, mean, rstd, lo, hi) })
	}
	if e.serial(x.Rows, 32) {
		lnBackwardRows(dx, dy, x, w, mean, rstd, 0, x.Rows)
		return
	}
	e.For(x.Rows, 32, func(lo, hi int) { lnBackwardRows(dx, dy, x, w, mean, rstd, lo, hi) })
}

// lnParamGradCols adds columns [lo, hi) of LayerNorm's weight and bias gradients.
func lnParamGradCols(dw, db []float32, dy, x gemm.Mat, mean, rstd []float32, lo, hi int) {
	for i := 0; i < x.Rows; i++ {
		vecmath.LayerNormParamGrad(dw[lo:hi], db[lo:hi], row(dy, i)[lo:hi], row(x, i)[lo:hi], mean[i], rstd[i])
	}
}

func lnBackwardRows(dx, dy, x gemm.Mat, w, mean, rstd []float32, lo, hi int) {
	for i := lo; i < hi; i++ {
		vecmath.LayerNormBackward(row(dx, i), row(dy, i), row(x, i), w, mean[i], rstd[i])
	}
}

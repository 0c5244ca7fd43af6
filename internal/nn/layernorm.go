package nn

import (
	"math"

	"github.com/resnas/resnas/internal/gemm"
)

// LNEps is the epsilon of every LayerNorm in the reference (MaskedLayerNorm, eps 1e-6).
const LNEps = 1e-6

// LayerNormForward normalises each row of x over its columns:
//
//	y = (x − mean)·rstd·w + b,   rstd = 1/sqrt(var + LNEps) (biased variance)
//
// x, y (N, C); w, b (≥ C; the first C are used, as a sub-network slices a max-size LN);
// mean, rstd (N) are written for the backward pass. Statistics are two-pass float32 sums
// (mean, then squared deviations), as PyTorch's CPU kernel accumulates in float32 too.
// y may alias x only if backward is not needed.
func LayerNormForward(e *Exec, y, x gemm.Mat, w, b, mean, rstd []float32) {
	c := x.Cols
	w, b = w[:c], b[:c]
	e.For(x.Rows, 32, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xr := row(x, i)
			var s0, s1 float32 // two accumulators halve the dependency chain
			j := 0
			for ; j+1 < len(xr); j += 2 {
				s0 += xr[j]
				s1 += xr[j+1]
			}
			if j < len(xr) {
				s0 += xr[j]
			}
			m := (s0 + s1) / float32(c)
			var q0, q1 float32
			j = 0
			for ; j+1 < len(xr); j += 2 {
				d0, d1 := xr[j]-m, xr[j+1]-m
				q0 += d0 * d0
				q1 += d1 * d1
			}
			if j < len(xr) {
				d := xr[j] - m
				q0 += d * d
			}
			r := float32(1 / math.Sqrt(float64((q0+q1)/float32(c))+LNEps))
			mean[i], rstd[i] = m, r
			yr := row(y, i)
			for j, v := range xr {
				yr[j] = (v-m)*r*w[j] + b[j]
			}
		}
	})
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
	e.For(x.Rows, 32, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xr, dyr, dxr := row(x, i), row(dy, i), row(dx, i)
			m, r := mean[i], rstd[i]
			var sg, sgx float32
			for j, v := range xr {
				g := dyr[j] * w[j]
				sg += g
				sgx += g * (v - m) * r
			}
			sg /= float32(c)
			sgx /= float32(c)
			for j, v := range xr {
				xh := (v - m) * r
				dxr[j] += r * (dyr[j]*w[j] - sg - xh*sgx)
			}
		}
	})
	// Parameter gradients: split by columns so each is summed in row order (deterministic).
	e.For(c, 16, func(lo, hi int) {
		for i := 0; i < x.Rows; i++ {
			xr, dyr := row(x, i), row(dy, i)
			m, r := mean[i], rstd[i]
			for j := lo; j < hi; j++ {
				dw[j] += dyr[j] * (xr[j] - m) * r
				db[j] += dyr[j]
			}
		}
	})
}

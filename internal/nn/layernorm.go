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
// mean, rstd (N) are written for the backward pass. Statistics are accumulated in float64.
// y may alias x only if backward is not needed.
func LayerNormForward(e *Exec, y, x gemm.Mat, w, b, mean, rstd []float32) {
	c := x.Cols
	w, b = w[:c], b[:c]
	e.For(x.Rows, 32, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xr := row(x, i)
			var s float64
			for _, v := range xr {
				s += float64(v)
			}
			m := s / float64(c)
			var ss float64
			for _, v := range xr {
				d := float64(v) - m
				ss += d * d
			}
			r := 1 / math.Sqrt(ss/float64(c)+LNEps)
			mean[i], rstd[i] = float32(m), float32(r)
			yr := row(y, i)
			mf, rf := float32(m), float32(r)
			for j, v := range xr {
				yr[j] = (v-mf)*rf*w[j] + b[j]
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

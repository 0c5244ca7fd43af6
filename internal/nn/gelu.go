package nn

import "math"

// GELUForward computes y = x·Φ(x) (exact erf form, nn.GELU()). y may alias x only if backward
// is not needed, since backward reads x.
func GELUForward(e *Exec, y, x []float32) {
	y = y[:len(x)]
	e.For(len(x), 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float64(x[i])
			y[i] = float32(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
		}
	})
}

// GELUBackward adds dx += dy·(Φ(x) + x·φ(x)).
func GELUBackward(e *Exec, dx, x, dy []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	const invSqrt2Pi = 0.3989422804014327
	e.For(len(x), 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float64(x[i])
			cdf := 0.5 * (1 + math.Erf(v/math.Sqrt2))
			pdf := invSqrt2Pi * math.Exp(-0.5*v*v)
			dx[i] += dy[i] * float32(cdf+v*pdf)
		}
	})
}

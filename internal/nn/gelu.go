package nn

// GELUForward computes y = x·Φ(x) (exact erf form, nn.GELU()). y may alias x only if backward
// is not needed, since backward reads x.
func GELUForward(e *Exec, y, x []float32) {
	y = y[:len(x)]
	e.For(len(x), 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := x[i]
			y[i] = 0.5 * v * (1 + erff(v*invSqrt2))
		}
	})
}

// GELUBackward adds dx += dy·(Φ(x) + x·φ(x)).
func GELUBackward(e *Exec, dx, x, dy []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	e.For(len(x), 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := x[i]
			cdf := 0.5 * (1 + erff(v*invSqrt2))
			pdf := invSqrt2Pi * expf(-0.5*v*v)
			dx[i] += dy[i] * (cdf + v*pdf)
		}
	})
}

const (
	invSqrt2   = 0.7071067811865476
	invSqrt2Pi = 0.3989422804014327
)

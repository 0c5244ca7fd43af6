package nn

// GELUForward computes y = x·Φ(x) (exact erf form, nn.GELU()) and, when d is not nil, the
// derivative d = Φ(x) + x·φ(x) that GELUBackward needs, so backward evaluates no
// transcendental function. d may alias x (each element is read before it is written); y may
// alias x only when d is nil.
func GELUForward(e *Exec, y, d, x []float32) {
	y = y[:len(x)]
	e.For(len(x), 4096, func(lo, hi int) {
		for b := lo; b < hi; b += geluBlock {
			n := min(geluBlock, hi-b)
			var dd []float32
			if d != nil {
				dd = d[b : b+n]
			}
			v := geluVector(y[b:b+n], dd, x[b:b+n])
			if v < n {
				if dd != nil {
					dd = dd[v:]
				}
				geluForwardBlock(y[b+v:b+n], dd, x[b+v:b+n])
			}
		}
	})
}

const geluBlock = 256

// geluForwardBlock is GELUForward on at most geluBlock values, through a local copy of x so
// that d may alias it, with the Gaussian density's exponentials computed in one expNeg pass.
func geluForwardBlock(y, d, x []float32) {
	var v, pdf [geluBlock]float32
	n := copy(v[:], x)
	if d != nil {
		for i := 0; i < n; i++ {
			pdf[i] = -0.5 * v[i] * v[i]
		}
		expNeg(pdf[:n])
	}
	for i := 0; i < n; i++ {
		cdf := 0.5 * (1 + erff(v[i]*invSqrt2))
		if d != nil {
			d[i] = cdf + v[i]*invSqrt2Pi*pdf[i]
		}
		y[i] = v[i] * cdf
	}
}

// GELUBackward adds dx += dy·d, with d the derivative GELUForward saved.
func GELUBackward(e *Exec, dx, d, dy []float32) {
	dx, dy = dx[:len(d)], dy[:len(d)]
	e.For(len(d), 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dx[i] += dy[i] * d[i]
		}
	})
}

const (
	invSqrt2   = 0.7071067811865476
	invSqrt2Pi = 0.3989422804014327
)

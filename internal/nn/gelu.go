package nn

import "github.com/resnas/resnas/internal/vecmath"

// GELUForward computes y = x·Φ(x) (exact erf form, nn.GELU()) and, when d is not nil, the
// derivative d = Φ(x) + x·φ(x) that GELUBackward needs, so backward evaluates no
// transcendental function. d may alias x; y may alias x, but not d.
func GELUForward(e *Exec, y, d, x []float32) {
	if e.serial(len(x), 4096) {
		geluRange(y, d, x, 0, len(x))
		return
	}
	e.For(len(x), 4096, func(lo, hi int) { geluRange(y, d, x, lo, hi) })
}

func geluRange(y, d, x []float32, lo, hi int) {
	if d == nil {
		vecmath.GELU(y[lo:hi], x[lo:hi])
		return
	}
	vecmath.GELUDeriv(y[lo:hi], d[lo:hi], x[lo:hi])
}

// GELUBackward adds dx += dy·d, with d the derivative GELUForward saved.
func GELUBackward(e *Exec, dx, d, dy []float32) {
	if e.serial(len(d), 4096) {
		vecmath.MulAdd(dx[:len(d)], dy[:len(d)], d)
		return
	}
	e.For(len(d), 4096, func(lo, hi int) { vecmath.MulAdd(dx[lo:hi], dy[lo:hi], d[lo:hi]) })
}

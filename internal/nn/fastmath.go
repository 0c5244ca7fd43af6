package nn

import "math"

// Float32 exp and erf for softmax and GELU: the float64 math package calls cost more than the
// GEMMs around them (measured: erf and exp were 55% of a training step).

// expf is Cephes' expf: e^x = 2^n·e^r, |r| ≤ ln2/2, with a degree-6 polynomial for e^r; within
// 2 float32 ulps of math.Exp on [-87, 88] (fastmath_test.go).
func expf(x float32) float32 {
	if x < -87.33 {
		return 0
	}
	if x > 88.72 {
		return float32(math.Inf(1))
	}
	fx := x*1.44269504088896341 + 0.5
	n := int32(fx)
	if float32(n) > fx {
		n-- // floor for negative values
	}
	fn := float32(n)
	x = x - fn*0.693359375 - fn*-2.12194440e-4
	z := x * x
	y := ((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x + 5.0000001201e-1
	y = y*z + x + 1
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// erff is the rational approximation of erf used by Eigen and XLA for float32, on x clamped
// to [-4, 4] (beyond which erf is ±1 in float32).
func erff(x float32) float32 {
	x = min(max(x, -4), 4)
	x2 := x * x
	p := x2*-2.72614225801306e-10 + 2.77068142495902e-08
	p = p*x2 + -2.10102402082508e-06
	p = p*x2 + -5.69250639462346e-05
	p = p*x2 + -7.34990630326855e-04
	p = p*x2 + -2.95459980854025e-03
	p = p*x2 + -1.60960333262415e-02
	p *= x
	q := x2*-1.45660718464996e-05 + -2.13374055278905e-04
	q = q*x2 + -1.68282697438203e-03
	q = q*x2 + -7.37332916720468e-03
	q = q*x2 + -1.42647390514189e-02
	return p / q
}

// expNeg replaces every x[i] ≤ 0 by e^x[i] (expf's method inlined in one loop: the
// iterations overlap, twice as fast as calling expf per element; 8 at a time with AVX2 where
// the CPU has it). Inputs must not be positive: softmax arguments after subtracting the row
// maximum, and −x²/2 in GELU.
func expNeg(x []float32) {
	x = x[expNegVector(x):]
	for i, v := range x {
		if v < -87 {
			x[i] = 0
			continue
		}
		// n = round(v·log2 e) (truncation of a non-positive value minus ½), r = v − n·ln 2.
		n := int32(v*1.44269504088896341 - 0.5)
		fn := float32(n)
		r := v - fn*0.693359375 - fn*-2.12194440e-4
		z := r * r
		y := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
		y = y*z + r + 1
		x[i] = y * math.Float32frombits(uint32(n+127)<<23)
	}
}

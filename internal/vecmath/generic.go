package vecmath

import "math"

// Pure-Go kernels: the fallback on CPUs without AVX2+FMA and the reference the assembly is
// tested against. They follow the assembly step by step (same polynomials, same reduction
// tree), so the two differ only where the assembly fuses a multiply and an add.

// Cephes expf: e^x = 2^n·e^r with n = round(x·log2 e), |r| ≤ ln2/2, and a degree-6
// polynomial for e^r. ln 2 is split in two so that r = x − n·ln2 loses no bits.
const (
	log2e = 1.44269504088896341
	ln2Hi = 0.693359375
	ln2Lo = -2.12194440e-4
	expP0 = 1.9875691500e-4
	expP1 = 1.3981999507e-3
	expP2 = 8.3334519073e-3
	expP3 = 4.1665795894e-2
	expP4 = 1.6666665459e-1
	expP5 = 5.0000001201e-1
	// Below expMin e^x is under float32's normal range and flushes to 0; above expMax it
	// overflows to +Inf (the scalar code's thresholds).
	expMin = -87.33
	expMax = 88.72
	// Adding and subtracting 1.5·2²³ rounds a float32 of magnitude < 2²² to the nearest
	// integer, ties to even, as VROUNDPS does.
	roundMagic = 0x1.8p23
)

// The rational approximation of erf that Eigen and XLA use for float32, valid on [-4, 4]
// (beyond which erf rounds to ±1): erf(x) ≈ x·P(x²)/Q(x²).
const (
	erfClamp = 4
	erfA0    = -2.72614225801306e-10
	erfA1    = 2.77068142495902e-08
	erfA2    = -2.10102402082508e-06
	erfA3    = -5.69250639462346e-05
	erfA4    = -7.34990630326855e-04
	erfA5    = -2.95459980854025e-03
	erfA6    = -1.60960333262415e-02
	erfB0    = -1.45660718464996e-05
	erfB1    = -2.13374055278905e-04
	erfB2    = -1.68282697438203e-03
	erfB3    = -7.37332916720468e-03
	erfB4    = -1.42647390514189e-02

	invSqrt2   = 0.7071067811865476 // 1/√2
	invSqrt2Pi = 0.3989422804014327 // 1/√(2π)
)

// pow2 is 2^n for n in [-126, 127], built from the exponent bits.
func pow2(n int32) float32 { return math.Float32frombits(uint32(n+127) << 23) }

// expPoly returns e^r for |r| ≤ ln2/2 given r, the reduced argument.
func expPoly(r float32) float32 {
	y := ((((expP0*r+expP1)*r+expP2)*r+expP3)*r+expP4)*r + expP5
	return y*(r*r) + r + 1
}

// erff is erf(x) on x clamped to [-4, 4]; NaN stays NaN.
func erff(x float32) float32 {
	x = min(max(x, -erfClamp), erfClamp)
	s := x * x
	p := ((((((erfA0*s+erfA1)*s+erfA2)*s+erfA3)*s+erfA4)*s+erfA5)*s + erfA6) * x
	q := (((erfB0*s+erfB1)*s+erfB2)*s+erfB3)*s + erfB4
	return p / q
}

// gelu is x·Φ(x) = h + h·erf(x/√2) with h = x/2.
func gelu(x float32) float32 {
	h := 0.5 * x
	return h*erff(x*invSqrt2) + h
}

// expGo is Exp. The loops below inline the exponential by hand: a call per element (too
// big for the compiler to inline) keeps the iterations from overlapping and costs 2×.
// 2^n is applied as two factors so that n = 128 (x in (88.38, 88.72]) does not overflow early.
func expGo(x []float32) {
	for i, v := range x {
		if v < expMin {
			x[i] = 0
			continue
		}
		if v > expMax {
			x[i] = float32(math.Inf(1))
			continue
		}
		fn := v*log2e + roundMagic - roundMagic
		r := v - fn*ln2Hi - fn*ln2Lo
		n := int32(fn)
		h := n >> 1
		x[i] = expPoly(r) * pow2(h) * pow2(n-h) // NaN stays NaN
	}
}

// expNonPosGo replaces every x[i] ≤ 0 (or NaN) by e^x[i], flushing to 0 below expMin: the
// softmax's arguments after subtracting the row maximum and −x²/2 in the Gaussian density,
// where n ≥ -126 and one factor 2^n suffices.
func expNonPosGo(x []float32) {
	for i, v := range x {
		if v < expMin {
			x[i] = 0
			continue
		}
		fn := v*log2e + roundMagic - roundMagic
		r := v - fn*ln2Hi - fn*ln2Lo
		x[i] = expPoly(r) * pow2(int32(fn))
	}
}

// softmaxGo writes y = exp((x − max x)·scale) / Σ. A NaN anywhere makes the whole row NaN
// (through the sum), as does +Inf (Inf − Inf).
func softmaxGo(y, x []float32, scale float32) {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		if v > mx {
			mx = v
		}
	}
	for i, v := range x {
		y[i] = (v - mx) * scale
	}
	expNonPosGo(y)
	var acc [8]float32
	for i, e := range y {
		acc[i&7] += e
	}
	inv := 1 / reduce8(&acc)
	for i := range y {
		y[i] *= inv
	}
}

func geluGo(y, x []float32) {
	for i, v := range x {
		y[i] = gelu(v)
	}
}

func biasGELUGo(x, bias []float32) {
	for i, v := range x {
		x[i] = gelu(v + bias[i])
	}
}

// geluBlock is how many Gaussian densities geluDerivGo and geluGradGo compute per
// expNonPosGo pass, in a stack buffer.
const geluBlock = 64

// geluDerivGo writes y = GELU(x) and d = Φ(x) + x·φ(x), with Φ = ½erf(x/√2) + ½ and
// φ = e^(−x²/2)/√(2π). y and d may alias x: each x[i] is read before y[i], d[i] are written.
func geluDerivGo(y, d, x []float32) {
	var pdf [geluBlock]float32
	for len(x) > 0 {
		n := min(len(x), geluBlock)
		for i, v := range x[:n] {
			pdf[i] = -0.5 * (v * v)
		}
		expNonPosGo(pdf[:n])
		for i, v := range x[:n] {
			e := erff(v * invSqrt2)
			h := 0.5 * v
			y[i], d[i] = h*e+h, v*(invSqrt2Pi*pdf[i])+(0.5*e+0.5)
		}
		x, y, d = x[n:], y[n:], d[n:]
	}
}

// geluGradGo adds dx += dy·(Φ(x) + x·φ(x)), computed as in geluDerivGo.
func geluGradGo(dx, dy, x []float32) {
	var pdf [geluBlock]float32
	for len(x) > 0 {
		n := min(len(x), geluBlock)
		for i, v := range x[:n] {
			pdf[i] = -0.5 * (v * v)
		}
		expNonPosGo(pdf[:n])
		for i, v := range x[:n] {
			e := erff(v * invSqrt2)
			dx[i] += dy[i] * (v*(invSqrt2Pi*pdf[i]) + (0.5*e + 0.5))
		}
		x, dx, dy = x[n:], dx[n:], dy[n:]
	}
}

// The reductions keep 4×8 partial sums, as the assembly's four vector accumulators: element
// i of a block of 32 goes to acc[i%32]; after the last whole block, the remaining elements go
// to the first vector (acc[i%8]).

// reduce8 sums 8 lanes as a tree, as the assembly's horizontal add: l+l₄, then +l₂, then +l₁.
func reduce8(v *[8]float32) float32 {
	a := [4]float32{v[0] + v[4], v[1] + v[5], v[2] + v[6], v[3] + v[7]}
	return (a[0] + a[2]) + (a[1] + a[3])
}

// reduce32 adds the four vectors pairwise, then reduces the lanes.
func reduce32(acc *[32]float32) float32 {
	var v [8]float32
	for l := range v {
		v[l] = (acc[l] + acc[8+l]) + (acc[16+l] + acc[24+l])
	}
	return reduce8(&v)
}

// lanes is the mask that maps element i to its accumulator, given n32, the end of the last
// whole block of 32.
func lanes(i, n32 int) int {
	if i < n32 {
		return 31
	}
	return 7
}

func sumGo(x []float32) float32 {
	var acc [32]float32
	n32 := len(x) &^ 31
	for i, v := range x {
		acc[i&lanes(i, n32)] += v
	}
	return reduce32(&acc)
}

func dotGo(x, y []float32) float32 {
	var acc [32]float32
	n32 := len(x) &^ 31
	for i, v := range x {
		acc[i&lanes(i, n32)] += v * y[i]
	}
	return reduce32(&acc)
}

// layerNormGo is LayerNorm (see its comment for the algorithm).
func layerNormGo(y, x, w, b []float32, eps float32) (mean, rstd float32) {
	n := len(x)
	m0 := sumGo(x) / float32(n)
	var a1, a2 [32]float32
	n32 := n &^ 31
	for i, v := range x {
		d := v - m0
		l := i & lanes(i, n32)
		a1[l] += d
		a2[l] += d * d
	}
	c := float64(reduce32(&a1)) / float64(n)
	variance := max(float64(reduce32(&a2))/float64(n)-c*c, 0)
	rstd = float32(1 / math.Sqrt(variance+float64(eps)))
	mean = float32(float64(m0) + c)
	cf := float32(c)
	for i, v := range x {
		y[i] = ((v-m0)-cf)*rstd*w[i] + b[i]
	}
	return mean, rstd
}

// layerNormBackwardGo adds dx += rstd·((g − mean(g)) − x̂·mean(g·x̂)), g = dy·w,
// x̂ = (x − mean)·rstd.
func layerNormBackwardGo(dx, dy, x, w []float32, mean, rstd float32) {
	var a1, a2 [32]float32
	n32 := len(x) &^ 31
	for i, v := range x {
		g := dy[i] * w[i]
		l := i & lanes(i, n32)
		a1[l] += g
		a2[l] += g * ((v - mean) * rstd)
	}
	nf := float32(len(x))
	mg, mgx := reduce32(&a1)/nf, reduce32(&a2)/nf
	for i, v := range x {
		xh := (v - mean) * rstd
		dx[i] += rstd * (dy[i]*w[i] - mg - xh*mgx)
	}
}

func layerNormParamGradGo(dw, db, dy, x []float32, mean, rstd float32) {
	for i, v := range x {
		dw[i] += dy[i] * ((v - mean) * rstd)
		db[i] += dy[i]
	}
}

// softmaxBackwardGo writes (add false) or adds (add true) scale·y⊙(dy − dot) into dx.
func softmaxBackwardGo(dx, dy, y []float32, scale, dot float32, add bool) {
	for i, p := range y {
		g := scale * p * (dy[i] - dot)
		if add {
			g += dx[i]
		}
		dx[i] = g
	}
}

func axpyGo(alpha float32, x, y []float32) {
	for i, v := range x {
		y[i] += alpha * v
	}
}

func addGo(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

func mulAddGo(dst, a, b []float32) {
	for i, v := range a {
		dst[i] += v * b[i]
	}
}

// scaleShiftReLUGo writes x = max(x·scale + shift, 0); NaN stays NaN.
func scaleShiftReLUGo(x []float32, scale, shift float32) {
	for i, v := range x {
		v = v*scale + shift
		if v < 0 {
			v = 0
		}
		x[i] = v
	}
}

// matMulGo computes columns [n0, n) of MatMul: each row of c is cleared, then a[i, p]·b[p, :]
// is added for p = 0, 1, …, k−1, so every element sums in the assembly's order.
func matMulGo(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n0, n, k int) {
	for i := range m {
		cr := c[i*ldc+n0 : i*ldc+n]
		clear(cr)
		ar := a[i*lda : i*lda+k]
		for p, x := range ar {
			br := b[p*ldb+n0 : p*ldb+n]
			br = br[:len(cr)]
			for j, y := range br {
				cr[j] += x * y
			}
		}
	}
}

// matMulNTGo computes columns [n0, n) of MatMulNT. Each output keeps eight partial sums (lane
// l takes p ≡ l mod 8) combined as ((s0+s1)+(s2+s3)) + ((s4+s5)+(s6+s7)), the assembly's order.
func matMulNTGo(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n0, n, k int, acc bool) {
	for i := range m {
		ar := a[i*lda : i*lda+k]
		cr := c[i*ldc : i*ldc+n]
		for j := n0; j < n; j++ {
			br := b[j*ldb : j*ldb+k]
			var s [8]float32
			for p, x := range ar {
				s[p&7] += x * br[p]
			}
			v := ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
			if acc {
				v += cr[j]
			}
			cr[j] = v
		}
	}
}

// matMulTNGo computes columns [n0, n) of MatMulTN, summing p = 0..k-1 in order.
func matMulTNGo(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n0, n, k int) {
	for i := range m {
		cr := c[i*ldc+n0 : i*ldc+n]
		clear(cr)
		for p := range k {
			x := a[p*lda+i]
			br := b[p*ldb+n0 : p*ldb+n]
			br = br[:len(cr)]
			for j, y := range br {
				cr[j] += x * y
			}
		}
	}
}

// softmaxColsGo is SoftmaxCols for columns [c0, c1): per column the maximum, the exponentials
// and a sum taken top to bottom, as each lane of the assembly does. It allocates nothing.
func softmaxColsGo(m []float32, rows, c0, c1, stride int, scale float32) {
	for j := c0; j < c1; j++ {
		mx := float32(math.Inf(-1))
		for r := range rows {
			if v := m[r*stride+j]; v > mx {
				mx = v
			}
		}
		var sum float32
		for r := range rows {
			e := m[r*stride+j : r*stride+j+1]
			e[0] = (e[0] - mx) * scale
			expNonPosGo(e)
			sum += e[0]
		}
		inv := 1 / sum
		for r := range rows {
			m[r*stride+j] *= inv
		}
	}
}

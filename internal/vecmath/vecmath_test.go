package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// paths lists the implementations this machine can run: the pure-Go kernels always, the
// assembly where the CPU has AVX2 and FMA.
func paths(t testing.TB) []bool {
	if !useAVX2 {
		t.Log("no AVX2+FMA here (or purego build): testing the pure-Go kernels only")
		return []bool{false}
	}
	return []bool{false, true}
}

func pathName(avx2 bool) string {
	if avx2 {
		return "avx2"
	}
	return "go"
}

// lengths covers empty, every tail 1..7 around one and several vectors, the 4-vector blocks
// of the reductions, and the model's row lengths (65 tokens, widths, 197 tokens).
var lengths = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 39, 40, 63, 64, 65,
	71, 96, 127, 128, 129, 160, 192, 197, 255, 256, 257, 1024, 1031}

// guard is a slice of n floats at offset off (so not 32-byte aligned) inside a buffer whose
// other elements hold a sentinel NaN; intact reports whether a kernel wrote outside.
type guard struct {
	buf    []float32
	off, n int
}

var sentinel = math.Float32frombits(0x7fc0dead)

func newGuard(n, off int) guard {
	g := guard{make([]float32, off+n+9), off, n}
	for i := range g.buf {
		g.buf[i] = sentinel
	}
	return g
}

func (g guard) s() []float32 { return g.buf[g.off : g.off+g.n] }

func (g guard) intact() bool {
	for i, v := range g.buf {
		if (i < g.off || i >= g.off+g.n) && math.Float32bits(v) != 0x7fc0dead {
			return false
		}
	}
	return true
}

// randGuard fills a guarded slice with normal values of the given mean and spread.
func randGuard(r *rand.Rand, n, off int, mean, spread float64) guard {
	g := newGuard(n, off)
	for i := range g.s() {
		g.s()[i] = float32(mean + spread*r.NormFloat64())
	}
	return g
}

// ulpDiff is the distance between a and b in float32 steps (0 for two NaNs or equal values).
func ulpDiff(a, b float32) int64 {
	if a != a && b != b {
		return 0
	}
	if a == b {
		return 0
	}
	if a != a || b != b {
		return math.MaxInt64
	}
	ord := func(f float32) int64 {
		u := int64(math.Float32bits(f))
		if u&0x80000000 != 0 {
			return 0x80000000 - u
		}
		return u
	}
	d := ord(a) - ord(b)
	if d < 0 {
		d = -d
	}
	return d
}

func sameNaN(a, b float32) bool { return (a != a) == (b != b) }

func TestExpAccuracy(t *testing.T) {
	var xs []float32
	for x := -87.0; x <= 88.7; x += 0.000731 {
		xs = append(xs, float32(x))
	}
	for _, avx2 := range paths(t) {
		y := append([]float32(nil), xs...)
		exp(y, avx2)
		var worst float64
		for i, x := range xs {
			want := math.Exp(float64(x))
			rel := math.Abs(float64(y[i])-want) / want
			if rel > 4e-7 {
				t.Fatalf("%s: exp(%g) = %g, want %g (relative error %.3g > 4e-7)", pathName(avx2), x, y[i], want, rel)
			}
			worst = max(worst, rel)
		}
		t.Logf("%s: exp max relative error %.3g over %d points in [-87, 88.7]", pathName(avx2), worst, len(xs))
	}
}

func TestExpSpecial(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	cases := []struct{ x, want float32 }{
		{inf, inf}, {-inf, 0}, {nan, nan}, {-87.34, 0}, {-100, 0}, {-1e30, 0}, {88.73, inf}, {89, inf},
		{1e30, inf}, {0, 1}, {-0.0, 1},
	}
	for _, avx2 := range paths(t) {
		x := make([]float32, len(cases))
		for i, c := range cases {
			x[i] = c.x
		}
		exp(x, avx2)
		for i, c := range cases {
			if !sameNaN(x[i], c.want) || (c.want == c.want && x[i] != c.want) {
				t.Errorf("%s: exp(%g) = %g, want %g", pathName(avx2), c.x, x[i], c.want)
			}
		}
		// (88.38, 88.72]: the scalar code overflowed 2^128 here; both paths stay finite.
		y := []float32{88.4, 88.6, 88.72}
		exp(y, avx2)
		for i, v := range y {
			want := math.Exp(float64([]float32{88.4, 88.6, 88.72}[i]))
			if math.IsInf(float64(v), 0) || math.Abs(float64(v)-want) > 4e-7*want {
				t.Errorf("%s: exp near overflow = %g, want %g", pathName(avx2), v, want)
			}
		}
	}
}

// scalarExpf and scalarErff are the scalar code this package replaces (model/fastmath.go).
func scalarExpf(x float32) float32 {
	if x < -87.33 {
		return 0
	}
	if x > 88.72 {
		return float32(math.Inf(1))
	}
	fx := x*1.44269504088896341 + 0.5
	n := int32(fx)
	if float32(n) > fx {
		n--
	}
	fn := float32(n)
	x = x - fn*0.693359375 - fn*-2.12194440e-4
	z := x * x
	y := ((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x + 5.0000001201e-1
	y = y*z + x + 1
	return y * math.Float32frombits(uint32(n+127)<<23)
}

func scalarGELU(x float32) float32 {
	u := min(max(x*math.Sqrt2/2, -4), 4)
	s := u * u
	p := ((((((erfA0*s+erfA1)*s+erfA2)*s+erfA3)*s+erfA4)*s+erfA5)*s + erfA6) * u
	q := (((erfB0*s+erfB1)*s+erfB2)*s+erfB3)*s + erfB4
	return 0.5 * x * (1 + p/q)
}

// TestMatchesScalarCode checks the kernels against the scalar loops they replace, within a
// few ulps, including huge, infinite and NaN inputs.
func TestMatchesScalarCode(t *testing.T) {
	inf := math.Inf(1)
	var xs []float32
	for x := -87.0; x <= 88.3; x += 0.0137 {
		xs = append(xs, float32(x))
	}
	specials := []float32{float32(inf), float32(-inf), float32(math.NaN()), 1e30, -1e30, 3.4e38, -3.4e38, 0}
	for _, avx2 := range paths(t) {
		y := append(append([]float32(nil), xs...), specials...)
		exp(y, avx2)
		var worst int64
		for i, x := range append(append([]float32(nil), xs...), specials...) {
			want := scalarExpf(x)
			d := ulpDiff(y[i], want)
			if d > 3 {
				t.Fatalf("%s: exp(%g) = %g, scalar code %g (%d ulps)", pathName(avx2), x, y[i], want, d)
			}
			worst = max(worst, d)
		}
		t.Logf("%s: exp within %d ulps of the scalar code", pathName(avx2), worst)

		var gx []float32
		for x := -12.0; x <= 12; x += 0.00113 {
			gx = append(gx, float32(x))
		}
		gx = append(gx, specials...)
		g := make([]float32, len(gx))
		geluVec(g, gx, avx2)
		var worstAbs float64
		for i, x := range gx {
			want := scalarGELU(x)
			if !sameNaN(g[i], want) {
				t.Fatalf("%s: GELU(%g) = %g, scalar code %g", pathName(avx2), x, g[i], want)
			}
			if want != want || math.IsInf(float64(want), 0) {
				if g[i] != want && want == want {
					t.Fatalf("%s: GELU(%g) = %g, scalar code %g", pathName(avx2), x, g[i], want)
				}
				continue
			}
			// Near erf ≈ −1 both round 1+erf differently; the absolute error stays at the
			// approximation's level.
			d := math.Abs(float64(g[i]) - float64(want))
			if d > 3e-7*max(1, math.Abs(float64(x))) {
				t.Fatalf("%s: GELU(%g) = %g, scalar code %g (diff %.3g)", pathName(avx2), x, g[i], want, d)
			}
			worstAbs = max(worstAbs, d/max(1, math.Abs(float64(x))))
		}
		t.Logf("%s: GELU within %.3g·max(1,|x|) of the scalar code", pathName(avx2), worstAbs)
	}
}

func TestErfAccuracy(t *testing.T) {
	var worst float64
	for x := -6.0; x <= 6; x += 0.0001 {
		worst = math.Max(worst, math.Abs(float64(erff(float32(x)))-math.Erf(float64(float32(x)))))
	}
	t.Logf("erff max absolute error %.3g", worst)
	if worst > 5e-7 {
		t.Fatalf("erff max absolute error %.3g, want ≤ 5e-7", worst)
	}
}

func geluRef(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

func geluDerivRef(x float64) float64 {
	return 0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
}

// TestGELUAccuracy compares GELU, BiasGELU, GELUDeriv and GELUGrad with float64 maths. The
// erf approximation's 5e-7 absolute error scales with |x|/2 in GELU.
func TestGELUAccuracy(t *testing.T) {
	var xs []float32
	for x := -10.0; x <= 10; x += 0.000917 {
		xs = append(xs, float32(x))
	}
	n := len(xs)
	bias := make([]float32, n)
	for i := range bias {
		bias[i] = float32(i%7) * 0.01
	}
	for _, avx2 := range paths(t) {
		name := pathName(avx2)
		y, d := make([]float32, n), make([]float32, n)
		geluVec(y, xs, avx2)
		yd := make([]float32, n)
		geluDerivVec(yd, d, xs, avx2)
		bx := make([]float32, n)
		for i := range bx {
			bx[i] = xs[i] - bias[i]
		}
		biasGELU(bx, bias, avx2)
		dy := make([]float32, n)
		dx := make([]float32, n)
		for i := range dy {
			dy[i] = float32(1 + i%3)
			dx[i] = 0.25
		}
		geluGrad(dx, dy, xs, avx2)
		var wy, wd float64
		for i, x := range xs {
			xf := float64(x)
			tol := 3e-7*math.Abs(xf) + 1e-7
			if e := math.Abs(float64(y[i]) - geluRef(xf)); e > tol {
				t.Fatalf("%s: GELU(%g) = %g, want %g (error %.3g > %.3g)", name, x, y[i], geluRef(xf), e, tol)
			} else {
				wy = max(wy, e/(math.Abs(xf)+1))
			}
			if yd[i] != y[i] {
				t.Fatalf("%s: GELUDeriv's y(%g) = %g, GELU gives %g", name, x, yd[i], y[i])
			}
			// BiasGELU's input was x−b; the kernel adds b back in float32.
			bref := geluRef(float64((x - bias[i]) + bias[i]))
			if e := math.Abs(float64(bx[i]) - bref); e > tol {
				t.Fatalf("%s: BiasGELU at x=%g: %g, want %g", name, x, bx[i], bref)
			}
			dref := geluDerivRef(xf)
			if e := math.Abs(float64(d[i]) - dref); e > 1e-6 {
				t.Fatalf("%s: GELU'(%g) = %g, want %g (error %.3g > 1e-6)", name, x, d[i], dref, e)
			} else {
				wd = max(wd, e)
			}
			gref := 0.25 + float64(dy[i])*dref
			if e := math.Abs(float64(dx[i]) - gref); e > 4e-6 {
				t.Fatalf("%s: GELUGrad at x=%g: %g, want %g", name, x, dx[i], gref)
			}
		}
		t.Logf("%s: GELU error ≤ %.3g·(|x|+1), GELU' error ≤ %.3g", name, wy, wd)
	}
}

func TestGELUSpecial(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, avx2 := range paths(t) {
		x := []float32{inf, -inf, nan, 1e30, -1e30, 0}
		y, d := make([]float32, len(x)), make([]float32, len(x))
		geluDerivVec(y, d, x, avx2)
		wantY := []float32{inf, nan, nan, 1e30, 0, 0}
		wantD := []float32{nan, nan, nan, 1, 0, 0.5} // ±Inf·φ = Inf·0
		for i := range x {
			if !sameNaN(y[i], wantY[i]) || (wantY[i] == wantY[i] && y[i] != wantY[i]) {
				t.Errorf("%s: GELU(%g) = %g, want %g", pathName(avx2), x[i], y[i], wantY[i])
			}
			if !sameNaN(d[i], wantD[i]) || (wantD[i] == wantD[i] && d[i] != wantD[i]) {
				t.Errorf("%s: GELU'(%g) = %g, want %g", pathName(avx2), x[i], d[i], wantD[i])
			}
		}
	}
}

// softmaxRef is softmax(scale·x) in float64.
func softmaxRef(x []float32, scale float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = max(mx, float64(v))
	}
	out := make([]float64, len(x))
	var s float64
	for i, v := range x {
		out[i] = math.Exp((float64(v) - mx) * scale)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

func TestSoftmaxAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, avx2 := range paths(t) {
		var worst, worstSum float64
		for _, n := range append(lengths[1:], 4096) {
			for _, c := range []struct{ spread, scale float64 }{{1, 1}, {10, 0.125}, {30, 1}, {1e-3, 1}} {
				off := n % 8
				x := randGuard(r, n, off, 0, c.spread)
				y := newGuard(n, 7-off)
				in := append([]float32(nil), x.s()...)
				softmax(y.s(), x.s(), float32(c.scale), avx2)
				if !x.intact() || !y.intact() {
					t.Fatalf("%s n=%d: wrote outside the slice", pathName(avx2), n)
				}
				ref := softmaxRef(in, float64(float32(c.scale)))
				var s float64
				for i, v := range y.s() {
					if x.s()[i] != in[i] {
						t.Fatalf("%s n=%d: input changed", pathName(avx2), n)
					}
					e := math.Abs(float64(v) - ref[i])
					if e > 1e-6 {
						t.Fatalf("%s n=%d spread=%g scale=%g: p[%d] = %g, want %g (diff %.3g > 1e-6)",
							pathName(avx2), n, c.spread, c.scale, i, v, ref[i], e)
					}
					worst = max(worst, e)
					s += float64(v)
				}
				if math.Abs(s-1) > 1e-6 {
					t.Fatalf("%s n=%d spread=%g: row sums to 1%+.3g", pathName(avx2), n, c.spread, s-1)
				}
				worstSum = max(worstSum, math.Abs(s-1))
			}
		}
		t.Logf("%s: softmax max abs diff %.3g, max |Σ−1| %.3g", pathName(avx2), worst, worstSum)
	}
}

func TestSoftmaxSpecial(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	cases := []struct {
		name string
		x    []float32
		want []float32 // nil: every output NaN
	}{
		{"NaN", []float32{1, nan, 2, 3, 4, 5, 6, 7, 8, 9}, nil},
		{"+Inf", []float32{1, 2, inf, 3}, nil},
		{"all -Inf", []float32{float32(-inf), float32(-inf), float32(-inf)}, nil},
		{"-Inf masked", []float32{0, -inf, 0, -inf, 0, 0, 0, 0, -inf}, []float32{1. / 6, 0, 1. / 6, 0, 1. / 6, 1. / 6, 1. / 6, 1. / 6, 0}},
		{"huge", []float32{3e38, -3e38, 3e38}, []float32{0.5, 0, 0.5}},
		{"one", []float32{-5}, []float32{1}},
	}
	for _, avx2 := range paths(t) {
		for _, c := range cases {
			y := make([]float32, len(c.x))
			softmax(y, c.x, 1, avx2)
			for i, v := range y {
				if c.want == nil {
					if v == v {
						t.Errorf("%s %s: p[%d] = %g, want NaN (as the scalar code)", pathName(avx2), c.name, i, v)
					}
				} else if math.Abs(float64(v-c.want[i])) > 1e-7 {
					t.Errorf("%s %s: p[%d] = %g, want %g", pathName(avx2), c.name, i, v, c.want[i])
				}
			}
		}
	}
}

func TestSoftmaxRows(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rows, cols, stride := 5, 13, 16
	m := make([]float32, (rows-1)*stride+cols)
	for i := range m {
		m[i] = float32(r.NormFloat64())
	}
	orig := append([]float32(nil), m...)
	SoftmaxRows(m, rows, cols, stride, 0.5)
	for i := range rows {
		want := append([]float32(nil), orig[i*stride:i*stride+cols]...)
		Softmax(want, want, 0.5)
		for j := range cols {
			if m[i*stride+j] != want[j] {
				t.Fatalf("row %d col %d: %g, want %g", i, j, m[i*stride+j], want[j])
			}
		}
		for j := cols; j < stride && i < rows-1; j++ {
			if m[i*stride+j] != orig[i*stride+j] {
				t.Fatalf("row %d: padding column %d changed", i, j)
			}
		}
	}
}

// layerNormRef is LayerNorm in float64 on the float32 inputs.
func layerNormRef(x, w, b []float32, eps float64) (y []float64, mean, rstd float64) {
	n := float64(len(x))
	for _, v := range x {
		mean += float64(v)
	}
	mean /= n
	var ss float64
	for _, v := range x {
		ss += (float64(v) - mean) * (float64(v) - mean)
	}
	rstd = 1 / math.Sqrt(ss/n+eps)
	y = make([]float64, len(x))
	for i, v := range x {
		y[i] = (float64(v)-mean)*rstd*float64(w[i]) + float64(b[i])
	}
	return y, mean, rstd
}

// TestLayerNormAccuracy checks y against float64 maths within 1e-5 relative to max(1, |y|),
// on rows far from zero (mean ±1e3 with spread 1) as well as centred ones.
func TestLayerNormAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, avx2 := range paths(t) {
		var worstY, worstM, worstR float64
		for _, n := range append(lengths[1:], 2048, 4096, 4099) {
			for _, c := range []struct{ mean, spread float64 }{{0, 1}, {1e3, 1}, {-1e3, 1}, {5, 1e-2}, {0, 100}} {
				off := (n + 3) % 8
				x := randGuard(r, n, off, c.mean, c.spread)
				w := randGuard(r, n, 1, 1, 0.2)
				b := randGuard(r, n, 2, 0, 0.2)
				y := newGuard(n, 5)
				in := append([]float32(nil), x.s()...)
				m, rs := layerNorm(y.s(), x.s(), w.s(), b.s(), 1e-6, avx2)
				if !y.intact() {
					t.Fatalf("%s n=%d: wrote outside y", pathName(avx2), n)
				}
				ref, mref, rref := layerNormRef(in, w.s(), b.s(), float64(float32(1e-6)))
				for i, v := range y.s() {
					e := math.Abs(float64(v)-ref[i]) / max(1, math.Abs(ref[i]))
					if e > 1e-5 {
						t.Fatalf("%s n=%d mean=%g spread=%g: y[%d] = %g, want %g (relative error %.3g > 1e-5)",
							pathName(avx2), n, c.mean, c.spread, i, v, ref[i], e)
					}
					worstY = max(worstY, e)
				}
				if n == 1 {
					continue // variance 0: rstd is 1/√eps, not a statistic
				}
				em := math.Abs(float64(m)-mref) / (math.Abs(mref) + c.spread)
				er := math.Abs(float64(rs)-rref) / rref
				if em > 1e-6 || er > 1e-6 {
					t.Fatalf("%s n=%d mean=%g spread=%g: mean %g rstd %g, want %g %g", pathName(avx2), n,
						c.mean, c.spread, m, rs, mref, rref)
				}
				worstM, worstR = max(worstM, em), max(worstR, er)
			}
		}
		t.Logf("%s: LayerNorm max relative error y %.3g, mean %.3g, rstd %.3g", pathName(avx2), worstY, worstM, worstR)
	}
}

func TestLayerNormSpecial(t *testing.T) {
	for _, avx2 := range paths(t) {
		w, b := []float32{1, 1, 1}, []float32{0, 0.5, 0}
		y := make([]float32, 3)
		m, rs := layerNorm(y, []float32{2, 2, 2}, w, b, 1e-6, avx2)
		if m != 2 || y[0] != 0 || y[1] != 0.5 || y[2] != 0 || math.Abs(float64(rs)-1000) > 1e-3 {
			t.Errorf("%s: constant row: y %v mean %g rstd %g, want [0 0.5 0], 2, 1000", pathName(avx2), y, m, rs)
		}
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
			layerNorm(y, []float32{1, bad, 3}, w, b, 1e-6, avx2)
			for i, v := range y {
				if v == v {
					t.Errorf("%s: row with %g: y[%d] = %g, want NaN", pathName(avx2), bad, i, v)
				}
			}
		}
		if m, rs := layerNorm(nil, nil, nil, nil, 1e-6, avx2); m != 0 || rs != 0 {
			t.Errorf("%s: empty row: %g %g", pathName(avx2), m, rs)
		}
	}
}

// TestLayerNormBackward checks the input and parameter gradients against float64 formulas.
func TestLayerNormBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, avx2 := range paths(t) {
		var worst float64
		for _, n := range lengths[1:] {
			x := randGuard(r, n, 1, 3, 2)
			w := randGuard(r, n, 2, 1, 0.3)
			b := randGuard(r, n, 3, 0, 0.3)
			dy := randGuard(r, n, 4, 0, 1)
			y := make([]float32, n)
			m, rs := layerNorm(y, x.s(), w.s(), b.s(), 1e-6, avx2)
			dx := randGuard(r, n, 5, 0, 1)
			dw, db := randGuard(r, n, 6, 0, 1), randGuard(r, n, 7, 0, 1)
			dx0 := append([]float32(nil), dx.s()...)
			dw0, db0 := append([]float32(nil), dw.s()...), append([]float32(nil), db.s()...)
			layerNormBackward(dx.s(), dy.s(), x.s(), w.s(), m, rs, avx2)
			layerNormParamGrad(dw.s(), db.s(), dy.s(), x.s(), m, rs, avx2)
			for _, g := range []guard{dx, dw, db} {
				if !g.intact() {
					t.Fatalf("%s n=%d: wrote outside a gradient", pathName(avx2), n)
				}
			}
			var sg, sgx float64
			xh := make([]float64, n)
			for i, v := range x.s() {
				xh[i] = (float64(v) - float64(m)) * float64(rs)
				g := float64(dy.s()[i]) * float64(w.s()[i])
				sg += g
				sgx += g * xh[i]
			}
			sg /= float64(n)
			sgx /= float64(n)
			for i := range n {
				g := float64(dy.s()[i]) * float64(w.s()[i])
				want := float64(dx0[i]) + float64(rs)*(g-sg-xh[i]*sgx)
				e := math.Abs(float64(dx.s()[i])-want) / max(1, math.Abs(want))
				wantW := float64(dw0[i]) + float64(dy.s()[i])*xh[i]
				wantB := float64(db0[i]) + float64(dy.s()[i])
				ew := math.Abs(float64(dw.s()[i])-wantW) / max(1, math.Abs(wantW))
				eb := math.Abs(float64(db.s()[i])-wantB) / max(1, math.Abs(wantB))
				if e > 2e-6 || ew > 1e-6 || eb > 1e-6 {
					t.Fatalf("%s n=%d i=%d: dx %g dw %g db %g, want %g %g %g", pathName(avx2), n, i,
						dx.s()[i], dw.s()[i], db.s()[i], want, wantW, wantB)
				}
				worst = max(worst, e, ew, eb)
			}
		}
		t.Logf("%s: LayerNorm backward max relative error %.3g", pathName(avx2), worst)
	}
}

func TestSoftmaxBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, avx2 := range paths(t) {
		var worst float64
		for _, n := range lengths[1:] {
			y := make([]float32, n)
			x := randGuard(r, n, 0, 0, 2)
			softmax(y, x.s(), 1, avx2)
			dy := randGuard(r, n, 3, 0, 1)
			dx := randGuard(r, n, 1, 0, 1)
			dx0 := append([]float32(nil), dx.s()...)
			dy0 := append([]float32(nil), dy.s()...)
			const scale = 0.3
			softmaxBackward(dx.s(), dy.s(), y, scale, true, avx2)
			var dot float64
			for i := range n {
				dot += float64(dy0[i]) * float64(y[i])
			}
			for i := range n {
				g := scale * float64(y[i]) * (float64(dy0[i]) - dot)
				e := math.Abs(float64(dx.s()[i]) - (float64(dx0[i]) + g))
				if e > 1e-6 {
					t.Fatalf("%s n=%d: dx[%d] = %g, want %g", pathName(avx2), n, i, dx.s()[i], float64(dx0[i])+g)
				}
				worst = max(worst, e)
			}
			softmaxBackward(dy.s(), dy.s(), y, scale, false, avx2) // in place
			for i := range n {
				g := scale * float64(y[i]) * (float64(dy0[i]) - dot)
				if e := math.Abs(float64(dy.s()[i]) - g); e > 1e-6 {
					t.Fatalf("%s n=%d in place: dS[%d] = %g, want %g", pathName(avx2), n, i, dy.s()[i], g)
				}
			}
			if !dx.intact() || !dy.intact() {
				t.Fatalf("%s n=%d: wrote outside", pathName(avx2), n)
			}
		}
		t.Logf("%s: softmax backward max abs error %.3g", pathName(avx2), worst)
	}
}

// TestBLAS1 checks Sum, Dot, Axpy, Add, MulAdd and ScaleShiftReLU against float64.
func TestBLAS1(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, avx2 := range paths(t) {
		name := pathName(avx2)
		for _, n := range append(lengths, 4096) {
			x, y := randGuard(r, n, 1, 0.5, 1), randGuard(r, n, 6, 0, 1)
			var s, d, sa, da float64
			for i, v := range x.s() {
				s += float64(v)
				sa += math.Abs(float64(v))
				d += float64(v) * float64(y.s()[i])
				da += math.Abs(float64(v) * float64(y.s()[i]))
			}
			// A float32 sum of n terms in 32 partial sums errs by about √n·eps·Σ|x|.
			tol := func(abs float64) float64 { return 1e-7*abs*math.Sqrt(float64(n)/32+1) + 1e-30 }
			if got := sum(x.s(), avx2); math.Abs(float64(got)-s) > tol(sa) {
				t.Fatalf("%s n=%d: Sum %g, want %g", name, n, got, s)
			}
			if got := dot(x.s(), y.s(), avx2); math.Abs(float64(got)-d) > tol(da) {
				t.Fatalf("%s n=%d: Dot %g, want %g", name, n, got, d)
			}
			dst := randGuard(r, n, 3, 0, 1)
			d0 := append([]float32(nil), dst.s()...)
			axpy(-0.75, x.s(), dst.s(), avx2)
			for i := range n {
				want, terms := float64(d0[i])+-0.75*float64(x.s()[i]), math.Abs(float64(d0[i]))+math.Abs(0.75*float64(x.s()[i]))
				if math.Abs(float64(dst.s()[i])-want) > 1.2e-7*terms {
					t.Fatalf("%s n=%d: Axpy[%d] %g, want %g", name, n, i, dst.s()[i], want)
				}
			}
			copy(dst.s(), d0)
			add(dst.s(), x.s(), avx2)
			for i := range n {
				if want := d0[i] + x.s()[i]; dst.s()[i] != want {
					t.Fatalf("%s n=%d: Add[%d] %g, want %g", name, n, i, dst.s()[i], want)
				}
			}
			copy(dst.s(), d0)
			mulAdd(dst.s(), x.s(), y.s(), avx2)
			for i := range n {
				p := float64(x.s()[i]) * float64(y.s()[i])
				want, terms := float64(d0[i])+p, math.Abs(float64(d0[i]))+math.Abs(p)
				if math.Abs(float64(dst.s()[i])-want) > 1.2e-7*terms {
					t.Fatalf("%s n=%d: MulAdd[%d] %g, want %g", name, n, i, dst.s()[i], want)
				}
			}
			copy(dst.s(), d0)
			scaleShiftReLU(dst.s(), 1.5, -0.25, avx2)
			for i := range n {
				want, terms := max(0, float64(d0[i])*1.5-0.25), math.Abs(float64(d0[i])*1.5)+0.25
				if math.Abs(float64(dst.s()[i])-want) > 1.2e-7*terms {
					t.Fatalf("%s n=%d: ScaleShiftReLU[%d] %g, want %g", name, n, i, dst.s()[i], want)
				}
			}
			if !x.intact() || !y.intact() || !dst.intact() {
				t.Fatalf("%s n=%d: wrote outside", name, n)
			}
		}
		nan := float32(math.NaN())
		z := []float32{nan, -1, 1}
		scaleShiftReLU(z, 1, 0, avx2)
		if z[0] == z[0] || z[1] != 0 || z[2] != 1 {
			t.Errorf("%s: ScaleShiftReLU(NaN, -1, 1) = %v, want [NaN 0 1]", name, z)
		}
	}
}

// TestAgreement runs every kernel on both paths with the same random, unaligned inputs of
// every tail length and compares: exactly for Sum and Add (same operations, same order),
// within a few ulps (elementwise) or a rounding bound (reductions) where the assembly fuses
// a multiply and an add.
func TestAgreement(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2+FMA on this CPU: nothing to compare")
	}
	r := rand.New(rand.NewPCG(13, 14))
	type result struct {
		name string
		out  [][]float32
	}
	run := func(avx2 bool, n int, in [][]float32) []result {
		cp := func(i int) []float32 { return append([]float32(nil), in[i]...) }
		var res []result
		e := cp(0)
		exp(e, avx2)
		res = append(res, result{"Exp", [][]float32{e}})
		sm := make([]float32, n)
		softmax(sm, in[1], 0.7, avx2)
		res = append(res, result{"Softmax", [][]float32{sm}})
		g := make([]float32, n)
		geluVec(g, in[1], avx2)
		res = append(res, result{"GELU", [][]float32{g}})
		bg := cp(1)
		biasGELU(bg, in[2], avx2)
		res = append(res, result{"BiasGELU", [][]float32{bg}})
		gy, gd := make([]float32, n), make([]float32, n)
		geluDerivVec(gy, gd, in[1], avx2)
		res = append(res, result{"GELUDeriv", [][]float32{gy, gd}})
		gg := cp(2)
		geluGrad(gg, in[3], in[1], avx2)
		res = append(res, result{"GELUGrad", [][]float32{gg}})
		ly := make([]float32, n)
		m, rs := layerNorm(ly, in[4], in[2], in[3], 1e-6, avx2)
		res = append(res, result{"LayerNorm", [][]float32{ly, {m, rs}}})
		lx := cp(3)
		layerNormBackward(lx, in[1], in[4], in[2], m, rs, avx2)
		dw, db := cp(2), cp(3)
		layerNormParamGrad(dw, db, in[1], in[4], m, rs, avx2)
		res = append(res, result{"LayerNormBackward", [][]float32{lx, dw, db}})
		sb := cp(2)
		softmaxBackward(sb, in[3], sm, 0.7, true, avx2)
		res = append(res, result{"SoftmaxBackward", [][]float32{sb}})
		res = append(res, result{"Sum", [][]float32{{sum(in[1], avx2)}}})
		res = append(res, result{"Dot", [][]float32{{dot(in[1], in[3], avx2)}}})
		ax, ad, ma, sr := cp(2), cp(2), cp(2), cp(1)
		axpy(1.3, in[1], ax, avx2)
		add(ad, in[1], avx2)
		mulAdd(ma, in[1], in[3], avx2)
		scaleShiftReLU(sr, 0.9, 0.1, avx2)
		res = append(res, result{"Axpy", [][]float32{ax}}, result{"Add", [][]float32{ad}},
			result{"MulAdd", [][]float32{ma}}, result{"ScaleShiftReLU", [][]float32{sr}})
		return res
	}
	worst := map[string]int64{}
	for _, n := range append(lengths, 4096) {
		var in [][]float32
		for k := range 5 {
			g := randGuard(r, n, (n+k)%8, []float64{-2, 0, 0, 0, 1e3}[k], []float64{20, 3, 1, 1, 1}[k])
			in = append(in, g.s())
		}
		goRes, asmRes := run(false, n, in), run(true, n, in)
		for k := range goRes {
			name := goRes[k].name
			for j, want := range goRes[k].out {
				got := asmRes[k].out[j]
				for i := range want {
					d := ulpDiff(got[i], want[i])
					limit := int64(4)
					switch name {
					case "Sum", "Add":
						limit = 0
					case "Dot", "LayerNorm", "LayerNormBackward", "SoftmaxBackward", "Axpy", "MulAdd", "ScaleShiftReLU":
						// A fused multiply-add against a rounded product: compare relative to max(1, |value|).
						if math.Abs(float64(got[i]-want[i])) <= 2e-6*max(1, math.Abs(float64(want[i]))) {
							d = 0
						}
					case "GELU", "BiasGELU", "GELUDeriv", "GELUGrad":
						// 1+erf cancels for x ≪ 0, so compare absolutely there.
						// The erf values differ by a few ulps of 1, scaled by |x|/2 (and |dy|).
						scale := max(1, math.Abs(float64(in[1][i]))) * (1 + math.Abs(float64(in[3][i])))
						if math.Abs(float64(got[i]-want[i])) <= 4e-7*scale {
							d = 0
						}
					}
					if d > limit {
						t.Fatalf("n=%d %s output %d [%d]: avx2 %g, go %g (%d ulps)", n, name, j, i, got[i], want[i], d)
					}
					worst[name] = max(worst[name], d)
				}
			}
		}
	}
	var parts []string
	for _, k := range []string{"Exp", "Softmax", "Sum", "Add"} {
		parts = append(parts, fmt.Sprintf("%s %d", k, worst[k]))
	}
	t.Logf("max ulps between assembly and Go: %s", strings.Join(parts, ", "))
}

func TestAliasing(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, avx2 := range paths(t) {
		for _, n := range []int{7, 65, 200} {
			x := randGuard(r, n, 0, 0, 2).s()
			y := make([]float32, n)
			softmax(y, x, 1.5, avx2)
			z := append([]float32(nil), x...)
			softmax(z, z, 1.5, avx2)
			g := make([]float32, n)
			geluVec(g, x, avx2)
			gi := append([]float32(nil), x...)
			geluVec(gi, gi, avx2)
			gy, gd := make([]float32, n), make([]float32, n)
			geluDerivVec(gy, gd, x, avx2)
			ay := append([]float32(nil), x...)
			ad := append([]float32(nil), x...)
			geluDerivVec(ay, gd[:0:0], x[:0], avx2) // empty calls are no-ops
			geluDerivVec(ay, make([]float32, n), ay, avx2)
			geluDerivVec(make([]float32, n), ad, ad, avx2)
			lx := append([]float32(nil), x...)
			w, b := make([]float32, n), make([]float32, n)
			for i := range w {
				w[i], b[i] = 1.5, 0.25
			}
			ly := make([]float32, n)
			layerNorm(ly, x, w, b, 1e-6, avx2)
			layerNorm(lx, lx, w, b, 1e-6, avx2)
			for i := range n {
				if z[i] != y[i] || gi[i] != g[i] || ay[i] != gy[i] || ad[i] != gd[i] || lx[i] != ly[i] {
					t.Fatalf("%s n=%d: aliased output differs at %d", pathName(avx2), n, i)
				}
			}
		}
	}
}

func TestShortSlicesPanic(t *testing.T) {
	for _, avx2 := range paths(t) {
		for name, f := range map[string]func(){
			"Softmax": func() { softmax(make([]float32, 3), make([]float32, 4), 1, avx2) },
			"LayerNorm": func() {
				layerNorm(make([]float32, 4), make([]float32, 4), make([]float32, 3), make([]float32, 4), 1e-6, avx2)
			},
			"GELUGrad": func() { geluGrad(make([]float32, 4), make([]float32, 2), make([]float32, 4), avx2) },
			"Dot":      func() { dot(make([]float32, 9), make([]float32, 8), avx2) },
			"Axpy":     func() { axpy(1, make([]float32, 9), make([]float32, 8), avx2) },
		} {
			func() {
				defer func() {
					msg, _ := recover().(string)
					if !strings.HasPrefix(msg, "vecmath: "+name) {
						t.Errorf("%s %s: recovered %q, want a vecmath: %s panic", pathName(avx2), name, msg, name)
					}
				}()
				f()
			}()
		}
	}
}

func TestSoftmaxScaleMustBePositive(t *testing.T) {
	for _, scale := range []float32{0, -1, float32(math.NaN())} {
		func() {
			defer func() {
				if msg, _ := recover().(string); msg != "vecmath: Softmax: scale must be positive" {
					t.Errorf("scale %g: recovered %q", scale, msg)
				}
			}()
			Softmax(make([]float32, 3), make([]float32, 3), scale)
		}()
	}
}

// TestBiasGELUTails runs BiasGELU and GELUInPlace over every length up to 40 (the 16-lane kernel's masked
// tails where the CPU has AVX-512, the 8-lane one's elsewhere) and the special values,
// against the Go path.
func TestBiasGELUTails(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, avx2 := range paths(t) {
		for n := 1; n <= 40; n++ {
			x, bias := make([]float32, n+1), make([]float32, n+1)
			for i := range x {
				x[i], bias[i] = float32(math.Sin(float64(i)*1.3))*4, float32(i%5)*0.1
			}
			x[n] = 42 // past the end: must stay
			want, plain := slices.Clone(x), slices.Clone(x)
			biasGELU(x[:n], bias, avx2)
			biasGELU(want[:n], bias, false)
			for i := range plain[:n] {
				plain[i] += bias[i]
			}
			geluInPlace(plain[:n], avx2)
			for i := range x {
				if d := math.Abs(float64(x[i] - want[i])); d > 3e-7*max(1, math.Abs(float64(want[i]))) {
					t.Fatalf("%s n=%d: element %d = %v, Go %v", pathName(avx2), n, i, x[i], want[i])
				}
				if d := math.Abs(float64(plain[i] - want[i])); d > 3e-7*max(1, math.Abs(float64(want[i]))) {
					t.Fatalf("%s n=%d: GELUInPlace element %d = %v, Go BiasGELU %v", pathName(avx2), n, i, plain[i], want[i])
				}
			}
		}
		x := []float32{inf, -inf, nan, 1e30, -1e30, 0}
		biasGELU(x, make([]float32, len(x)), avx2)
		for i, w := range []float32{inf, nan, nan, 1e30, 0, 0} {
			if !sameNaN(x[i], w) || (w == w && x[i] != w) {
				t.Errorf("%s: BiasGELU special %d = %g, want %g", pathName(avx2), i, x[i], w)
			}
		}
	}
}

// TestLayerNormRows512 checks the 16-lane row kernel against the 8-lane one (layerNorm with
// AVX2), bit for bit, for every width from 25 (the transposed kernel's limit is 24) to 200
// and several row counts and strides, and that it writes nothing outside y's rows.
func TestLayerNormRows512(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512 on this machine or build")
	}
	rng := rand.New(rand.NewPCG(19, 20))
	for c := 25; c <= 200; c++ {
		for _, rows := range []int{1, 3, 9} {
			ldx, ldy := c+5, c+3
			x := randNormal(rng, rows*ldx)
			for i := range x {
				x[i] = x[i]*3 + 7 // a mean far from zero, as a residual stream has
			}
			w, b := randNormal(rng, c), randNormal(rng, c)
			y := sentinels(rows * ldy)
			layerNormRows512(&y[0], ldy, &x[0], ldx, rows, c, &w[0], &b[0], float64(c), 1e-6)
			for r := range rows {
				want := make([]float32, c)
				layerNorm(want, x[r*ldx:r*ldx+c], w, b, 1e-6, true)
				for j := range ldy {
					got := y[r*ldy+j]
					if j >= c {
						if math.Float32bits(got) != math.Float32bits(sentinel) {
							t.Fatalf("c=%d rows=%d: wrote past row %d", c, rows, r)
						}
						continue
					}
					if math.Float32bits(got) != math.Float32bits(want[j]) {
						t.Fatalf("c=%d rows=%d: y[%d][%d] = %v, the 8-lane kernel %v", c, rows, r, j, got, want[j])
					}
				}
			}
		}
	}
}

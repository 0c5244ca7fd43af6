package predict

import (
	"errors"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// gpLengths are the RBF length scales the GP chooses from, as ℓ²/d: standardized features put
// two random points about √(2d) apart. gpNoise are the noise-to-signal variance ratios.
var (
	gpLengths = []float64{0.25, 1, 4, 16}
	gpNoise   = []float64{0.01, 0.05, 0.2, 1}
)

// gp is a Gaussian process with one isotropic RBF kernel on the standardized features,
// k(a, b) = σf²·exp(−|a − b|²/(2ℓ²)), plus noise σf²·r on the diagonal, and a zero prior mean
// (the targets are centred). ℓ and r are chosen from a grid by the marginal likelihood with
// σf² profiled out (σf² = yᵀ(K + rI)⁻¹y/n for the unit-scale kernel K).
type gp struct {
	x      [][]float64
	alpha  []float64 // (K + rI)⁻¹y
	l      []float64 // Cholesky factor of K + rI, row-major lower triangle, n×n
	n      int
	inv2l2 float64 // 1/(2ℓ²)
	r      float64
	sf2    float64
}

func (g *gp) fit(x [][]float64, y []float64) error {
	n, d := len(x), len(x[0])
	dist := make([]float64, n*n) // squared distances, computed once for the whole grid
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			s := sqDist(x[i], x[j])
			dist[i*n+j], dist[j*n+i] = s, s
		}
	}
	yv := mat.NewVecDense(n, y)
	best := math.Inf(-1)
	k := mat.NewSymDense(n, nil)
	for _, lf := range gpLengths {
		inv2l2 := 1 / (2 * lf * float64(d))
		// The off-diagonal depends on the length scale only; each noise level sets the
		// diagonal (Factorize copies k, so it is not overwritten).
		for i := 0; i < n; i++ {
			for j := 0; j < i; j++ {
				k.SetSym(i, j, math.Exp(-dist[i*n+j]*inv2l2))
			}
		}
		for _, r := range gpNoise {
			for i := 0; i < n; i++ {
				k.SetSym(i, i, 1+r)
			}
			var ch mat.Cholesky
			if !ch.Factorize(k) {
				continue
			}
			var alpha mat.VecDense
			if err := ch.SolveVecTo(&alpha, yv); err != nil {
				continue
			}
			sf2 := math.Max(mat.Dot(yv, &alpha)/float64(n), 1e-12)
			ll := -0.5*float64(n)*math.Log(sf2) - 0.5*ch.LogDet()
			if ll > best {
				best = ll
				var lt mat.TriDense
				ch.LTo(&lt)
				raw := lt.RawTriangular()
				l := make([]float64, n*n)
				for i := 0; i < n; i++ {
					copy(l[i*n:i*n+i+1], raw.Data[i*raw.Stride:i*raw.Stride+i+1])
				}
				g.x, g.alpha, g.l, g.n = x, slices.Clone(alpha.RawVector().Data), l, n
				g.inv2l2, g.r, g.sf2 = inv2l2, r, sf2
			}
		}
	}
	if g.alpha == nil {
		return errors.New("gp: no kernel setting gave a positive definite matrix")
	}
	return nil
}

// predict computes k* once, the mean k*ᵀα and the variance σf²(1 + r − |L⁻¹k*|²) by forward
// substitution: O(n·d + n²), under a millisecond for a thousand points.
func (g *gp) predict(x []float64) (float64, float64) {
	n := g.n
	v := make([]float64, n)
	mean := 0.0
	for i, xi := range g.x {
		v[i] = math.Exp(-sqDist(x, xi) * g.inv2l2)
		mean += v[i] * g.alpha[i]
	}
	// v ← L⁻¹v in place.
	q := 0.0
	for i := 0; i < n; i++ {
		s := v[i]
		row := g.l[i*n : i*n+i]
		for j, lij := range row {
			s -= lij * v[j]
		}
		v[i] = s / g.l[i*n+i]
		q += v[i] * v[i]
	}
	variance := g.sf2 * math.Max(1+g.r-q, g.r)
	return mean, math.Sqrt(variance)
}

func sqDist(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		dv := v - b[i]
		s += dv * dv
	}
	return s
}

// linearGP is ridge for the trend plus a GP on ridge's leave-one-out residuals, e_i/(1 − h_ii):
// the GP only has to learn what is not linear in the features. In-sample residuals would be
// shrunk by ridge's fit and make the GP's noise, and so its intervals, too small. Its
// uncertainty is the GP's.
type linearGP struct {
	lin ridge
	gp  gp
}

func (m *linearGP) fit(x [][]float64, y []float64) error {
	if err := m.lin.fit(x, y); err != nil {
		return err
	}
	res := make([]float64, len(y))
	for i, row := range x {
		mu, _ := m.lin.predict(row)
		xi := mat.NewVecDense(len(row), row)
		h := mat.Inner(xi, m.lin.ainv, xi)
		res[i] = (y[i] - mu) / math.Max(1-h, 1e-6)
	}
	return m.gp.fit(x, res)
}

func (m *linearGP) predict(x []float64) (float64, float64) {
	mu, _ := m.lin.predict(x)
	r, sd := m.gp.predict(x)
	return mu + r, sd
}

package predict

import (
	"errors"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// regressor is one model family, fitted on standardized features and targets.
type regressor interface {
	// fit trains on rows x (n × d) and targets y, both standardized.
	fit(x [][]float64, y []float64) error
	// predict returns the predictive mean and standard deviation of a new measurement at x,
	// in standardized units.
	predict(x []float64) (mean, std float64)
}

// ridgeLambdas are the penalties ridge chooses from, per training point (λ = c·n), by
// leave-one-out error, which ridge has in closed form.
var ridgeLambdas = []float64{1e-4, 1e-3, 1e-2, 0.1, 1}

// ridge is ridge regression read as Bayesian linear regression: weights w = (XᵀX + λI)⁻¹Xᵀy,
// noise σ² = RSS/(n − df), predictive variance σ²(1 + 1/n + xᵀ(XᵀX + λI)⁻¹x); the 1/n is the
// intercept's, the targets' mean.
type ridge struct {
	w      []float64
	ainv   *mat.SymDense // (XᵀX + λI)⁻¹
	sigma2 float64
	n      int
	lambda float64
}

func (r *ridge) fit(x [][]float64, y []float64) error {
	n, d := len(x), len(x[0])
	X := mat.NewDense(n, d, nil)
	for i, row := range x {
		X.SetRow(i, row)
	}
	var xtx mat.SymDense
	xtx.SymOuterK(1, X.T())
	var xty mat.VecDense
	xty.MulVec(X.T(), mat.NewVecDense(n, y))
	bestLOO := math.Inf(1)
	for _, c := range ridgeLambdas {
		lambda := c * float64(n)
		a := mat.NewSymDense(d, nil)
		a.CopySym(&xtx)
		for j := 0; j < d; j++ {
			a.SetSym(j, j, a.At(j, j)+lambda)
		}
		var ch mat.Cholesky
		if !ch.Factorize(a) {
			continue
		}
		var ainv mat.SymDense
		if err := ch.InverseTo(&ainv); err != nil {
			continue
		}
		var w mat.VecDense
		w.MulVec(&ainv, &xty)
		var loo, rss, df float64
		for i, row := range x {
			xi := mat.NewVecDense(d, row)
			h := mat.Inner(xi, &ainv, xi)
			res := y[i] - mat.Dot(xi, &w)
			rss += res * res
			df += h
			e := res / math.Max(1-h, 1e-6)
			loo += e * e
		}
		if loo < bestLOO {
			bestLOO = loo
			r.w, r.ainv, r.n, r.lambda = slices.Clone(w.RawVector().Data), &ainv, n, lambda
			r.sigma2 = rss / math.Max(float64(n)-df, 1)
		}
	}
	if r.ainv == nil {
		return errors.New("ridge: no penalty gave a solvable system")
	}
	r.sigma2 = math.Max(r.sigma2, 1e-8)
	return nil
}

func (r *ridge) predict(x []float64) (float64, float64) {
	v := mat.NewVecDense(len(x), x)
	mean := 0.0
	for j, w := range r.w {
		mean += w * x[j]
	}
	q := mat.Inner(v, r.ainv, v)
	return mean, math.Sqrt(r.sigma2 * (1 + 1/float64(r.n) + q))
}

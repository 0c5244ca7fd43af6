// Package predict is an online accuracy predictor for the sub-networks of one supernet: it
// learns top-1 from the architecture (an Encoder's features: the stem mid width where it is
// searchable, stage widths and depths, each block's presence, heads and MLP size, MACs and
// parameters) from every measured sub-network it is given, and knows how far to trust
// itself: Fit picks the model family with the best K-fold cross-validated Kendall τ and keeps
// every family's held-out figures.
//
// Families: "ridge" (Bayesian ridge regression, penalty by leave-one-out), "gp" (a Gaussian
// process with one isotropic RBF kernel and noise, hyperparameters by marginal likelihood) and
// "ridge+gp" (ridge's trend plus a GP on its residuals). Each gives a predictive mean and
// standard deviation. Everything is closed form and deterministic for a seed.
package predict

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// MinPoints is how many distinct measured architectures a predictor needs before it predicts:
// fewer cannot be cross-validated in DefaultFolds folds of two or more.
const MinPoints = 10

// DefaultFolds is the number of cross-validation folds.
const DefaultFolds = 5

// DefaultMaxGPPoints caps the points a GP is fitted on (a seeded subset beyond it): its cost
// grows as n³.
const DefaultMaxGPPoints = 600

// Model families.
const (
	FamilyRidge    = "ridge"
	FamilyGP       = "gp"
	FamilyRidgeGP  = "ridge+gp"
	FamilyAuto     = "" // every family, chosen by cross-validation
	TopFraction    = 0.1
	coverageFactor = 1.96
)

// Families lists the model families in the order Fit tries them.
func Families() []string { return []string{FamilyRidge, FamilyGP, FamilyRidgeGP} }

// Options configure a predictor.
type Options struct {
	Seed        uint64 // cross-validation folds and GP subsets
	Family      string // one of Families, or FamilyAuto to pick by cross-validation
	Folds       int    // DefaultFolds when 0
	MaxGPPoints int    // DefaultMaxGPPoints when 0
}

// TooFewError says that a predictor has not seen enough architectures to predict.
type TooFewError struct{ Have, Need int }

func (e *TooFewError) Error() string {
	return fmt.Sprintf("predictor: %d measured architectures, it needs at least %d", e.Have, e.Need)
}

// Scores are held-out figures of a predictor on N points.
type Scores struct {
	N        int     `json:"n"`
	Tau      float64 `json:"kendall_tau"` // Kendall τ-b of predicted against measured top-1; NaN if undefined
	MAE      float64 `json:"mae"`         // mean absolute error, points of top-1
	Coverage float64 `json:"coverage95"`  // fraction of measured values inside mean ± 1.96·std
	MeanStd  float64 `json:"mean_std"`    // average predicted standard deviation, points
}

// MarshalJSON writes an undefined τ as null.
func (s Scores) MarshalJSON() ([]byte, error) {
	type plain Scores
	out := struct {
		plain
		Tau *float64 `json:"kendall_tau"`
	}{plain: plain(s)}
	if !math.IsNaN(s.Tau) {
		out.Tau = &s.Tau
	}
	return json.Marshal(out)
}

// Quality is a family's cross-validated quality: each point predicted by a model fitted on
// the other folds, hyperparameters chosen inside the fold.
type Quality struct {
	Family string `json:"family"`
	Points int    `json:"points"` // distinct architectures
	Folds  int    `json:"folds"`
	All    Scores `json:"all"`
	Top    Scores `json:"top10"` // the points whose measured top-1 is in the top 10%
}

// Predictor learns top-1 from architectures of one space. Add and Fit may be called from one
// goroutine while Predict is called from others: Fit trains on a copy and swaps the model in.
type Predictor struct {
	enc  *Encoder
	opts Options

	mu      sync.RWMutex
	x       [][]float64 // raw features of the distinct architectures, in the order added
	y       []float64
	keys    map[string]bool
	fitted  *fitted
	quality []Quality // of every family tried by the last Fit, the chosen one first
}

// fitted is a trained model with its standardization.
type fitted struct {
	family     string
	mu, sd     []float64
	ymu, ysd   float64
	reg        regressor
	points     int
	scratchLen int
}

// New makes an empty predictor for space at input in (the space's input when zero).
func New(space *supernet.Space, in model.Input, opts Options) (*Predictor, error) {
	if opts.Family != FamilyAuto && !slices.Contains(Families(), opts.Family) {
		return nil, fmt.Errorf("predictor: family %q: want one of %v, or empty to choose by cross-validation", opts.Family, Families())
	}
	if opts.Folds == 0 {
		opts.Folds = DefaultFolds
	}
	if opts.Folds < 2 {
		return nil, fmt.Errorf("predictor: %d folds: cross-validation needs at least 2", opts.Folds)
	}
	if opts.MaxGPPoints == 0 {
		opts.MaxGPPoints = DefaultMaxGPPoints
	}
	enc, err := NewEncoder(space, in)
	if err != nil {
		return nil, err
	}
	return &Predictor{enc: enc, opts: opts, keys: map[string]bool{}}, nil
}

// Encoder returns the predictor's feature encoder.
func (p *Predictor) Encoder() *Encoder { return p.enc }

// Train is New, Add of every (archs[i], top1[i]) and Fit: a predictor fitted on measured
// architectures, or the error that stopped it (*TooFewError with too few distinct ones).
func Train(space *supernet.Space, in model.Input, opts Options, archs []model.Arch, top1 []float64) (*Predictor, error) {
	p, err := New(space, in, opts)
	if err != nil {
		return nil, err
	}
	for i, a := range archs {
		if _, err := p.Add(a, top1[i]); err != nil {
			return nil, err
		}
	}
	if err := p.Fit(); err != nil {
		return nil, err
	}
	return p, nil
}

// Add records a measured top-1 (percent) of a, a member of the space. An architecture
// already added (the same network: skipped blocks' placeholders do not count) is ignored and
// Add returns false: its first measurement stands. The model changes only at the next Fit.
func (p *Predictor) Add(a model.Arch, top1 float64) (bool, error) {
	if err := p.enc.space.Contains(a); err != nil {
		return false, fmt.Errorf("predictor: %w", err)
	}
	if math.IsNaN(top1) || math.IsInf(top1, 0) {
		return false, fmt.Errorf("predictor: top-1 %g of %s is not a number", top1, a)
	}
	f := p.enc.Encode(nil, a)
	key := featureKey(f)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys[key] {
		return false, nil
	}
	p.keys[key] = true
	p.x = append(p.x, f)
	p.y = append(p.y, top1)
	return true, nil
}

// Len is the number of distinct architectures added.
func (p *Predictor) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.y)
}

func featureKey(f []float64) string {
	b := make([]byte, 0, 8*len(f))
	for _, v := range f {
		u := math.Float64bits(v)
		for s := 0; s < 64; s += 8 {
			b = append(b, byte(u>>s))
		}
	}
	return string(b)
}

// Fit retrains on every architecture added so far: it cross-validates each family asked for,
// keeps the one with the highest held-out Kendall τ (then the lowest MAE), and fits it on all
// points. With fewer than MinPoints it returns a *TooFewError and keeps the previous model.
func (p *Predictor) Fit() error {
	p.mu.RLock()
	x, y := slices.Clone(p.x), slices.Clone(p.y)
	p.mu.RUnlock()
	if len(y) < MinPoints {
		return &TooFewError{Have: len(y), Need: MinPoints}
	}
	families := Families()
	if p.opts.Family != FamilyAuto {
		families = []string{p.opts.Family}
	}
	var qs []Quality
	for _, fam := range families {
		q, err := p.crossValidate(fam, x, y)
		if err != nil {
			return err
		}
		qs = append(qs, q)
	}
	slices.SortStableFunc(qs, func(a, b Quality) int { return compareQuality(a, b) })
	f, err := p.train(qs[0].Family, x, y)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.fitted, p.quality = f, qs
	p.mu.Unlock()
	return nil
}

// compareQuality orders the better family first: higher τ (an undefined τ is worst), then
// lower MAE; equal ones keep Families' order.
func compareQuality(a, b Quality) int {
	ta, tb := a.All.Tau, b.All.Tau
	if math.IsNaN(ta) {
		ta = math.Inf(-1)
	}
	if math.IsNaN(tb) {
		tb = math.Inf(-1)
	}
	switch {
	case ta > tb:
		return -1
	case ta < tb:
		return 1
	case a.All.MAE < b.All.MAE:
		return -1
	case a.All.MAE > b.All.MAE:
		return 1
	}
	return 0
}

// Quality returns the chosen family's cross-validated quality from the last successful Fit;
// false before one.
func (p *Predictor) Quality() (Quality, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if len(p.quality) == 0 {
		return Quality{}, false
	}
	return p.quality[0], true
}

// Qualities returns every family's cross-validated quality from the last Fit, best first.
func (p *Predictor) Qualities() []Quality {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Clone(p.quality)
}

// Predict returns the predicted top-1 of a (percent) and the standard deviation of a new
// measurement of it; ok is false before a successful Fit or when a is not in the space.
func (p *Predictor) Predict(a model.Arch) (mean, std float64, ok bool) {
	p.mu.RLock()
	f := p.fitted
	p.mu.RUnlock()
	if f == nil || p.enc.space.Contains(a) != nil {
		return 0, 0, false
	}
	mean, std = f.predict(p.enc.Encode(make([]float64, 0, f.scratchLen), a))
	return mean, std, true
}

// Score predicts each architecture with the fitted model and compares with its measured
// top-1: held-out figures when none of them was added. It needs a successful Fit.
func (p *Predictor) Score(archs []model.Arch, top1 []float64) (Scores, Scores, error) {
	if len(archs) != len(top1) {
		return Scores{}, Scores{}, errors.New("predictor: Score needs one top-1 per architecture")
	}
	pred, sd := make([]float64, len(archs)), make([]float64, len(archs))
	for i, a := range archs {
		m, s, ok := p.Predict(a)
		if !ok {
			return Scores{}, Scores{}, fmt.Errorf("predictor: cannot predict %s (not fitted, or not in the space)", a)
		}
		pred[i], sd[i] = m, s
	}
	all, top := ScoresOf(pred, sd, top1)
	return all, top, nil
}

// train fits family on every point given.
func (p *Predictor) train(family string, x [][]float64, y []float64) (*fitted, error) {
	f := &fitted{family: family, points: len(y), scratchLen: p.enc.Len()}
	d := len(x[0])
	f.mu, f.sd = make([]float64, d), make([]float64, d)
	for j := 0; j < d; j++ {
		var s, ss float64
		for _, row := range x {
			s += row[j]
		}
		m := s / float64(len(x))
		for _, row := range x {
			ss += (row[j] - m) * (row[j] - m)
		}
		f.mu[j], f.sd[j] = m, math.Sqrt(ss/float64(len(x)))
		if f.sd[j] < 1e-12 {
			f.sd[j] = 1 // a constant feature: standardized to 0 everywhere
		}
	}
	var s, ss float64
	for _, v := range y {
		s += v
	}
	f.ymu = s / float64(len(y))
	for _, v := range y {
		ss += (v - f.ymu) * (v - f.ymu)
	}
	f.ysd = math.Sqrt(ss / float64(len(y)))
	if f.ysd < 1e-9 {
		f.ysd = 1e-9 // every measurement equal: predict it, with no spread
	}
	xs := make([][]float64, len(x))
	ys := make([]float64, len(y))
	for i, row := range x {
		xs[i] = f.standardize(make([]float64, d), row)
		ys[i] = (y[i] - f.ymu) / f.ysd
	}
	if family != FamilyRidge && len(xs) > p.opts.MaxGPPoints {
		xs, ys = subset(p.opts.Seed, xs, ys, p.opts.MaxGPPoints)
	}
	switch family {
	case FamilyRidge:
		f.reg = &ridge{}
	case FamilyGP:
		f.reg = &gp{}
	case FamilyRidgeGP:
		f.reg = &linearGP{}
	}
	if err := f.reg.fit(xs, ys); err != nil {
		return nil, fmt.Errorf("predictor: %s on %d points: %w", family, len(ys), err)
	}
	return f, nil
}

func (f *fitted) standardize(dst, raw []float64) []float64 {
	for j, v := range raw {
		dst[j] = (v - f.mu[j]) / f.sd[j]
	}
	return dst
}

func (f *fitted) predict(raw []float64) (float64, float64) {
	m, s := f.reg.predict(f.standardize(raw, raw))
	return m*f.ysd + f.ymu, s * f.ysd
}

// crossValidate predicts every point from a model fitted on the other folds.
func (p *Predictor) crossValidate(family string, x [][]float64, y []float64) (Quality, error) {
	n := len(y)
	k := min(p.opts.Folds, n/2)
	perm := permutation(p.opts.Seed, n)
	pred, sd := make([]float64, n), make([]float64, n)
	for fold := 0; fold < k; fold++ {
		var tx [][]float64
		var ty []float64
		var test []int
		for pos, i := range perm {
			if pos%k == fold {
				test = append(test, i)
			} else {
				tx, ty = append(tx, x[i]), append(ty, y[i])
			}
		}
		f, err := p.train(family, tx, ty)
		if err != nil {
			return Quality{}, err
		}
		for _, i := range test {
			pred[i], sd[i] = f.predict(slices.Clone(x[i]))
		}
	}
	all, top := ScoresOf(pred, sd, y)
	return Quality{Family: family, Points: n, Folds: k, All: all, Top: top}, nil
}

// ScoresOf compares predictions (mean, std) with measurements, for all and for the top 10%.
func ScoresOf(pred, sd, y []float64) (all, top Scores) {
	score := func(idx []int) Scores {
		s := Scores{N: len(idx)}
		px, py := make([]float64, len(idx)), make([]float64, len(idx))
		inside := 0
		for k, i := range idx {
			px[k], py[k] = pred[i], y[i]
			s.MAE += math.Abs(pred[i] - y[i])
			s.MeanStd += sd[i]
			if math.Abs(pred[i]-y[i]) <= coverageFactor*sd[i] {
				inside++
			}
		}
		if len(idx) > 0 {
			s.MAE /= float64(len(idx))
			s.MeanStd /= float64(len(idx))
			s.Coverage = float64(inside) / float64(len(idx))
		}
		s.Tau = KendallTau(px, py)
		return s
	}
	every := make([]int, len(y))
	for i := range every {
		every[i] = i
	}
	return score(every), score(topIndices(y, TopFraction))
}

// rngStream is the second PCG seed word of the predictor's draws.
const rngStream = 0x7072656469637421 // "predict!"

// intn is uniform in [0, n) by Lemire's method on a PCG stream: fixed, unlike math/rand/v2's
// Rand methods, whose output may change between Go releases.
func intn(src rand.Source, n int) int {
	bound := uint64(n)
	hi, lo := bits.Mul64(src.Uint64(), bound)
	if lo < bound {
		threshold := -bound % bound
		for lo < threshold {
			hi, lo = bits.Mul64(src.Uint64(), bound)
		}
	}
	return int(hi)
}

// permutation is a seeded Fisher–Yates shuffle of 0…n−1.
func permutation(seed uint64, n int) []int {
	src := rand.NewPCG(seed, rngStream)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := intn(src, i+1)
		perm[i], perm[j] = perm[j], perm[i]
	}
	return perm
}

// subset keeps m of the points, a seeded choice, in their original order.
func subset(seed uint64, x [][]float64, y []float64, m int) ([][]float64, []float64) {
	keep := permutation(seed^0x5eed, len(y))[:m]
	slices.Sort(keep)
	sx, sy := make([][]float64, m), make([]float64, m)
	for k, i := range keep {
		sx[k], sy[k] = x[i], y[i]
	}
	return sx, sy
}

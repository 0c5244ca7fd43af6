package predict

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/supernet"
)

func TestKendallTauHandCases(t *testing.T) {
	for _, c := range []struct {
		name string
		x, y []float64
		want float64
	}{
		{"same order", []float64{1, 2, 3}, []float64{10, 20, 30}, 1},
		{"reversed", []float64{1, 2, 3}, []float64{3, 2, 1}, -1},
		// 6 pairs, only (2, 3) discordant: (5 − 1)/6.
		{"one swap", []float64{1, 2, 3, 4}, []float64{1, 3, 2, 4}, 4.0 / 6},
		// Pairs: (1,2) (1,3) (1,4) (2,4) concordant; (2,3) tied in x; (3,4) tied in y:
		// 4/√((6 − 1)(6 − 1)) = 0.8.
		{"ties in x and y", []float64{1, 2, 2, 3}, []float64{1, 2, 3, 3}, 0.8},
		// (1,2) tied in both, counted in both tie totals; (1,3), (2,3) concordant:
		// 2/√((3 − 1)(3 − 1)) = 1.
		{"a pair tied in both", []float64{1, 1, 2}, []float64{5, 5, 6}, 1},
		// 6 pairs; ties in x: (1,2); concordant (1,3) (2,3) (2,4) (3,4)... see below.
		// x = 1 1 2 3, y = 2 1 3 0: (1,2) tie x; (1,3) C; (1,4) D; (2,3) C; (2,4) D; (3,4) D.
		// (2 − 3)/√((6 − 1)·6) = −1/√30.
		{"mixed", []float64{1, 1, 2, 3}, []float64{2, 1, 3, 0}, -1 / math.Sqrt(30)},
	} {
		if got := KendallTau(c.x, c.y); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: KendallTau(%v, %v) = %v, want %v", c.name, c.x, c.y, got, c.want)
		}
	}
	for _, c := range [][2][]float64{{{1, 1, 1}, {1, 2, 3}}, {{1}, {2}}, {nil, nil}} {
		if got := KendallTau(c[0], c[1]); !math.IsNaN(got) {
			t.Errorf("KendallTau(%v, %v) = %v, want NaN (undefined)", c[0], c[1], got)
		}
	}
}

// synthetic draws n distinct random members of fmnist-wide and scores them with truth.
func synthetic(t testing.TB, n int, seed uint64, truth func(s *supernet.Space) func(a model.Arch, r *rand.Rand) float64) (*supernet.Space, []model.Arch, []float64) {
	t.Helper()
	s, err := supernet.Lookup("fmnist-wide")
	if err != nil {
		t.Fatal(err)
	}
	score := truth(s)
	r := rand.New(rand.NewPCG(seed, 1))
	seen := map[string]bool{}
	var archs []model.Arch
	var y []float64
	for len(archs) < n {
		a := s.Random(r)
		if seen[a.String()] {
			continue
		}
		seen[a.String()] = true
		archs = append(archs, a)
		y = append(y, score(a, r))
	}
	return s, archs, y
}

// macsTruth is a known accuracy: saturating in MACs, plus Gaussian noise of 0.3 points.
func macsTruth(s *supernet.Space) func(a model.Arch, r *rand.Rand) float64 {
	max := float64(profiler.MACs(s.Max(), s.Input))
	return func(a model.Arch, r *rand.Rand) float64 {
		m := float64(profiler.MACs(a, s.Input)) / max
		return 70 + 20*math.Sqrt(m) + 0.3*r.NormFloat64()
	}
}

func fitOn(t testing.TB, s *supernet.Space, opts Options, archs []model.Arch, y []float64) *Predictor {
	t.Helper()
	p, err := New(s, model.Input{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range archs {
		if _, err := p.Add(a, y[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Fit(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPredictorLearnsAKnownFunction(t *testing.T) {
	s, archs, y := synthetic(t, 200, 1, macsTruth)
	p := fitOn(t, s, Options{Seed: 7}, archs[:100], y[:100])
	for _, q := range p.Qualities() {
		t.Logf("%-8s CV τ %.3f MAE %.3f coverage %.2f | top-10%%: τ %.3f MAE %.3f", q.Family, q.All.Tau, q.All.MAE, q.All.Coverage, q.Top.Tau, q.Top.MAE)
	}
	q, ok := p.Quality()
	if !ok || q.Points != 100 || q.Folds != DefaultFolds {
		t.Fatalf("Quality() = %+v, %v", q, ok)
	}
	if q.All.Tau < 0.7 {
		t.Errorf("cross-validated τ %.3f on a function of MACs with 0.3 points of noise: want ≥ 0.7", q.All.Tau)
	}
	all, top, err := p.Score(archs[100:], y[100:])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held out: τ %.3f MAE %.3f coverage %.2f; top-10%%: τ %.3f (n %d)", all.Tau, all.MAE, all.Coverage, top.Tau, top.N)
	if all.Tau < 0.7 || all.MAE > 1.5 {
		t.Errorf("on 100 held-out points τ %.3f, MAE %.3f: want τ ≥ 0.7 and MAE ≤ 1.5", all.Tau, all.MAE)
	}
	if all.Coverage < 0.8 {
		t.Errorf("only %.0f%% of held-out points inside ±1.96 std: the intervals are too narrow", 100*all.Coverage)
	}
	if top.N != 10 {
		t.Errorf("top 10%% of 100 points has %d, want 10", top.N)
	}
}

func TestPredictorOnRandomLabels(t *testing.T) {
	s, archs, y := synthetic(t, 120, 2, macsTruth)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range y {
		y[i] = 80 + 5*r.Float64()
	}
	p := fitOn(t, s, Options{Seed: 1}, archs, y)
	for _, q := range p.Qualities() {
		t.Logf("%-8s CV τ %.3f MAE %.3f coverage %.2f", q.Family, q.All.Tau, q.All.MAE, q.All.Coverage)
		if math.Abs(q.All.Tau) > 0.2 {
			t.Errorf("%s: τ %.3f on random labels: want ≈ 0", q.Family, q.All.Tau)
		}
	}
}

func TestPredictorDeterministic(t *testing.T) {
	s, archs, y := synthetic(t, 60, 4, macsTruth)
	a := fitOn(t, s, Options{Seed: 9}, archs[:40], y[:40])
	b := fitOn(t, s, Options{Seed: 9}, archs[:40], y[:40])
	qa, _ := a.Quality()
	qb, _ := b.Quality()
	if qa != qb {
		t.Errorf("same seed and points, different quality:\n%+v\n%+v", qa, qb)
	}
	for _, x := range archs[40:] {
		ma, sa, _ := a.Predict(x)
		mb, sb, _ := b.Predict(x)
		if ma != mb || sa != sb {
			t.Fatalf("%s: predictions %v ± %v and %v ± %v differ", x, ma, sa, mb, sb)
		}
	}
}

func TestPredictorTooFewAndDuplicates(t *testing.T) {
	s, archs, y := synthetic(t, MinPoints, 5, macsTruth)
	p, err := New(s, model.Input{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < MinPoints-1; i++ {
		p.Add(archs[i], y[i])
	}
	if added, _ := p.Add(archs[0], 50); added {
		t.Error("Add of an architecture already added: want false")
	}
	var few *TooFewError
	if err := p.Fit(); !errors.As(err, &few) || few.Have != MinPoints-1 || few.Need != MinPoints {
		t.Fatalf("Fit with %d points: %v, want a TooFewError naming %d needed", MinPoints-1, err, MinPoints)
	}
	if _, _, ok := p.Predict(archs[0]); ok {
		t.Error("Predict before a successful Fit: want ok false")
	}
	p.Add(archs[MinPoints-1], y[MinPoints-1])
	if err := p.Fit(); err != nil {
		t.Fatalf("Fit with %d points: %v", MinPoints, err)
	}
	if _, _, ok := p.Predict(archs[0]); !ok {
		t.Error("Predict after Fit: want ok")
	}
	bad := archs[0].Clone()
	bad.Layers[0].MLP = 7
	if _, err := p.Add(bad, 1); err == nil {
		t.Error("Add of an architecture outside the space: want an error")
	}
	if _, err := New(s, model.Input{}, Options{Family: "forest"}); err == nil {
		t.Error("New with an unknown family: want an error")
	}
}

func TestEncoderIgnoresPlaceholders(t *testing.T) {
	s, _ := supernet.Lookup("fmnist-wide")
	e, err := NewEncoder(s, model.Input{})
	if err != nil {
		t.Fatal(err)
	}
	a := s.Max()
	a.Layers[1].Exists = false
	b := a.Clone()
	b.Layers[1].Heads, b.Layers[1].MLP = s.Layers[1].Heads[0], s.Layers[1].MLP[0]
	fa, fb := e.Encode(nil, a), e.Encode(nil, b)
	if featureKey(fa) != featureKey(fb) || len(fa) != e.Len() || len(e.Names()) != e.Len() {
		t.Errorf("encodings of one network differ or have the wrong length: %v vs %v", fa, fb)
	}
	for i, v := range e.Encode(nil, s.Max()) {
		if v != 1 {
			t.Errorf("the largest sub-network's %s is %v, want 1", e.Names()[i], v)
		}
	}
}

// BenchmarkPredict is the explorer's cost per edit, per family, at the GP's largest training set.
func BenchmarkPredict(b *testing.B) {
	s, archs, y := synthetic(b, DefaultMaxGPPoints+1, 6, macsTruth)
	for _, fam := range Families() {
		p, _ := New(s, model.Input{}, Options{Family: fam, Folds: 2})
		for i := range archs[1:] {
			p.Add(archs[i+1], y[i+1])
		}
		f, err := p.train(fam, p.x, p.y)
		if err != nil {
			b.Fatal(err)
		}
		p.fitted = f
		b.Run(fam+"/points=600", func(b *testing.B) {
			for b.Loop() {
				p.Predict(archs[0])
			}
		})
	}
}

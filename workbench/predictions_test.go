package workbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/internal/gemm/backend"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/predict"
	"github.com/resnas/resnas/supernet"
)

func devSmall(t testing.TB) *supernet.Space {
	t.Helper()
	sp, err := supernet.Lookup("dev-small")
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// randomArchs draws n architectures of sp from a fixed seed.
func randomArchs(sp *supernet.Space, seed uint64, n int) []model.Arch {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]model.Arch, n)
	for i := range out {
		out[i] = sp.Random(rng)
	}
	return out
}

// explorerScoring is how the tests' explorer scores: what journals must match.
var explorerScoring = map[string]string{"limit": "0", "recalibrate_bn": "false", "weights": "model"}

func testPredictions(sp *supernet.Space, base string, seed uint64) *Predictions {
	return NewPredictions(sp, sp.Input, PredictionsConfig{JournalBase: base, Checkpoint: "ck", Data: "dd",
		Scoring: explorerScoring, Seed: seed})
}

func waitRefits(t *testing.T, p *Predictions) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a safety net, not a timing check
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatal("refits did not settle:", err)
	}
}

func TestPredictionsSaySoUntilEnoughPoints(t *testing.T) {
	sp := devSmall(t)
	p := testPredictions(sp, "", 1)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-p.Updates() // Start says it has read the (no) journals
	archs := randomArchs(sp, 2, 40)
	for _, a := range archs[:4] {
		p.Observe(a, fakeTop1(a, sp.Input))
	}
	waitRefits(t, p)
	if got, want := p.Status(), "predictor: 4 of 10 networks measured"; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
	if _, _, ok := p.Predict(archs[5]); ok {
		t.Error("predicts from 4 points")
	}
	for _, a := range archs[4:] {
		p.Observe(a, fakeTop1(a, sp.Input))
	}
	p.Observe(archs[0], 0) // measured before: the first value stands
	waitRefits(t, p)
	select {
	case <-p.Updates():
	default:
		t.Error("no update notice after the refit")
	}
	st := p.Status()
	if !strings.HasPrefix(st, "predictor: 40 networks, τ 0.") {
		t.Errorf("status %q, want 40 networks and a positive τ", st)
	}
	mean, std, ok := p.Predict(sp.Max())
	if !ok || std <= 0 || mean < 50 || mean > 100 {
		t.Errorf("prediction of the largest: %.2f ±%.2f ok=%v", mean, std, ok)
	}
	if _, _, ok := p.Predict(model.Arch{}); ok {
		t.Error("predicts an architecture outside the space")
	}
}

// Points observed while a refit runs are taken by the next one, which follows; the last
// model is trained on every point.
func TestPredictionsCoalesceRefits(t *testing.T) {
	sp := devSmall(t)
	p := testPredictions(sp, "", 1)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, a := range randomArchs(sp, 3, 60) {
		p.Observe(a, fakeTop1(a, sp.Input))
	}
	waitRefits(t, p)
	if q, ok := p.pred.Quality(); !ok || q.Points != p.pred.Len() {
		t.Errorf("the last fit saw %d of %d points", q.Points, p.pred.Len())
	}
}

func TestPredictionsDeterministicForASeed(t *testing.T) {
	sp := devSmall(t)
	train, test := randomArchs(sp, 4, 50), randomArchs(sp, 5, 20)
	fitted := func(seed uint64) *Predictions {
		p := testPredictions(sp, "", seed)
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, a := range train {
			p.Observe(a, fakeTop1(a, sp.Input))
		}
		waitRefits(t, p)
		return p
	}
	a, b := fitted(7), fitted(7)
	if a.Status() != b.Status() {
		t.Errorf("status %q and %q", a.Status(), b.Status())
	}
	for _, x := range test {
		m1, s1, ok1 := a.Predict(x)
		m2, s2, ok2 := b.Predict(x)
		if !ok1 || !ok2 || m1 != m2 || s1 != s2 {
			t.Fatalf("%s: %v ±%v (%v) and %v ±%v (%v)", x, m1, s1, ok1, m2, s2, ok2)
		}
	}
}

// writeJournal runs a small search journaled at path with these header settings.
func writeJournal(t *testing.T, sp *supernet.Space, path, checkpoint string, scoring map[string]string, seed uint64) []evolution.Record {
	t.Helper()
	eval := evolution.EvaluatorFunc(func(ctx context.Context, a model.Arch) (evolution.Fitness, error) {
		return evolution.Fitness{Top1: fakeTop1(a, sp.Input), Images: 1000}, nil
	})
	o := evolution.Options{Seed: seed, Population: 8, Generations: 2, Parents: 3, Mutations: 3,
		Crossovers: 3, MutationProb: 0.3, CrossoverProb: 0.5, Input: sp.Input}
	s, err := evolution.New(evolution.Config{Space: sp, Evaluator: eval, Options: o, Journal: path,
		Checkpoint: checkpoint, Data: "dd", Scoring: scoring})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(); err != nil {
		t.Fatal(err)
	}
	j, err := evolution.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	return j.Records
}

// Only journals of this checkpoint, data and scoring teach the predictor at start.
func TestPredictionsReadMatchingJournals(t *testing.T) {
	sp := devSmall(t)
	dir := t.TempDir()
	var want []evolution.Record
	want = append(want, writeJournal(t, sp, filepath.Join(dir, "a.jsonl"), "ck", explorerScoring, 1)...)
	want = append(want, writeJournal(t, sp, filepath.Join(dir, "search-b.jsonl"), "ck", explorerScoring, 2)...)
	writeJournal(t, sp, filepath.Join(dir, "other-checkpoint.jsonl"), "other", explorerScoring, 3)
	writeJournal(t, sp, filepath.Join(dir, "quick.jsonl"), "ck", map[string]string{"limit": "256", "recalibrate_bn": "false", "weights": "model"}, 4)
	writeJournal(t, sp, filepath.Join(dir, "recal.jsonl"), "ck", map[string]string{"limit": "0", "recalibrate_bn": "true", "weights": "model"}, 5)
	if err := os.WriteFile(filepath.Join(dir, "notes.jsonl"), []byte("{\"kind\":\"note\"}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := testPredictions(sp, filepath.Join(dir, "explorer.jsonl"), 1)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitRefits(t, p)
	ref, err := predict.New(sp, sp.Input, predict.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range want {
		ref.Add(r.Arch, r.Top1)
	}
	if p.journals != 2 || p.pred.Len() != ref.Len() {
		t.Fatalf("read %d journals, %d networks; want 2 journals, %d networks", p.journals, p.pred.Len(), ref.Len())
	}
	if want := fmt.Sprintf("predictor: %d networks, τ ", ref.Len()); !strings.HasPrefix(p.Status(), want) {
		t.Errorf("status %q, want it to start %q", p.Status(), want)
	}
}

// A damaged journal of the explorer's scores is reported; the others still count.
func TestPredictionsReportDamagedJournal(t *testing.T) {
	sp := devSmall(t)
	dir := t.TempDir()
	good := writeJournal(t, sp, filepath.Join(dir, "a.jsonl"), "ck", explorerScoring, 1)
	bad := filepath.Join(dir, "b.jsonl")
	writeJournal(t, sp, bad, "ck", explorerScoring, 2)
	b, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	lines[2] = "garbage\n" // damage before the last line is an error, not a torn write
	if err := os.WriteFile(bad, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	p := testPredictions(sp, filepath.Join(dir, "explorer.jsonl"), 1)
	err = p.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "b.jsonl") {
		t.Errorf("Start: %v, want an error naming b.jsonl", err)
	}
	waitRefits(t, p)
	if p.journals != 1 || p.pred.Len() == 0 || p.pred.Len() > len(good) {
		t.Errorf("%d journals, %d networks; want the %d records of a.jsonl", p.journals, p.pred.Len(), len(good))
	}
}

// BenchmarkPredictionsPredict is the cost of a prediction the explorer makes on each edit:
// memoized, and not.
func BenchmarkPredictionsPredict(b *testing.B) {
	sp := devSmall(b)
	p := testPredictions(sp, "", 1)
	if err := p.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	for _, a := range randomArchs(sp, 4, 200) {
		p.Observe(a, fakeTop1(a, sp.Input))
	}
	if err := p.Wait(context.Background()); err != nil {
		b.Fatal(err)
	}
	archs := randomArchs(sp, 9, 1024)
	b.Run("memoized", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p.Predict(archs[0])
		}
	})
	b.Run("new", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p.pred.Predict(archs[i%len(archs)])
		}
	})
}

// The session's predictor learns from the journals of the explorer's own searches (same
// checkpoint, data and scoring: SearchConfig's), not from those of other scoring.
func TestSessionPredictionsReadTheExplorersJournals(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the shipped checkpoint")
	}
	l, err := Load("", LoadOptions{})
	if err != nil {
		t.Skip(err)
	}
	set, err := OpenData("", "")
	if err != nil {
		t.Skip(err)
	}
	defer set.Close()
	sel, err := backend.Open(backend.Options{Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer sel.Close()
	s, err := NewSession(l, set, sel, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	base := filepath.Join(dir, "explorer.jsonl")
	run := func(journal string, recalibrate bool) []evolution.Record {
		o := BudgetOptions(Budget{Generations: 2})
		o.Population, o.Parents, o.Mutations, o.Crossovers = 8, 3, 3, 3
		cfg := s.SearchConfig(SearchSpec{Options: o, Journal: journal, RecalibrateBN: recalibrate})
		cfg.Evaluator = evolution.EvaluatorFunc(func(ctx context.Context, a model.Arch) (evolution.Fitness, error) {
			return evolution.Fitness{Top1: fakeTop1(a, l.Input), Images: set.Len()}, nil // no inference
		})
		sr, err := evolution.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := sr.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := sr.Wait(); err != nil {
			t.Fatal(err)
		}
		return sr.Records(0)
	}
	mine := run(SearchJournal(base, Budget{Generations: 2}, time.Unix(0, 0)), false)
	run(filepath.Join(dir, "recalibrated.jsonl"), true)
	p := s.Predictions(base, 0)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitRefits(t, p)
	ref, err := predict.New(l.Space, l.Input, predict.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range mine {
		ref.Add(r.Arch, r.Top1)
	}
	if p.journals != 1 || p.pred.Len() != ref.Len() || ref.Len() == 0 {
		t.Errorf("read %d journals, %d networks; want the explorer's journal and its %d networks", p.journals, p.pred.Len(), ref.Len())
	}
}

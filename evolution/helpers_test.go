package evolution

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/stats"
	"github.com/resnas/resnas/supernet"
)

// testSpace is a small three-stage space shaped like the reference's: alternating fixed and
// skippable blocks, descending choices, reductions that widen.
func testSpace() *supernet.Space {
	block := func(heads []int, d int, mlp []int, skip bool) supernet.LayerChoices {
		return supernet.LayerChoices{Type: model.TypeBlock, Heads: heads, HeadDim: d, MLP: mlp, Skippable: skip}
	}
	sr := func(w ...int) supernet.LayerChoices {
		return supernet.LayerChoices{Type: model.TypeReduction, Widths: w}
	}
	h1, m1 := []int{3, 2, 1}, []int{96, 80, 64, 48}
	h2, m2 := []int{4, 3, 2}, []int{192, 160, 128, 96}
	h3, m3 := []int{4, 3, 2}, []int{288, 240, 192, 144}
	return &supernet.Space{
		Name: "evotest", Input: model.Input{Size: 32, Channels: 1, Patch: 4}, Classes: 10,
		StemType: model.TypeConvStem, StemMid: model.DefaultStemMid, Widths: []int{32, 28, 24, 20},
		Layers: []supernet.LayerChoices{
			block(h1, 16, m1, false), block(h1, 16, m1, true), block(h1, 16, m1, false), block(h1, 16, m1, true),
			sr(64, 56, 48),
			block(h2, 16, m2, false), block(h2, 16, m2, true), block(h2, 16, m2, false), block(h2, 16, m2, true),
			sr(96, 88, 80),
			block(h3, 32, m3, false), block(h3, 32, m3, true), block(h3, 32, m3, false),
		},
	}
}

// midWindow is a reference-style MACs window whose ceiling sits between the space's extremes.
func midWindow(s *supernet.Space, frac float64) Constraints {
	lo, hi := profiler.MACs(s.Min(), s.Input), profiler.MACs(s.Max(), s.Input)
	return MACsWindow(lo+int64(frac*float64(hi-lo)), ReferenceWindowRatio)
}

// score is a deterministic stand-in for accuracy: smooth in the architecture's capacity, with
// a little hash noise so that architectures of equal capacity differ.
func score(a model.Arch) float64 {
	var capacity float64
	for i, l := range a.Layers {
		if l.Type == model.TypeBlock && l.Exists {
			w := 1 + float64(i)/8
			capacity += w * (math.Log(float64(l.Heads*l.HeadDim)) + math.Log(float64(l.MLP)) + math.Log(float64(l.Dim)))
		}
	}
	h := fnv.New64a()
	h.Write([]byte(a.String()))
	noise := float64(h.Sum64()%1000) / 1000
	return 95*capacity/(capacity+150) + 2*noise // below 97 for any space
}

// fakeEvaluator scores with score and counts completed evaluations per network. before,
// if set, runs first with the number of evaluations the search has done; an error from it
// is returned as the evaluator's.
type fakeEvaluator struct {
	space  *supernet.Space // for canonicalKey
	mu     sync.Mutex
	calls  map[string]int
	before func(ctx context.Context, done int, a model.Arch) error
	search *Search // set by the test after New, for before
}

func newFake() *fakeEvaluator { return newFakeFor(testSpace()) }

func newFakeFor(s *supernet.Space) *fakeEvaluator {
	return &fakeEvaluator{space: s, calls: map[string]int{}}
}

func (f *fakeEvaluator) Evaluate(ctx context.Context, a model.Arch) (Fitness, error) {
	if f.before != nil {
		done := 0
		if f.search != nil {
			done = f.search.Snapshot().Evaluated
		}
		if err := f.before(ctx, done, a); err != nil {
			return Fitness{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return Fitness{}, err
	}
	f.mu.Lock()
	f.calls[canonicalKey(f.space, a)]++
	f.mu.Unlock()
	t := score(a)
	return Fitness{Top1: t, Top5: math.Min(100, t+10), Images: 1000, Correct: fakeCorrect(a, t, 1000)}, nil
}

// fakeCorrect marks about top1% of n images right, which ones drawn from the def's hash.
func fakeCorrect(a model.Arch, top1 float64, n int) stats.Bitset {
	b := stats.NewBitset(n)
	for i := 0; i < n; i++ {
		h := fnv.New64a()
		fmt.Fprintf(h, "%s/%d", a.String(), i)
		if float64(h.Sum64()%10000) < top1*100 {
			b.Set(i)
		}
	}
	return b
}

// count is how many times a's network (see canonicalKey) was evaluated.
func (f *fakeEvaluator) count(a model.Arch) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[canonicalKey(f.space, a)]
}

// fakeMeter reports a throughput inversely proportional to MACs and counts measurements.
type fakeMeter struct {
	mu    sync.Mutex
	calls map[string]int
	in    model.Input
}

func (m *fakeMeter) Throughput(ctx context.Context, a model.Arch) (float64, error) {
	m.mu.Lock()
	m.calls[a.String()]++
	m.mu.Unlock()
	return 1e10 / float64(profiler.MACs(a, m.in)), nil
}

// smallOptions keep a test search to a few hundred milliseconds.
func smallOptions(s *supernet.Space, seed uint64) Options {
	return Options{Seed: seed, Population: 12, Generations: 4, Parents: 5, Mutations: 5, Crossovers: 5,
		MutationProb: 0.3, CrossoverProb: 0.5, Constraints: midWindow(s, 0.5)}
}

// runSearch runs a search to its end and returns the error and the search.
func runSearch(t *testing.T, cfg Config, ev *fakeEvaluator) (*Search, error) {
	t.Helper()
	cfg.Evaluator = ev
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ev.search = s
	go func() {
		for range s.Events() {
		}
	}()
	return s, s.Run(context.Background())
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// csvOf runs cfg to the end in a fresh directory and returns search.csv.
func csvOf(t *testing.T, cfg Config) string {
	t.Helper()
	cfg.OutputDir = t.TempDir()
	if _, err := runSearch(t, cfg, newFake()); err != nil {
		t.Fatal(err)
	}
	return readFile(t, filepath.Join(cfg.OutputDir, CSVFile))
}

// killAt runs cfg with ev until ev is about to start its evaluation after k done, then
// cancels the search as a kill would; Run must end with context.Canceled. It returns the
// interrupted search, whose journal a later run resumes.
func killAt(t *testing.T, cfg Config, ev *fakeEvaluator, k int) *Search {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev.before = func(_ context.Context, done int, _ model.Arch) error {
		if done == k {
			cancel()
		}
		return nil
	}
	c := cfg
	c.Evaluator = ev
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	ev.search = s
	go func() {
		for range s.Events() {
		}
	}()
	if err := s.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("kill at %d: Run returned %v, want context.Canceled", k, err)
	}
	return s
}

// runSummaries runs cfg to the end with a fresh fake evaluator and returns the search and
// the summaries of its generation events, in order.
func runSummaries(t *testing.T, cfg Config) (*Search, []GenerationSummary) {
	t.Helper()
	cfg.Evaluator = newFake()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var sums []GenerationSummary
	done := make(chan struct{})
	go func() {
		for e := range s.Events() {
			if e.Kind == EventGeneration {
				sums = append(sums, e.Summary)
			}
		}
		close(done)
	}()
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-done
	return s, sums
}

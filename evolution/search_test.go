package evolution

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/supernet"
)

func baseConfig(t *testing.T, seed uint64) Config {
	s := testSpace()
	return Config{Space: s, Options: smallOptions(s, seed), Checkpoint: "c0ffee", Data: "d47a"}
}

func TestSameSeedSameSearch(t *testing.T) {
	a := csvOf(t, baseConfig(t, 7))
	b := csvOf(t, baseConfig(t, 7))
	if a != b {
		t.Fatal("two searches with seed 7 wrote different CSVs")
	}
	if c := csvOf(t, baseConfig(t, 8)); c == a {
		t.Fatal("seeds 7 and 8 wrote the same CSV")
	}
	if n := strings.Count(a, "\n"); n != 1+12+3*10 {
		t.Errorf("CSV has %d lines, want a header and %d rows", n, 12+3*10)
	}
}

func TestCandidatesAreInTheSpaceAndTheConstraints(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		cfg := baseConfig(t, seed)
		sp := cfg.Space
		cons := cfg.Options.Constraints
		cons.MaxParams = (profiler.Params(sp.Min(), sp.Input) + profiler.Params(sp.Max(), sp.Input)) / 2
		cons.MinThroughput = 1e10 / float64(cons.MaxMACs) * 1.005 // cuts off the top of the window
		cfg.Options.Constraints = cons
		meter := &fakeMeter{calls: map[string]int{}, in: sp.Input}
		cfg.Throughput = meter
		ev := newFake()
		s, err := runSearch(t, cfg, ev)
		if err != nil {
			t.Fatal(err)
		}
		recs := s.Records(0)
		if len(recs) != cfg.Options.Evaluations() {
			t.Fatalf("%d records, want %d", len(recs), cfg.Options.Evaluations())
		}
		seen := map[string]bool{}
		for _, r := range recs {
			if err := sp.Contains(r.Arch); err != nil {
				t.Fatalf("record %d: %v", r.Index, err)
			}
			if r.MACs < cons.MinMACs || r.MACs > cons.MaxMACs || r.Params > cons.MaxParams || r.Throughput < cons.MinThroughput {
				t.Fatalf("record %d (%d MACs, %d params, %g img/s) breaks %v", r.Index, r.MACs, r.Params, r.Throughput, cons)
			}
			if r.NetworkDef != r.Arch.String() || r.MACs != profiler.MACs(r.Arch, sp.Input) {
				t.Fatalf("record %d is inconsistent: %+v", r.Index, r)
			}
			if ev.count(r.Arch) != 1 {
				t.Fatalf("%s evaluated %d times", r.NetworkDef, ev.count(r.Arch))
			}
			if dup := seen[canonicalKey(sp, r.Arch)]; dup {
				t.Fatalf("record %d repeats an evaluated network", r.Index)
			}
			seen[canonicalKey(sp, r.Arch)] = true
		}
		for k, n := range meter.calls {
			if n != 1 {
				t.Fatalf("throughput of %s measured %d times", k, n)
			}
		}
		checkFront(t, &s.front, recs)
	}
}

func TestParentsComeFromTheTopOfTheHistory(t *testing.T) {
	cfg := baseConfig(t, 11)
	s, err := runSearch(t, cfg, newFake())
	if err != nil {
		t.Fatal(err)
	}
	recs := s.Records(0)
	for _, r := range recs {
		if r.Generation == 0 {
			if r.Origin != OriginRandom || len(r.Parents) != 0 {
				t.Fatalf("generation 0 record %d: origin %s parents %v", r.Index, r.Origin, r.Parents)
			}
			continue
		}
		// The parents must be among the top-5 of everything evaluated before the generation.
		var before []Record
		for _, b := range recs {
			if b.Generation < r.Generation {
				before = append(before, b)
			}
		}
		for _, p := range r.Parents {
			rank := 0
			for _, b := range before {
				if better(b, recs[p]) < 0 {
					rank++
				}
			}
			if rank >= cfg.Options.Parents {
				t.Fatalf("record %d (%s) has parent %d ranked %d", r.Index, r.Origin, p, rank)
			}
		}
	}
}

// TestResumeAfterKill cancels the search at various evaluation counts, then resumes it from
// its journal until the end: the result must equal the uninterrupted search's, and no
// journaled candidate may be evaluated again.
func TestResumeAfterKill(t *testing.T) {
	want := csvOf(t, baseConfig(t, 5))
	total := baseConfig(t, 5).Options.Evaluations()
	r := newRNG(99)
	for trial := range 4 {
		dir := t.TempDir()
		cfg := baseConfig(t, 5)
		cfg.Journal = filepath.Join(dir, "journal.jsonl")
		cfg.OutputDir = dir
		ev := newFake()
		kills := []int{1 + r.intn(total/2), total/2 + 1 + r.intn(total/2-1)}
		if trial == 0 {
			kills = []int{12, 22} // generation boundaries
		}
		for _, k := range kills {
			if s := killAt(t, cfg, ev, k); s.State() != StateStopped {
				t.Fatalf("kill at %d: state %v", k, s.State())
			}
		}
		ev.before = nil
		s, err := runSearch(t, cfg, ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, filepath.Join(dir, CSVFile)); got != want {
			t.Fatalf("kills at %v: resumed CSV differs from the uninterrupted one:\n%s\nwant\n%s", kills, got, want)
		}
		for _, rec := range s.Records(0) {
			if n := ev.count(rec.Arch); n != 1 {
				t.Fatalf("kills at %v: %s evaluated %d times", kills, rec.NetworkDef, n)
			}
		}
	}
}

func TestResumeAfterTornLastLine(t *testing.T) {
	want := csvOf(t, baseConfig(t, 6))
	dir := t.TempDir()
	cfg := baseConfig(t, 6)
	cfg.Journal = filepath.Join(dir, "journal.jsonl")
	cfg.OutputDir = dir
	ev := newFake()
	killAt(t, cfg, ev, 17)
	// Tear the last line in half, as a kill during its write would.
	data := readFile(t, cfg.Journal)
	lastStart := strings.LastIndex(strings.TrimSuffix(data, "\n"), "\n") + 1
	torn := data[lastStart:]
	if err := os.WriteFile(cfg.Journal, []byte(data[:lastStart+len(torn)/2]), 0o644); err != nil {
		t.Fatal(err)
	}
	ev.before = nil
	c := cfg
	c.Evaluator = ev
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if s.Resumed() != 16 {
		t.Fatalf("resumed %d evaluations, want the 16 before the torn line", s.Resumed())
	}
	var warned bool
	done := make(chan struct{})
	go func() {
		for e := range s.Events() {
			if e.Kind == EventWarning && strings.Contains(e.Message, "truncated last line") {
				warned = true
			}
		}
		close(done)
	}()
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-done
	if !warned {
		t.Error("no warning about the truncated line")
	}
	if got := readFile(t, filepath.Join(dir, CSVFile)); got != want {
		t.Fatal("CSV after resuming a torn journal differs from the uninterrupted one")
	}
	// Only the torn record's architecture was evaluated twice.
	twice := 0
	for _, r := range s.Records(0) {
		if ev.count(r.Arch) > 1 {
			twice++
			if r.Index != 16 {
				t.Errorf("record %d evaluated %d times", r.Index, ev.count(r.Arch))
			}
		}
	}
	if twice != 1 {
		t.Errorf("%d records evaluated twice, want only the torn one", twice)
	}
	if _, err := ReadJournal(cfg.Journal); err != nil {
		t.Fatalf("journal unreadable after resume: %v", err)
	}
}

func TestJournalOfAnotherSupernetIsRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := baseConfig(t, 1)
	cfg.Journal = filepath.Join(dir, "journal.jsonl")
	cfg.Options.Generations = 1
	if _, err := runSearch(t, cfg, newFake()); err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.Checkpoint = "beef"
	other.Evaluator = newFake()
	_, err := New(other)
	if err == nil || !strings.Contains(err.Error(), "c0ffee") || !strings.Contains(err.Error(), "beef") {
		t.Fatalf("New with another checkpoint: %v, want an error naming both hashes", err)
	}
	other = cfg
	other.Space = testSpace()
	other.Space.Name = "elsewhere"
	other.Evaluator = newFake()
	if _, err := New(other); err == nil || !strings.Contains(err.Error(), "elsewhere") {
		t.Fatalf("New with another space: %v", err)
	}
	other = cfg
	other.Options.Seed = 2
	other.Evaluator = newFake()
	if _, err := New(other); err == nil || !strings.Contains(err.Error(), "seed") {
		t.Fatalf("New with another seed: %v", err)
	}
	// More generations extend the search.
	more := cfg
	more.Options.Generations = 2
	s, err := runSearch(t, more, newFake())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Records(0)); n != more.Options.Evaluations() {
		t.Fatalf("extended search has %d records, want %d", n, more.Options.Evaluations())
	}
}

// TestJournalOfOtherScoringIsRefused: scores of two evaluator settings (say 20 images against
// all of them) must never be ranked in one journal; settings only recorded are not compared,
// and a journal that did not record a scoring setting still resumes.
func TestJournalOfOtherScoringIsRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := baseConfig(t, 1)
	cfg.Journal = filepath.Join(dir, "journal.jsonl")
	cfg.Options.Generations = 1
	cfg.Scoring = map[string]string{"limit": "0"}
	cfg.Meta = map[string]string{"gemm": "openblas"}
	if _, err := runSearch(t, cfg, newFake()); err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.Scoring = map[string]string{"limit": "20"}
	other.Evaluator = newFake()
	_, err := New(other)
	if err == nil || !strings.Contains(err.Error(), "limit 20, the journal was written with 0") || !strings.Contains(err.Error(), cfg.Journal) {
		t.Fatalf("New with another limit: %v, want an error naming both limits and the journal", err)
	}
	same := cfg
	same.Meta = map[string]string{"gemm": "go"}
	same.Scoring = map[string]string{"limit": "0", "weights": "model"}
	same.Evaluator = newFake()
	if _, err := New(same); err != nil {
		t.Fatalf("New with another GEMM and a newly recorded setting: %v", err)
	}
}

func TestSteeringIsReplayed(t *testing.T) {
	s0 := testSpace()
	injected := s0.Max()
	injected.Layers[1].Exists = false
	tight := midWindow(s0, 0.3)
	steps := func(ev *fakeEvaluator) {
		fired := map[int]bool{}
		ev.before = func(_ context.Context, done int, _ model.Arch) error {
			if fired[done] {
				return nil
			}
			fired[done] = true
			s := ev.search
			switch done {
			case 3:
				if err := s.Inject(injected); err != nil {
					return err
				}
			case 14:
				if err := s.SetMutationProb(0.8); err != nil {
					return err
				}
			case 20:
				if err := s.SetConstraints(tight); err != nil {
					return err
				}
			}
			return nil
		}
	}
	run := func(journal string, killAt int) (string, *fakeEvaluator) {
		dir := t.TempDir()
		cfg := baseConfig(t, 3)
		cfg.Journal = journal
		cfg.OutputDir = dir
		ev := newFake()
		steps(ev)
		if killAt > 0 {
			hook := ev.before
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ev.before = func(c context.Context, done int, a model.Arch) error {
				if done == killAt {
					cancel()
				}
				return hook(c, done, a)
			}
			c := cfg
			c.Evaluator = ev
			s, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			ev.search = s
			s.Run(ctx)
			ev2 := newFake()
			steps(ev2)
			ev = ev2
		}
		s, err := runSearch(t, cfg, ev)
		if err != nil {
			t.Fatal(err)
		}
		snap := s.Snapshot()
		if snap.MutationProb != 0.8 || snap.Constraints != tight {
			t.Fatalf("steering did not take: %+v", snap)
		}
		var found bool
		for _, r := range s.Records(0) {
			if r.Origin == OriginInject {
				found = true
				if r.Index != 4 || r.NetworkDef != injected.String() {
					t.Fatalf("injected record %+v, want index 4", r)
				}
			}
			if r.Index > 21 && r.Origin != OriginInject && (r.MACs < tight.MinMACs || r.MACs > tight.MaxMACs) {
				t.Fatalf("record %d has %d MACs after the window became %v", r.Index, r.MACs, tight)
			}
		}
		if !found {
			t.Fatal("no injected record")
		}
		return readFile(t, filepath.Join(dir, CSVFile)), ev
	}
	want, _ := run(filepath.Join(t.TempDir(), "j.jsonl"), 0)
	for _, kill := range []int{2, 9, 17, 25} {
		got, _ := run(filepath.Join(t.TempDir(), "j.jsonl"), kill)
		if got != want {
			t.Fatalf("killed at %d: steered search resumed differently:\n%s\nwant\n%s", kill, got, want)
		}
	}
	if out := csvOf(t, baseConfig(t, 3)); out == want {
		t.Fatal("steering changed nothing")
	}
}

func TestPauseResumeStop(t *testing.T) {
	want := csvOf(t, baseConfig(t, 4))
	dir := t.TempDir()
	cfg := baseConfig(t, 4)
	cfg.Journal = filepath.Join(dir, "journal.jsonl")
	cfg.OutputDir = dir
	ev := newFake()
	paused := make(chan struct{})
	var interrupted, blocked bool
	ev.before = func(ctx context.Context, done int, _ model.Arch) error {
		switch {
		case done == 8 && !blocked:
			// An evaluation that only ends when interrupted: Pause must cut it short.
			blocked = true
			ev.search.Pause()
			<-ctx.Done()
			interrupted = true
			return ctx.Err()
		case done == 30:
			ev.search.Stop()
			<-ctx.Done()
			return ctx.Err()
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
		for e := range s.Events() {
			if e.Kind == EventState && e.State == StatePaused {
				close(paused)
			}
		}
	}()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-paused
	if got := s.Snapshot(); got.State != StatePaused || got.Evaluated != 8 {
		t.Fatalf("paused search: state %v with %d evaluations, want paused at 8", got.State, got.Evaluated)
	}
	s.Resume()
	if err := s.Wait(); err != nil {
		t.Fatal(err)
	}
	if !interrupted || s.State() != StateStopped || len(s.Records(0)) != 30 {
		t.Fatalf("interrupted=%v state=%v records=%d, want a stop after 30", interrupted, s.State(), len(s.Records(0)))
	}
	if err := s.Inject(cfg.Space.Max()); !errors.Is(err, ErrEnded) {
		t.Errorf("Inject after the end: %v, want ErrEnded", err)
	}
	contents, err := ReadJournal(cfg.Journal)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, a := range contents.Actions {
		kinds = append(kinds, string(a.Kind))
	}
	if strings.Join(kinds, ",") != "pause,resume,stop" {
		t.Errorf("journaled actions %v, want pause, resume, stop", kinds)
	}
	ev.before = nil
	if _, err := runSearch(t, cfg, ev); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, CSVFile)); got != want {
		t.Fatal("paused, stopped and resumed search differs from the uninterrupted one")
	}
}

func TestEventsNeverBlockTheSearch(t *testing.T) {
	cfg := baseConfig(t, 9)
	cfg.EventBuffer = 1
	ev := newFake()
	cfg.Evaluator = ev
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil { // nobody reads the events
		t.Fatal(err)
	}
	n := 0
	for range s.Events() {
		n++
	}
	if n != 1 {
		t.Errorf("%d events buffered, want 1", n)
	}
	if s.State() != StateFinished {
		t.Errorf("state %v", s.State())
	}
}

func TestGenerationSummaries(t *testing.T) {
	cfg := baseConfig(t, 10)
	now := time.Unix(0, 0)
	cfg.Clock = func() time.Time {
		now = now.Add(time.Minute)
		return now
	}
	_, sums := runSummaries(t, cfg)
	if len(sums) != cfg.Options.Generations {
		t.Fatalf("%d generation events, want %d", len(sums), cfg.Options.Generations)
	}
	prev := 0.0
	for i, g := range sums {
		if g.Generation != i || g.Best.Top1 < prev || g.FrontSize < 1 || g.Median <= 0 {
			t.Fatalf("summary %d: %+v", i, g)
		}
		prev = g.Best.Top1
	}
	for i, g := range sums {
		// The clock moves a minute per reading: one at each generation's first live
		// evaluation and one at its end.
		if want := float64(g.Evaluated); g.EvalsPerMinute != want {
			t.Errorf("generation %d: %g evaluations per minute, want %g", i, g.EvalsPerMinute, want)
		}
	}
	if sums[3].Best.Top1 <= sums[0].Best.Top1 {
		t.Errorf("no progress over the random generation: %g → %g", sums[0].Best.Top1, sums[3].Best.Top1)
	}
}

func TestTinyWindowAcceptsDuplicates(t *testing.T) {
	cfg := baseConfig(t, 12)
	sp := cfg.Space
	max := profiler.MACs(sp.Max(), sp.Input)
	cfg.Options.Constraints = Constraints{MinMACs: max, MaxMACs: max} // only the largest fits
	cfg.Options.Population, cfg.Options.Generations, cfg.Options.Mutations, cfg.Options.Crossovers = 3, 2, 1, 1
	ev := newFake()
	s, err := runSearch(t, cfg, ev)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Records(0)); n != cfg.Options.Evaluations() {
		t.Fatalf("%d records", n)
	}
	if n := ev.count(sp.Max()); n != 1 {
		t.Fatalf("the only candidate was evaluated %d times, want once (then cached)", n)
	}
}

func TestBadSettingsAreRefused(t *testing.T) {
	sp := testSpace()
	for _, c := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"window below the space", func(c *Config) { c.Options.Constraints = Constraints{MaxMACs: 1000} }, "smallest"},
		{"window above the space", func(c *Config) { c.Options.Constraints = Constraints{MinMACs: 1 << 40} }, "largest"},
		{"throughput without meter", func(c *Config) { c.Options.Constraints.MinThroughput = 5 }, "meter"},
		{"no population", func(c *Config) { c.Options.Population = 0 }, "population"},
		{"mutation probability", func(c *Config) { c.Options.MutationProb = 1.5 }, "mutation probability"},
	} {
		cfg := Config{Space: sp, Evaluator: newFake(), Options: smallOptions(sp, 1)}
		c.mod(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	s, _ := New(Config{Space: sp, Evaluator: newFake(), Options: smallOptions(sp, 1)})
	bad := sp.Max()
	bad.Layers[0].Heads = 7
	if err := s.Inject(bad); err == nil {
		t.Error("Inject accepted an architecture outside the space")
	}
}

// TestShippedSpaces runs a short search on every space resnas ships, with a reference-style
// window in the middle of its MACs range.
func TestShippedSpaces(t *testing.T) {
	for _, name := range supernet.Names() {
		sp, err := supernet.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		opts := smallOptions(sp, 1)
		ev := newFakeFor(sp)
		s, err := runSearch(t, Config{Space: sp, Options: opts}, ev)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, r := range s.Records(0) {
			if err := sp.Contains(r.Arch); err != nil {
				t.Fatalf("%s: record %d: %v", name, r.Index, err)
			}
			if r.MACs < opts.Constraints.MinMACs || r.MACs > opts.Constraints.MaxMACs {
				t.Fatalf("%s: record %d has %d MACs, outside %v", name, r.Index, r.MACs, opts.Constraints)
			}
		}
	}
}

// TestConcurrentSteering steers from another goroutine while the search runs; under -race it
// checks that the steering calls and the snapshot accessors are goroutine-safe.
func TestConcurrentSteering(t *testing.T) {
	cfg := baseConfig(t, 13)
	cfg.Journal = filepath.Join(t.TempDir(), "journal.jsonl")
	ev := newFake()
	cfg.Evaluator = ev
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range s.Events() {
		}
	}()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := newRNG(13)
	for i := range 300 {
		var err error
		switch i % 5 {
		case 0:
			err = s.SetMutationProb(r.float64())
		case 1:
			err = s.Inject(sampleUniform(r, cfg.Space, cfg.Space.Max()))
		case 2:
			s.Pause()
		case 3:
			s.Resume()
		case 4:
			_ = s.Snapshot()
			_ = s.Records(i)
		}
		if err != nil && !errors.Is(err, ErrEnded) {
			t.Fatal(err)
		}
	}
	s.Resume()
	if err := s.Wait(); err != nil {
		t.Fatal(err)
	}
	// Replaying what was journaled must give the same search.
	before := s.Records(0)
	again, err := runSearch(t, cfg, newFake())
	if err != nil {
		t.Fatal(err)
	}
	after := again.Records(0)
	if len(after) != len(before) {
		t.Fatalf("replay has %d records, the run had %d", len(after), len(before))
	}
	for i := range before {
		if before[i].NetworkDef != after[i].NetworkDef || before[i].Origin != after[i].Origin {
			t.Fatalf("record %d differs on replay", i)
		}
	}
}

// TestSecondWriterIsRefused: while one search writes a journal, a second search on the same
// file fails with a clear message instead of interleaving lines, and the first finishes with
// the same results as if it had been alone.
func TestSecondWriterIsRefused(t *testing.T) {
	want := csvOf(t, baseConfig(t, 7))
	dir := t.TempDir()
	cfg := baseConfig(t, 7)
	cfg.Journal = filepath.Join(dir, "journal.jsonl")
	cfg.OutputDir = dir
	first := newFake()
	started, release := make(chan struct{}), make(chan struct{})
	first.before = func(_ context.Context, done int, _ model.Arch) error {
		if done == 3 {
			close(started)
			<-release
		}
		return nil
	}
	errc := make(chan error, 1)
	go func() {
		_, err := runSearch(t, cfg, first)
		errc <- err
	}()
	<-started

	second := cfg
	second.OutputDir = t.TempDir()
	second.Evaluator = newFake()
	s, err := New(second)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range s.Events() {
		}
	}()
	err = s.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "in use by another search") {
		t.Fatalf("second search on a journal in use: %v", err)
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, CSVFile)); got != want {
		t.Fatalf("the first search's results changed:\n%s\nwant\n%s", got, want)
	}
	// Once the first has ended, the journal is free again: a rerun resumes it.
	if _, err := runSearch(t, cfg, newFake()); err != nil {
		t.Fatal(err)
	}
}

// asyncFake is the fake evaluator behind a pool of three: candidates finish out of order.
func asyncFake(ev *fakeEvaluator) (*Pool, *fakeEvaluator) { return NewPool(ev, 3), ev }

// TestAsyncEvaluatorSameSearch: a search whose evaluator has several candidates in flight
// writes the same CSV and journal as the in-process one, and evaluates each network once.
func TestAsyncEvaluatorSameSearch(t *testing.T) {
	want := csvOf(t, baseConfig(t, 7))
	cfg := baseConfig(t, 7)
	cfg.OutputDir = t.TempDir()
	cfg.Journal = filepath.Join(cfg.OutputDir, "j.jsonl")
	pool, fake := asyncFake(newFake())
	defer pool.Close()
	cfg.Evaluator = pool
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range s.Events() {
		}
	}()
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(cfg.OutputDir, CSVFile)); got != want {
		t.Fatalf("async search differs from the in-process one:\n%s\nwant\n%s", got, want)
	}
	for _, r := range s.Records(0) {
		if n := fake.count(r.Arch); n != 1 {
			t.Fatalf("record %d evaluated %d times", r.Index, n)
		}
	}
}

// TestAsyncSteeringIsReplayed: steering a search while candidates are in flight (inject,
// new window, pause, resume) leaves a journal that replays exactly, with the in-process
// evaluator, to the same CSV.
func TestAsyncSteeringIsReplayed(t *testing.T) {
	s0 := testSpace()
	injected := s0.Max()
	injected.Layers[1].Exists = false
	tight := midWindow(s0, 0.3)
	dir := t.TempDir()
	cfg := baseConfig(t, 3)
	cfg.Journal = filepath.Join(dir, "j.jsonl")
	cfg.OutputDir = dir
	fake := newFake()
	pool := NewPool(fake, 3)
	defer pool.Close()
	cfg.Evaluator = pool
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev := range s.Events() {
			if ev.Kind != EventEvaluated {
				continue
			}
			switch ev.Record.Index {
			case 3:
				s.Inject(injected)
			case 8:
				s.Pause()
				s.Resume()
			case 20:
				s.SetConstraints(tight)
			}
		}
	}()
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	live := readFile(t, filepath.Join(dir, CSVFile))
	if !strings.Contains(live, string(OriginInject)) {
		t.Fatal("no injected record")
	}
	// Replay the journal with a plain evaluator: nothing is evaluated, the CSV is the same.
	rdir := t.TempDir()
	b := baseConfig(t, 3)
	b.Journal, b.OutputDir = filepath.Join(rdir, "j.jsonl"), rdir
	if err := os.WriteFile(b.Journal, []byte(readFile(t, cfg.Journal)), 0o644); err != nil {
		t.Fatal(err)
	}
	again := newFake()
	if _, err := runSearch(t, b, again); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(rdir, CSVFile)); got != live {
		t.Fatalf("replayed CSV differs:\n%s\nwant\n%s", got, live)
	}
	if n := len(again.calls); n != 0 {
		t.Fatalf("replay evaluated %d networks", n)
	}
}

package workbench

import (
	"context"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/supernet"
)

// fakeTop1 grows with MACs, less a reproducible 0–3 point penalty drawn from the def.
func fakeTop1(a model.Arch, in model.Input) float64 {
	h := fnv.New32a()
	h.Write([]byte(a.String()))
	penalty := float64(h.Sum32()%300) / 100
	return math.Round((60+10*math.Log10(float64(profiler.MACs(a, in))/1e8)-penalty)*100) / 100
}

// evolutionSearcher runs real evolution searches on dev-small with an instant evaluator,
// journaled in a temporary folder.
func evolutionSearcher(t *testing.T, gate chan struct{}, eventBuffer int) (*LiveSearch, *supernet.Space) {
	t.Helper()
	sp, err := supernet.Lookup("dev-small")
	if err != nil {
		t.Fatal(err)
	}
	eval := evolution.EvaluatorFunc(func(ctx context.Context, a model.Arch) (evolution.Fitness, error) {
		if gate != nil {
			select {
			case <-gate:
			case <-ctx.Done():
				return evolution.Fitness{}, ctx.Err()
			}
		}
		return evolution.Fitness{Top1: fakeTop1(a, sp.Input), Images: 1000}, nil
	})
	return NewLiveSearch(func(b Budget, journal string) evolution.Config {
		o := evolution.Options{Seed: 1, Population: 8, Generations: b.Generations, Parents: 3, Mutations: 3,
			Crossovers: 3, MutationProb: 0.3, CrossoverProb: 0.5, Input: sp.Input,
			Constraints: BudgetOptions(b).Constraints}
		return evolution.Config{Space: sp, Evaluator: eval, Options: o, EventBuffer: eventBuffer, Journal: journal}
	}, filepath.Join(t.TempDir(), "search.jsonl")), sp
}

// midMACs is halfway between the space's smallest and largest architectures.
func midMACs(sp *supernet.Space) int64 {
	return (profiler.MACs(sp.Min(), sp.Input) + profiler.MACs(sp.Max(), sp.Input)) / 2
}

func TestLiveSearchRunsToTheEnd(t *testing.T) {
	es, sp := evolutionSearcher(t, nil, 0)
	budget := Budget{MaxMACs: midMACs(sp), Generations: 3}
	ch, err := es.Start(context.Background(), budget)
	if err != nil {
		t.Fatal(err)
	}
	var evaluated, gens []SearchEvent
	for ev := range ch {
		switch ev.Kind {
		case SearchEvaluated:
			evaluated = append(evaluated, ev)
		case SearchGeneration:
			gens = append(gens, ev)
		case SearchNotice:
			t.Errorf("notice: %v", ev.Err)
		}
	}
	want := 8 + 2*(3+3)
	if len(evaluated) != want || len(gens) != 3 {
		t.Fatalf("%d evaluations and %d generations, want %d and 3", len(evaluated), len(gens), want)
	}
	for i, ev := range evaluated {
		if ev.Done != i+1 || ev.Total != want || !ev.Estimate.Final || ev.Estimate.CI95 <= 0 {
			t.Errorf("evaluation %d: done %d/%d, estimate %+v", i, ev.Done, ev.Total, ev.Estimate)
		}
		if err := sp.Contains(ev.Arch); err != nil {
			t.Errorf("evaluation %d: %v", i, err)
		}
		if m := profiler.MACs(ev.Arch, sp.Input); m > budget.MaxMACs {
			t.Errorf("evaluation %d: %d MACs over the budget %d", i, m, budget.MaxMACs)
		}
	}
	if !slices.IsSortedFunc(gens, func(a, b SearchEvent) int { return a.Generation - b.Generation }) {
		t.Error("generations out of order")
	}
	if err := es.Pause(); err != nil {
		t.Errorf("pausing an ended search: %v, want no error (the search ignores it)", err)
	}
}

func TestLiveSearchSteering(t *testing.T) {
	gate := make(chan struct{})
	es, sp := evolutionSearcher(t, gate, 0)
	if err := es.Pause(); err == nil {
		t.Error("pausing before any start did not fail")
	}
	ch, err := es.Start(context.Background(), Budget{MaxMACs: profiler.MACs(sp.Max(), sp.Input), Generations: 2})
	if err != nil {
		t.Fatal(err)
	}
	gate <- struct{}{} // one evaluation
	if ev := <-ch; ev.Kind != SearchEvaluated || ev.Done != 1 {
		t.Fatalf("first event %+v", ev)
	}
	if err := es.Inject(sp.Min()); err != nil {
		t.Errorf("inject: %v", err)
	}
	if err := es.SetBudget(Budget{MaxMACs: midMACs(sp), Generations: 2}); err != nil {
		t.Errorf("lowering the MACs budget: %v", err)
	}
	if err := es.SetBudget(Budget{MaxMACs: 1e9, Generations: 5}); err == nil || !strings.Contains(err.Error(), "generations") {
		t.Errorf("changing generations of a running search: %v", err)
	}
	if err := es.Stop(); err != nil {
		t.Fatal(err)
	}
	for range ch { // the channel closes once the search has ended
	}
}

// A reader too slow for the search loses events in evolution; the adapter re-reads what was
// dropped, so every evaluation and generation still arrives, once and in order.
func TestLiveSearchRecoversDroppedEvents(t *testing.T) {
	es, sp := evolutionSearcher(t, nil, 1)
	const gens = 12 // 8 + 11·6 = 74 evaluations: more than the adapter's buffer of 64
	ch, err := es.Start(context.Background(), Budget{MaxMACs: midMACs(sp), Generations: gens})
	if err != nil {
		t.Fatal(err)
	}
	if err := es.current.Wait(); err != nil { // read nothing until the search is over
		t.Fatal(err)
	}
	done, gen := 0, 0
	for ev := range ch {
		switch ev.Kind {
		case SearchEvaluated:
			if ev.Done != done+1 {
				t.Fatalf("evaluation %d after %d", ev.Done, done)
			}
			done = ev.Done
		case SearchGeneration:
			if ev.Generation != gen {
				t.Fatalf("generation %d after %d", ev.Generation, gen-1)
			}
			gen++
		}
	}
	if done != 8+(gens-1)*6 || gen != gens {
		t.Errorf("%d evaluations and %d generations arrived, want %d and %d", done, gen, 8+(gens-1)*6, gens)
	}
}

// TestLiveSearchStartedNamesTheJournalWritten: after a budget change the search keeps the
// journal and the starting budget it was started with, which is what resumes it (the
// journal replays the change). Before the fix, a budget change renamed the journal to one
// that was never written.
func TestLiveSearchStartedNamesTheJournalWritten(t *testing.T) {
	gate := make(chan struct{})
	es, sp := evolutionSearcher(t, gate, 0)
	tick := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	es.now = func() time.Time { tick = tick.Add(time.Minute); return tick }
	if _, _, ok := es.Started(); ok {
		t.Error("Started reports a search before any started")
	}
	start := Budget{MaxMACs: profiler.MACs(sp.Max(), sp.Input), Generations: 2}
	ch, err := es.Start(context.Background(), start)
	if err != nil {
		t.Fatal(err)
	}
	gate <- struct{}{}
	<-ch
	if err := es.SetBudget(Budget{MaxMACs: midMACs(sp), Generations: 2}); err != nil {
		t.Fatal(err)
	}
	if err := es.Stop(); err != nil {
		t.Fatal(err)
	}
	for range ch {
	}
	journal, b, ok := es.Started()
	if !ok || b != start {
		t.Errorf("Started = %q, %+v, %v; want the starting budget %+v", journal, b, ok, start)
	}
	if _, err := os.Stat(journal); err != nil {
		t.Errorf("the journal Started names was not written: %v", err)
	}
}

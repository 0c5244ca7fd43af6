package evolution

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/resnas/resnas/profiler"
)

// TestRandomStrategy: the baseline evaluates as many candidates as evolution, every one
// drawn at random inside the constraints, and a journal of one strategy does not resume the
// other.
func TestRandomStrategy(t *testing.T) {
	sp := testSpace()
	o := smallOptions(sp, 5)
	o.Strategy = StrategyRandom
	path := filepath.Join(t.TempDir(), "random.jsonl")
	s, err := runSearch(t, Config{Space: sp, Options: o, Journal: path}, newFake())
	if err != nil {
		t.Fatal(err)
	}
	recs := s.Records(0)
	if len(recs) != o.Evaluations() {
		t.Errorf("%d evaluations, evolution makes %d", len(recs), o.Evaluations())
	}
	gens := map[int]bool{}
	for _, r := range recs {
		gens[r.Generation] = true
		m := profiler.MACs(r.Arch, sp.Input)
		if r.Origin != OriginRandom || len(r.Parents) != 0 || m < o.Constraints.MinMACs || m > o.Constraints.MaxMACs {
			t.Errorf("record %d: origin %s, parents %v, %d MACs outside %v", r.Index, r.Origin, r.Parents, m, o.Constraints)
		}
	}
	if len(gens) != o.Generations {
		t.Errorf("records span %d generations, want %d", len(gens), o.Generations)
	}
	// Same seed, same baseline.
	again, err := runSearch(t, Config{Space: sp, Options: o}, newFake())
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again.Records(0) {
		if r.NetworkDef != recs[i].NetworkDef {
			t.Fatalf("record %d differs between two runs with seed %d", i, o.Seed)
		}
	}
	o.Strategy = StrategyEvolution
	if _, err := New(Config{Space: sp, Options: o, Journal: path, Evaluator: newFake()}); err == nil || !strings.Contains(err.Error(), "strategy") {
		t.Errorf("an evolution search resumed a random baseline's journal: %v", err)
	}
	o.Strategy = "annealing"
	if _, err := New(Config{Space: sp, Options: o, Evaluator: newFake()}); err == nil || !strings.Contains(err.Error(), "strategy") {
		t.Errorf("an unknown strategy was accepted: %v", err)
	}
}

package evolution

import (
	"encoding/csv"
	"path/filepath"
	"strings"
	"testing"
)

// prescreenConfig is baseConfig with every later generation bred 4× and prescreened.
func prescreenConfig(t *testing.T, seed uint64) Config {
	cfg := baseConfig(t, seed)
	cfg.Options.Prescreen, cfg.Options.PrescreenKappa = 4, DefaultPrescreenKappa
	return cfg
}

// TestPrescreenRecordsPredictions: generation 0 has no predictions, every later candidate
// has one (in the CSV's last column too), each later generation measures the usual number
// out of 4× as many bred, and the summaries name the predictor.
func TestPrescreenRecordsPredictions(t *testing.T) {
	cfg := prescreenConfig(t, 5)
	cfg.OutputDir = t.TempDir()
	s, sums := runSummaries(t, cfg)
	recs := s.Records(0)
	if len(recs) != cfg.Options.Evaluations() {
		t.Fatalf("%d records, want the usual %d", len(recs), cfg.Options.Evaluations())
	}
	for _, r := range recs {
		if (r.Generation == 0) != (r.Predicted == nil) || (r.Predicted == nil) != (r.PredictedStd == nil) {
			t.Errorf("record %d of generation %d: predicted %v ± %v", r.Index, r.Generation, r.Predicted, r.PredictedStd)
		}
	}
	o := cfg.Options
	for _, g := range sums {
		p := g.Predictor
		switch {
		case g.Generation == 0 && p != nil:
			t.Errorf("generation 0 has a predictor: %+v", p)
		case g.Generation > 0 && (p == nil || p.Kept != o.Mutations+o.Crossovers || p.Bred != o.Prescreen*p.Kept || p.Points < o.Population):
			t.Errorf("generation %d: predictor %+v, want %d kept of %d bred", g.Generation, p, o.Mutations+o.Crossovers, o.Prescreen*(o.Mutations+o.Crossovers))
		}
	}
	rows, err := csv.NewReader(strings.NewReader(readFile(t, filepath.Join(cfg.OutputDir, CSVFile)))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last := len(HistoryColumns) - 1
	if rows[0][last] != "predicted_top1" {
		t.Fatalf("last CSV column %q, want predicted_top1", rows[0][last])
	}
	for i, r := range recs {
		if got := rows[i+1][last]; (got == "") != (r.Predicted == nil) {
			t.Errorf("CSV row %d: predicted_top1 %q for record %v", i+1, got, r.Predicted)
		}
	}
}

// TestPrescreenResumesExactly: killed anywhere, even inside a prescreened generation, a
// resumed search writes the CSV of the uninterrupted one byte for byte, predictions included;
// and the same seed gives the same search.
func TestPrescreenResumesExactly(t *testing.T) {
	want := csvOf(t, prescreenConfig(t, 8))
	if again := csvOf(t, prescreenConfig(t, 8)); again != want {
		t.Fatal("same seed, different prescreened searches")
	}
	if plain := csvOf(t, baseConfig(t, 8)); plain == want {
		t.Fatal("prescreening changed nothing")
	}
	for _, kills := range [][]int{{12}, {15, 27}} { // a generation boundary; inside generations 1 and 2
		dir := t.TempDir()
		cfg := prescreenConfig(t, 8)
		cfg.Journal, cfg.OutputDir = filepath.Join(dir, "journal.jsonl"), dir
		ev := newFake()
		for _, k := range kills {
			killAt(t, cfg, ev, k)
		}
		ev.before = nil
		if _, err := runSearch(t, cfg, ev); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, filepath.Join(dir, CSVFile)); got != want {
			t.Fatalf("kills at %v: resumed CSV differs from the uninterrupted one:\n%s\nwant\n%s", kills, got, want)
		}
	}
}

// TestJournalOfAnotherPrescreenIsRefused: a journal's prescreen setting is part of its
// options, like the strategy.
func TestJournalOfAnotherPrescreenIsRefused(t *testing.T) {
	cfg := baseConfig(t, 1)
	cfg.Journal = filepath.Join(t.TempDir(), "journal.jsonl")
	cfg.Options.Generations = 1
	if _, err := runSearch(t, cfg, newFake()); err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.Options.Prescreen, other.Options.PrescreenKappa = 4, 1
	other.Evaluator = newFake()
	if _, err := New(other); err == nil || !strings.Contains(err.Error(), "prescreen 4, the journal was written with 0") {
		t.Fatalf("New with another prescreen: %v, want an error naming both settings", err)
	}
	bad := baseConfig(t, 1)
	bad.Evaluator = newFake()
	bad.Options.Prescreen = -1
	if _, err := New(bad); err == nil || !strings.Contains(err.Error(), "prescreen") {
		t.Fatalf("New with prescreen -1: %v", err)
	}
}

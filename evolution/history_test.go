package evolution

import (
	"bytes"
	"encoding/csv"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteHistoryCSV: one schema for search and explorer rows, unknown values as empty
// cells, and the search's first eleven columns where scripts expect them.
func TestWriteHistoryCSV(t *testing.T) {
	pred := 80.5
	rows := []HistoryRow{
		{Predicted: &pred, Index: 0, Generation: 2, NetworkDef: "((4, 24), (2, 24, 10))", Top1: 81.25, MACs: 1000, Params: 20, Top5: 99.5,
			Images: 400, Throughput: 1234.5, Origin: "mutation", Parents: []int{3, 1}, CI95: 3.8, BNRecalibrated: "false", OnFront: true, Correct: "AQ=="},
		{Index: 7, Generation: -1, NetworkDef: "((4, 16), (2, 16, 10))", Top1: 79, MACs: 500, Params: 10, Top5: math.NaN(),
			Images: 256, Origin: "edit", CI95: 5, BNRecalibrated: "true"},
	}
	var buf bytes.Buffer
	if err := WriteHistoryCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		HistoryColumns,
		{"0", "2", "((4, 24), (2, 24, 10))", "81.25", "1000", "20", "99.5", "400", "1234.5", "mutation", "3;1", "3.8", "false", "true", "AQ==", "80.5"},
		{"7", "", "((4, 16), (2, 16, 10))", "79", "500", "10", "", "256", "", "edit", "", "5", "true", "false", "", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
	if strings.Join(HistoryColumns[:6], ",") != "index,generation,network_def,top1,macs,params" {
		t.Errorf("the first columns moved: %v", HistoryColumns)
	}
}

// TestHistoryRowsOfRecords: search records get their front membership and a Wilson interval.
func TestHistoryRowsOfRecords(t *testing.T) {
	recs := exampleRecords()
	rows := HistoryRows(recs)
	front := map[int]bool{}
	for _, r := range FrontOf(recs) {
		front[r.Index] = true
	}
	for i, r := range rows {
		if r.OnFront != front[recs[i].Index] {
			t.Errorf("row %d on_front %v, want %v", i, r.OnFront, front[recs[i].Index])
		}
		if recs[i].Images > 0 && !(r.CI95 > 0 && r.CI95 < 50) {
			t.Errorf("row %d ci95 %g, want a half-width in points", i, r.CI95)
		}
		if r.NetworkDef != recs[i].NetworkDef || r.Top1 != recs[i].Top1 || r.Origin != string(recs[i].Origin) {
			t.Errorf("row %d = %+v, from %+v", i, r, recs[i])
		}
	}
}

// TestSearchKeepsPerImageResults: every record carries the evaluator's per-image results,
// in the journal too, so a resumed search can compare candidates pairwise.
func TestSearchKeepsPerImageResults(t *testing.T) {
	sp := testSpace()
	path := filepath.Join(t.TempDir(), "j.jsonl")
	cfg := Config{Space: sp, Options: smallOptions(sp, 3), Journal: path}
	s, err := runSearch(t, cfg, newFake())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Header.PerImage || len(c.Warnings) != 0 {
		t.Errorf("header per_image %v, warnings %q", c.Header.PerImage, c.Warnings)
	}
	for i, r := range s.Records(0) {
		b, ok := r.PerImage()
		want := fakeCorrect(r.Arch, r.Top1, r.Images)
		if !ok || b.N != r.Images || b.Encode() != want.Encode() || c.Records[i].Correct != r.Correct {
			t.Fatalf("record %d: per-image results %v (%d of %d), want the evaluator's, in the journal too", i, ok, b.Count(), b.N)
		}
	}
}

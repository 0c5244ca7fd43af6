package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/workbench"
)

// searchJournal runs a small random search on w and returns its journal.
func searchJournal(t *testing.T, w tinyWorld, ckpt, name string, n int, extra ...string) string {
	t.Helper()
	j := filepath.Join(t.TempDir(), name)
	args := append([]string{"search", "--checkpoint", ckpt, "--data", filepath.Join(w.train, "sub-val"), "--max-macs", "50%",
		"--min-macs-ratio", "0", "--population", strconv.Itoa(n), "--generations", "1", "--seed", "3", "--threads", "1", "--journal", j}, extra...)
	if code, _, errs := runCmd(t, args...); code != 0 {
		t.Fatalf("search: exit %d: %s", code, errs)
	}
	return j
}

// TestPredictorCommand: trained from a journal, resnas predictor reports every family's
// cross-validated τ, MAE and coverage, the chosen one first, and the held-out figures.
func TestPredictorCommand(t *testing.T) {
	w := newTinyWorld(t)
	j := searchJournal(t, w, w.ckpt, "j.jsonl", 24)
	code, out, errs := runCmd(t, "predictor", "--checkpoint", w.ckpt, "--data", filepath.Join(w.train, "sub-val"),
		"--journal", j, "--journal", j, "--train-first", "12", "--json")
	if code != 0 {
		t.Fatalf("predictor: exit %d: %s", code, errs)
	}
	var rep workbench.PredictorReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("predictor JSON %q: %v", out, err)
	}
	if rep.Points != 24 || rep.Records != 48 || len(rep.Families) != 3 || rep.Chosen != rep.Families[0].Family {
		t.Errorf("report: %d points of %d records, %d families, chosen %s: want 24 of 48, 3, the first", rep.Points, rep.Records, len(rep.Families), rep.Chosen)
	}
	if h := rep.Holdout; h == nil || h.Train != 12 || h.Test != 12 || h.All.N != 12 || h.Top.N != 2 {
		t.Errorf("holdout: %+v, want 12 trained, 12 scored, top 10%% of 2", h)
	}
	code, out, errs = runCmd(t, "predictor", "--checkpoint", w.ckpt, "--data", filepath.Join(w.train, "sub-val"), "--journal", j)
	if code != 0 || out == "" {
		t.Fatalf("predictor (text): exit %d: %s", code, errs)
	}
}

func TestPredictorBadInput(t *testing.T) {
	w := newTinyWorld(t)
	val := filepath.Join(w.train, "sub-val")
	j := searchJournal(t, w, w.ckpt, "j.jsonl", 4)
	other := filepath.Join(t.TempDir(), "other.safetensors")
	ck, _ := checkpoints.Load(w.ckpt, checkpoints.Options{})
	ck.Weights["cls_head.bias"].Data[0] += 1
	checkpoints.Save(other, ck.Weights, ck.Meta, checkpoints.SaveOptions{})
	foreign := searchJournal(t, w, other, "foreign.jsonl", 4)
	limited := searchJournal(t, w, w.ckpt, "limited.jsonl", 4, "--limit", "10")
	for _, c := range []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"no journal", []string{"--checkpoint", w.ckpt, "--data", val}, []string{"--journal"}},
		{"missing journal", []string{"--checkpoint", w.ckpt, "--data", val, "--journal", filepath.Join(t.TempDir(), "none.jsonl")}, []string{"none.jsonl"}},
		{"another checkpoint", []string{"--checkpoint", w.ckpt, "--data", val, "--journal", j, "--journal", foreign}, []string{"foreign.jsonl", "checkpoint"}},
		{"another data", []string{"--checkpoint", w.ckpt, "--data", filepath.Join(w.test), "--journal", j}, []string{"j.jsonl", "data manifest"}},
		{"another scoring", []string{"--checkpoint", w.ckpt, "--data", val, "--journal", j, "--journal", limited}, []string{"limited.jsonl", "limit"}},
		{"too few points", []string{"--checkpoint", w.ckpt, "--data", val, "--journal", j}, []string{"4 measured", "at least 10"}},
		{"bad family", []string{"--family", "forest", "--journal", j}, []string{"--family"}},
		{"bad folds", []string{"--folds", "1", "--journal", j}, []string{"--folds"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCmd(t, append([]string{"predictor"}, c.args...)...)
			wantOneLineError(t, code, out, errs, c.fragments...)
		})
	}
}

// TestSearchPrescreen: resnas search --prescreen 4 --json measures the usual number, writes
// predicted_top1 as the CSV's last column for every candidate after the random generation,
// reports the predictor in its summary, and refuses to resume a journal of another setting.
func TestSearchPrescreen(t *testing.T) {
	w := newTinyWorld(t)
	dir := t.TempDir()
	j, csvPath := filepath.Join(dir, "j.jsonl"), filepath.Join(dir, "h.csv")
	args := []string{"search", "--checkpoint", w.ckpt, "--data", filepath.Join(w.train, "sub-val"), "--max-macs", "50%",
		"--min-macs-ratio", "0", "--population", "12", "--generations", "2", "--parents", "4", "--mutations", "3", "--crossovers", "3",
		"--seed", "5", "--threads", "1", "--journal", j, "--export", csvPath, "--test", w.test}
	code, out, errs := runCmd(t, append(args, "--prescreen", "4", "--json")...)
	if code != 0 {
		t.Fatalf("search --prescreen: exit %d: %s", code, errs)
	}
	var res struct {
		Evaluations int
		Prescreen   int
		Predictor   *workbench.SearchPredictor
		Test        *testScore
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("search JSON %q: %v", out, err)
	}
	if res.Evaluations != 18 || res.Prescreen != 4 || res.Predictor == nil || res.Predictor.Points < 12 || res.Predictor.Online == nil || res.Predictor.Online.N != 6 || res.Test == nil {
		t.Fatalf("search summary: %s", out)
	}
	if !strings.Contains(errs, "prescreened 6 of 24") {
		t.Errorf("progress does not say what was prescreened:\n%s", errs)
	}
	b, _ := os.ReadFile(csvPath)
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil || len(rows) != 19 {
		t.Fatalf("CSV: %d rows, %v", len(rows), err)
	}
	last := len(rows[0]) - 1
	for i, r := range rows[1:] {
		if (r[last] == "") != (i < 12) {
			t.Errorf("CSV row %d (generation %s): predicted_top1 %q", i+1, r[1], r[last])
		}
	}
	code, out, errs = runCmd(t, args...)
	wantOneLineError(t, code, out, errs, "j.jsonl", "prescreen 0, the journal was written with 4")
	code, out, errs = runCmd(t, append(args, "--prescreen", "-1")...)
	wantOneLineError(t, code, out, errs, "--prescreen")
	code, out, errs = runCmd(t, append(args, "--prescreen", "4000")...)
	wantOneLineError(t, code, out, errs, "--prescreen")
	code, out, errs = runCmd(t, append(args, "--prescreen-kappa", "2")...)
	wantOneLineError(t, code, out, errs, "--prescreen-kappa applies to --prescreen")
}

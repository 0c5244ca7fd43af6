package main

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/resnas/resnas/checkpoints"
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
	var rep predictorReport
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

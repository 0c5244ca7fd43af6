package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	sntrain "github.com/resnas/resnas/supernet/train"
)

// tinySearch is a 4-candidate search on w's sub-val, journaled at journal.
func tinySearch(w tinyWorld, journal string, extra ...string) []string {
	return append([]string{"search", "--checkpoint", w.ckpt, "--data", filepath.Join(w.train, "sub-val"),
		"--population", "4", "--generations", "1", "--parents", "2", "--mutations", "2", "--crossovers", "2",
		"--seed", "5", "--journal", journal}, extra...)
}

// TestSearchResumeRefusesOtherScoring: a journal resumed with another --limit or BN mode would
// rank scores of two evaluations against each other, so it is refused naming both values; a
// limit covering the whole set is the same evaluation as none, and more generations extend.
func TestSearchResumeRefusesOtherScoring(t *testing.T) {
	w := newTinyWorld(t)
	j := filepath.Join(t.TempDir(), "j.jsonl")
	if code, _, errs := runCmd(t, tinySearch(w, j)...); code != 0 {
		t.Fatalf("search: %s", errs)
	}
	code, out, errs := runCmd(t, tinySearch(w, j, "--limit", "20")...)
	wantOneLineError(t, code, out, errs, j, "limit 20", "written with 0")
	code, out, errs = runCmd(t, tinySearch(w, j, "--recalibrate-bn")...)
	wantOneLineError(t, code, out, errs, j, "recalibrate_bn true", "written with false")
	// The sub-val holds 40 images: --limit 40 evaluates them all, as the journal did.
	if code, _, errs := runCmd(t, tinySearch(w, j, "--limit", "40", "--generations", "2")...); code != 0 {
		t.Fatalf("resume with --limit covering the set and one more generation: %s", errs)
	}
}

// TestSearchResumeProgress: a resumed search counts on from the replayed evaluations, and a
// generation re-derived from the journal says so instead of a rate of 0 evals/min.
func TestSearchResumeProgress(t *testing.T) {
	w := newTinyWorld(t)
	j := filepath.Join(t.TempDir(), "j.jsonl")
	if code, _, errs := runCmd(t, tinySearch(w, j)...); code != 0 {
		t.Fatalf("search: %s", errs)
	}
	code, _, errs := runCmd(t, tinySearch(w, j, "--generations", "2")...)
	if code != 0 {
		t.Fatalf("extended search: %s", errs)
	}
	for _, want := range []string{"4 evaluations replayed", "search 5/8", "generation 0: ", " replayed\n"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	for _, bad := range []string{"search 1/8", "0.0 evals/min"} {
		if strings.Contains(errs, bad) {
			t.Errorf("stderr has %q:\n%s", bad, errs)
		}
	}
}

// TestSearchFlagErrors: out-of-range search settings fail at once naming the flag, and --arch,
// which a search cannot use, is not accepted.
func TestSearchFlagErrors(t *testing.T) {
	w := newTinyWorld(t)
	j := filepath.Join(t.TempDir(), "j.jsonl")
	for _, c := range []struct {
		extra []string
		want  string
	}{
		{[]string{"--limit", "-4"}, "--limit"},
		{[]string{"--population", "0"}, "--population"},
		{[]string{"--generations", "0"}, "--generations"},
		{[]string{"--mutate-prob", "1.5"}, "--mutate-prob"},
		{[]string{"--max-params", "-1"}, "--max-params"},
		{[]string{"--min-throughput", "-1"}, "--min-throughput"},
		{[]string{"--min-macs-ratio", "2"}, "--min-macs-ratio"},
		{[]string{"--max-macs", "-5"}, "--max-macs"},
		{[]string{"--max-macs", "1K"}, "--max-macs"},
		// Each of these used to run the search unconstrained without a word.
		{[]string{"--max-macs", "inf"}, "--max-macs"},
		{[]string{"--max-macs", "NaN"}, "--max-macs"},
		{[]string{"--max-macs", "0.5"}, "--max-macs"},
		{[]string{"--max-macs", "1e30"}, "--max-macs"},
		{[]string{"--max-macs", "-1"}, "--max-macs"},
		{[]string{"--arch", "max"}, "-arch"},
	} {
		code, out, errs := runCmd(t, tinySearch(w, j, c.extra...)...)
		wantOneLineError(t, code, out, errs, c.want)
	}
	if _, err := os.Stat(j); err == nil {
		t.Error("a refused search created its journal")
	}
}

// TestOutputPathsCheckedFirst: an output that cannot be written fails before any work, with
// one line naming the flag and the path.
func TestOutputPathsCheckedFirst(t *testing.T) {
	w := newTinyWorld(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	bad := filepath.Join(file, "out")
	j := filepath.Join(dir, "j.jsonl")
	for _, flag := range []string{"--export", "--summary", "--jsonl"} {
		code, out, errs := runCmd(t, tinySearch(w, j, flag, bad)...)
		wantOneLineError(t, code, out, errs, flag, bad)
	}
	code, out, errs := runCmd(t, tinySearch(w, filepath.Join(dir, "missing", "j.jsonl"))...)
	wantOneLineError(t, code, out, errs, "--journal", "does not exist")
	if _, err := os.Stat(j); err == nil {
		t.Error("a refused search created its journal")
	}
	train := []string{"train", "--data", w.train, "--epochs", "1", "--batch", "32", "--examples-per-arch", "16"}
	code, out, errs = runCmd(t, append(train, "--out", bad+".safetensors")...)
	wantOneLineError(t, code, out, errs, "--out", bad)
	code, out, errs = runCmd(t, append(train, "--out", filepath.Join(dir, "sn.safetensors"), "--state", bad)...)
	wantOneLineError(t, code, out, errs, "--state", bad)
	code, out, errs = runCmd(t, append(train, "--out", dir)...)
	wantOneLineError(t, code, out, errs, "--out", "directory")
	if _, err := os.Stat("/proc/self"); err == nil {
		code, out, errs = runCmd(t, append(train, "--out", "/proc/b.safetensors")...)
		wantOneLineError(t, code, out, errs, "--out", "/proc/b.safetensors")
	}
}

// cancelOn is a stderr that cancels a run once it has printed marker.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.marker) {
		c.cancel()
	}
	return len(p), nil
}

// TestTrainState: an interrupted run's state is never discarded silently (rerunning without
// --resume says what it holds and how to go on), --restart starts over, and a finished run
// leaves only its output unless --keep-state.
func TestTrainState(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	w := newTinyWorld(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "sn.safetensors")
	stateDir := filepath.Join(dir, "sn.state")
	train := []string{"train", "--data", w.train, "--epochs", "2", "--batch", "32", "--examples-per-arch", "16", "--seed", "1", "--out", out}

	// Interrupt after the first epoch, as Ctrl-C would.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &cancelOn{marker: "epoch 1/2  loss", cancel: cancel}
	var stdout bytes.Buffer
	env := env{stdin: strings.NewReader(""), stdout: &stdout, stderr: stderr, getenv: func(string) string { return "" }}
	if code := run(ctx, train, env); code == 0 {
		t.Fatalf("interrupted run exited 0:\n%s", stderr.buf.String())
	}
	if _, err := os.Stat(filepath.Join(stateDir, sntrain.StateFile)); err != nil {
		t.Fatalf("no state after the interrupted run: %v\n%s", err, stderr.buf.String())
	}
	if !strings.Contains(stderr.buf.String(), "interrupted with epoch 1 of 2 saved") {
		t.Errorf("the interruption does not say which epoch is saved:\n%s", stderr.buf.String())
	}

	code, stdoutText, errs := runCmd(t, train...)
	wantOneLineError(t, code, stdoutText, errs, sntrain.StateFile, "epoch 1 of 2", "--resume", "--restart")
	code, stdoutText, errs = runCmd(t, append(train, "--resume", "--restart")...)
	wantOneLineError(t, code, stdoutText, errs, "--resume", "--restart")

	code, stdoutText, errs = runCmd(t, append(train, "--resume")...)
	if code != 0 {
		t.Fatalf("resume: %s", errs)
	}
	if !strings.Contains(stdoutText, "(2 epochs,") {
		t.Errorf("stdout %q", stdoutText)
	}
	if _, err := os.Stat(stateDir); err == nil {
		t.Error("a finished run left its state directory")
	}

	// --keep-state keeps it; the kept state of a finished run is named as such.
	code, stdoutText, errs = runCmd(t, "train", "--data", w.train, "--epochs", "1", "--batch", "32", "--examples-per-arch", "16", "--out", out, "--keep-state", "--json")
	if code != 0 {
		t.Fatalf("train --keep-state: %s", errs)
	}
	var res struct{ State string }
	if err := json.Unmarshal([]byte(stdoutText), &res); err != nil || res.State != stateDir {
		t.Fatalf("JSON %q: state %q, want %q (%v)", stdoutText, res.State, stateDir, err)
	}
	code, stdoutText, errs = runCmd(t, "train", "--data", w.train, "--epochs", "1", "--batch", "32", "--examples-per-arch", "16", "--out", out)
	wantOneLineError(t, code, stdoutText, errs, "finished run (1 of 1 epochs)", "--restart")
	code, stdoutText, errs = runCmd(t, "train", "--data", w.train, "--epochs", "1", "--batch", "32", "--examples-per-arch", "16", "--out", out, "--restart")
	if code != 0 {
		t.Fatalf("train --restart: %s", errs)
	}
	if !strings.Contains(stdoutText, "(1 epoch,") {
		t.Errorf("stdout %q, want a singular epoch", stdoutText)
	}
}

// TestShardsBuildReportsAndLimits: a train build reports both splits it writes, in text and
// JSON, and --limit is refused where it cannot apply.
func TestShardsBuildReportsAndLimits(t *testing.T) {
	w := newTinyWorld(t)
	dir := t.TempDir()
	code, out, errs := runCmd(t, "shards", "build", "--from", w.src, "--out", filepath.Join(dir, "a"), "--holdout-per-class", "4")
	if code != 0 {
		t.Fatalf("build: %s", errs)
	}
	for _, want := range []string{"sub-train: 80 images", "sub-val: 40 images", "in 1 shard ("} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = runCmd(t, "shards", "build", "--from", w.src, "--out", filepath.Join(dir, "b"), "--holdout-per-class", "4", "--json")
	if code != 0 {
		t.Fatalf("build --json: %s", errs)
	}
	var res struct {
		Splits []struct {
			Dir   string
			Split string
			Count int
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Splits) != 2 || res.Splits[0].Count != 80 || res.Splits[1].Split != "sub-val" || res.Splits[1].Count != 40 {
		t.Fatalf("JSON %s: %+v %v", out, res, err)
	}
	for _, c := range [][]string{
		{"--split", "test", "--limit", "-5"},
		{"--split", "train", "--limit", "100"},
		{"--holdout-per-class", "-1"},
	} {
		code, out, errs := runCmd(t, append([]string{"shards", "build", "--from", w.src, "--out", filepath.Join(dir, "c")}, c...)...)
		wantOneLineError(t, code, out, errs, c[len(c)-2])
	}
}

// TestSearchRandomBaselineWithTest: --strategy random runs the baseline (every candidate
// random), --test scores the best on held-out shards, and the summary lists the candidates
// statistically tied with the best, each with its paired interval.
func TestSearchRandomBaselineWithTest(t *testing.T) {
	w := newTinyWorld(t)
	j := filepath.Join(t.TempDir(), "j.jsonl")
	code, out, errs := runCmd(t, tinySearch(w, j, "--generations", "2", "--strategy", "random", "--test", w.test, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct {
		Evaluations int
		Strategy    string
		Best        struct{ Origin, NetworkDef string }
		Tied        []struct {
			Diff float64
			CI95 [2]float64
			P    float64
		}
		Test *struct {
			Top1   float64
			Images int
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Strategy != "random" || res.Evaluations != 4+4 || res.Best.Origin != "random" {
		t.Errorf("strategy %q, %d evaluations, best from %q; want random, 8, random", res.Strategy, res.Evaluations, res.Best.Origin)
	}
	if res.Test == nil || res.Test.Images != 120 || !(res.Test.Top1 >= 0 && res.Test.Top1 <= 100) {
		t.Errorf("test score %+v, want the best on the 120 test images", res.Test)
	}
	if !strings.Contains(out, `"tied":[`) {
		t.Errorf("no tied list in %s", out)
	}
	for _, c := range res.Tied {
		if !(c.CI95[0] <= 0 && 0 <= c.CI95[1]) || !(c.P > 0) {
			t.Errorf("a tied candidate's interval %v excludes 0 (p %g)", c.CI95, c.P)
		}
	}
	code, out, errs = runCmd(t, tinySearch(w, j, "--strategy", "annealing")...)
	wantOneLineError(t, code, out, errs, "--strategy")
	code, out, errs = runCmd(t, tinySearch(w, filepath.Join(t.TempDir(), "k.jsonl"), "--test", filepath.Join(t.TempDir(), "none"))...)
	wantOneLineError(t, code, out, errs, "--test")
}

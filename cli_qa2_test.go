package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOutputsMustNotCollide: two flags naming one path would let the later writer replace the
// earlier one's output (a CSV export written over the search's own journal, the trained
// weights over their state directory), so the command refuses before any work.
func TestOutputsMustNotCollide(t *testing.T) {
	w := newTinyWorld(t)
	dir := t.TempDir()
	j := filepath.Join(dir, "j.jsonl")
	code, out, errs := runCmd(t, tinySearch(w, j, "--export", j)...)
	wantOneLineError(t, code, out, errs, "--export", "also --journal")
	code, out, errs = runCmd(t, tinySearch(w, filepath.Join(dir, "k.jsonl"), "--export", filepath.Join(dir, "x.csv"), "--jsonl", filepath.Join(dir, "x.csv"))...)
	wantOneLineError(t, code, out, errs, "--jsonl", "also --export")
	if _, err := os.Stat(filepath.Join(dir, "k.jsonl")); err == nil {
		t.Error("a refused search wrote its journal")
	}
	code, out, errs = runCmd(t, tinySearch(w, dir)...)
	wantOneLineError(t, code, out, errs, "--journal", "is a directory")

	state := filepath.Join(dir, "x.state")
	code, out, errs = runCmd(t, "train", "--data", w.train, "--epochs", "1", "--out", state)
	wantOneLineError(t, code, out, errs, "--out", "state directory", "--state")
	code, out, errs = runCmd(t, "train", "--data", w.train, "--epochs", "1", "--out", filepath.Join(dir, "a.safetensors"), "--state", filepath.Join(dir, "a.safetensors"))
	wantOneLineError(t, code, out, errs, "--state", "also --out")
}

// TestTrainDataIsExplained: a --data that is a file, missing, or the test split's shards says
// which and how to build training shards.
func TestTrainDataIsExplained(t *testing.T) {
	w := newTinyWorld(t)
	out := filepath.Join(t.TempDir(), "sn.safetensors")
	for _, c := range []struct {
		data string
		want string
	}{
		{"README.md", "is not a shards folder"},
		{filepath.Join(t.TempDir(), "none"), "does not exist"},
		{w.test, "holds test shards"},
	} {
		code, stdout, errs := runCmd(t, "train", "--data", c.data, "--epochs", "1", "--out", out)
		wantOneLineError(t, code, stdout, errs, "--data", c.want, "--split train")
	}
}

// TestExportIntoTheCurrentFolderIsRefused: the export is staged next to --out and renamed into
// place, which cannot work for the folder the command runs in or one above it.
func TestExportIntoTheCurrentFolderIsRefused(t *testing.T) {
	for _, out := range []string{".", "..", "./"} {
		code, stdout, errs := runCmd(t, "export", "--arch", "min", "--out", out)
		wantOneLineError(t, code, stdout, errs, "--out", "current folder", "subfolder")
	}
}

package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	sntrain "github.com/resnas/resnas/supernet/train"
)

// TestParseTrainFlags: recipe flags land in the trainer's options over its defaults, the
// rest in trainFlags, and validate derives the state directory from --out.
func TestParseTrainFlags(t *testing.T) {
	var stderr bytes.Buffer
	e := env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(string) string { return "" }}
	dir := t.TempDir()
	out := filepath.Join(dir, "sn.safetensors")
	args := []string{"--data", "testdata", "--out", out, "--epochs", "3", "--lr", "0.01", "--sandwich", "--keep-state", "--float16"}
	f, err := parseTrainFlags(args, e)
	if err != nil {
		t.Fatal(err)
	}
	want := sntrain.DefaultOptions()
	want.Epochs, want.LR, want.Sandwich = 3, 0.01, true
	if f.opts.Epochs != want.Epochs || f.opts.LR != want.LR || f.opts.Sandwich != want.Sandwich ||
		f.opts.BatchSize != want.BatchSize || f.opts.WeightDecay != want.WeightDecay {
		t.Errorf("options %+v, want %+v", f.opts, want)
	}
	if f.dataDir != "testdata" || f.out != out || !f.keepState || !f.half || f.resume || f.space != "fmnist-wide" {
		t.Errorf("flags %+v", f)
	}
	if f.command != "resnas train "+strings.Join(args, " ") {
		t.Errorf("command %q", f.command)
	}
	// testdata is no train build: validate stops there, after deriving --state.
	if _, err := f.validate(); err == nil || !strings.Contains(err.Error(), "--data testdata") {
		t.Errorf("validate: %v, want the --data complaint", err)
	}
	if want := filepath.Join(dir, "sn.state"); f.stateDir != want {
		t.Errorf("state %q, want %q", f.stateDir, want)
	}
}

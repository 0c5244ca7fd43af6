package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/resnas/resnas/profiler"
)

// fmnistInput writes n zero images of the shipped checkpoint's geometry (1×32×32).
func fmnistInput(t *testing.T, n int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.f32")
	if err := os.WriteFile(p, make([]byte, n*32*32*4), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOutOfRangeFlagsRejected: a value that a default would silently replace is a usage
// error naming the flag.
func TestOutOfRangeFlagsRejected(t *testing.T) {
	in := fmnistInput(t, 1)
	predict := []string{"predict", "--arch", "max", "--input", in, "--shape", "1,1,32,32"}
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"profile", "--arch", "max", "--img", "-224"}, "--img"},
		{[]string{"profile", "--arch", "max", "--img", "0"}, "--img"},
		{[]string{"profile", "--arch", "max", "--img", "100002"}, "65536"}, // the real limit
		{[]string{"profile", "--arch", "max", "--patch", "-4"}, "--patch"},
		{[]string{"profile", "--arch", "max", "--channels", "-1"}, "--channels"},
		{append(slices.Clone(predict), "--threads", "-1"), "--threads"},
		{append(slices.Clone(predict), "--patch", "-3"), "--patch"},
		{[]string{"eval", "--arch", "max", "--threads", "-1"}, "--threads"},
		{[]string{"bench", "--arch", "max", "--threads", "-1"}, "--threads"},
		{[]string{"bench", "--arch", "max", "--repeats", "-1"}, "--repeats"},
		{[]string{"bench", "--arch", "max", "--repeats", "2"}, "--repeats"},
		{[]string{"bench", "--arch", "max", "--sgemm", "-1"}, "--sgemm"},
		{[]string{"export", "--arch", "min", "--out", filepath.Join(t.TempDir(), "x"), "--limit", "-1"}, "--limit"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errs := runCmd(t, c.args...)
			wantOneLineError(t, code, out, errs, c.flag)
			if code != exitBadUsage {
				t.Errorf("exit %d, want %d (usage)", code, exitBadUsage)
			}
		})
	}
}

// TestPredictShapeTooLarge: an N·C·H·W that would overflow is refused before any
// multiplication or allocation, not a makeslice panic or a negative byte count.
func TestPredictShapeTooLarge(t *testing.T) {
	in := fmnistInput(t, 1)
	for _, shape := range []string{"18014398509481986,1,32,32", "9223372036854775807,1,32,32", "1,9223372036854775807,9223372036854775807,2"} {
		code, out, errs := runCmd(t, "predict", "--arch", "max", "--input", in, "--shape", shape)
		wantOneLineError(t, code, out, errs, "--shape", "too large")
	}
}

// TestBenchBatchBeyondMemory: a batch whose activations cannot fit is an error giving the
// memory it needs and a batch that fits, never an out-of-memory crash.
func TestBenchBatchBeyondMemory(t *testing.T) {
	if _, ok := profiler.AvailableMemory(); !ok {
		t.Skip("no /proc/meminfo: the memory check is off on this OS")
	}
	code, out, errs := runCmd(t, "bench", "--arch", "max", "--batch", "100000000000", "--device", "cpu")
	wantOneLineError(t, code, out, errs, "100000000000 images", "TiB", "available", "--batch")
}

// TestConvertSpaceMustFitWeights: --space is checked against the weights' shapes.
func TestConvertSpaceMustFitWeights(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		in, space string
		fragments []string
	}{
		{devDir + "supernet.pth.tar", "fmnist", []string{"--space fmnist", "patch_embed", "3-channel"}},
		{devDir + "subnet0.pth.tar", "dev-small", []string{"--space dev-small", "tokens", "[1 1 32]"}},
	} {
		out := filepath.Join(dir, c.space+".safetensors")
		code, stdout, errs := runCmd(t, "convert", c.in, out, "--space", c.space)
		wantOneLineError(t, code, stdout, errs, c.fragments...)
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s written despite the error", out)
		}
	}
	// The space the shapes match is still accepted.
	if code, _, errs := runCmd(t, "convert", devDir+"supernet.pth.tar", filepath.Join(dir, "ok.safetensors"), "--space", "dev-small"); code != 0 {
		t.Fatalf("convert --space dev-small: %s", errs)
	}
}

// TestConvertOutput: a sub-network converts with "space none", and an existing OUT is
// replaced only with --overwrite, as shards build does.
func TestConvertOutput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sub.safetensors")
	code, _, errs := runCmd(t, "convert", devDir+"subnet0.pth.tar", out)
	if code != 0 {
		t.Fatalf("convert: %s", errs)
	}
	if strings.Contains(errs, `""`) || !strings.Contains(errs, "space none") {
		t.Errorf("convert of a sub-network says %q, want space none", errs)
	}
	code, stdout, errs := runCmd(t, "convert", devDir+"subnet0.pth.tar", out)
	wantOneLineError(t, code, stdout, errs, out, "--overwrite")
	if code, _, errs := runCmd(t, "convert", devDir+"subnet0.pth.tar", out, "--overwrite"); code != 0 {
		t.Fatalf("convert --overwrite: %s", errs)
	}
	code, stdout, errs = runCmd(t, "convert", devDir+"subnet0.pth.tar", filepath.Dir(out), "--overwrite")
	wantOneLineError(t, code, stdout, errs, "not a file")
}

// TestExportOutputWholeOrNothing: export checks --out before working and never leaves a
// half-written folder; it replaces an earlier export only with --overwrite.
func TestExportOutputWholeOrNothing(t *testing.T) {
	root := t.TempDir()
	out := filepath.Join(root, "ex")
	entries := func() []string {
		des, _ := os.ReadDir(out)
		var names []string
		for _, d := range des {
			names = append(names, d.Name())
		}
		return names
	}
	// A folder where a file should go: refused up front, with or without --overwrite.
	if err := os.MkdirAll(filepath.Join(out, "metrics.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{nil, {"--overwrite"}} {
		code, stdout, errs := runCmd(t, append([]string{"export", "--arch", "min", "--out", out, "--limit", "20"}, extra...)...)
		wantOneLineError(t, code, stdout, errs, out)
		if got := entries(); !slices.Equal(got, []string{"metrics.json"}) {
			t.Fatalf("failed export left %v in --out", got)
		}
	}
	os.RemoveAll(out)

	if code, _, errs := runCmd(t, "export", "--arch", "min", "--out", out, "--limit", "20"); code != 0 {
		t.Fatalf("export: %s", errs)
	}
	want := []string{"metrics.json", "network_def.txt", "subnet.safetensors"}
	if got := entries(); !slices.Equal(got, want) {
		t.Fatalf("export wrote %v, want %v", got, want)
	}
	code, stdout, errs := runCmd(t, "export", "--arch", "max", "--out", out, "--limit", "20")
	wantOneLineError(t, code, stdout, errs, "--overwrite")
	if code, _, errs := runCmd(t, "export", "--arch", "max", "--out", out, "--limit", "20", "--overwrite"); code != 0 {
		t.Fatalf("export --overwrite: %s", errs)
	}
	if def, _ := os.ReadFile(filepath.Join(out, "network_def.txt")); !strings.Contains(string(def), "(1, (192, 12, 16)") {
		t.Errorf("--overwrite kept the earlier export: %s", def)
	}
	// Someone's own file in the folder: never overwritten.
	os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine"), 0o644)
	code, stdout, errs = runCmd(t, "export", "--arch", "min", "--out", out, "--limit", "20", "--overwrite")
	wantOneLineError(t, code, stdout, errs, "notes.txt")
	// No staging folder is left next to the output.
	if des, _ := os.ReadDir(root); len(des) != 1 {
		t.Errorf("export left %d entries next to --out, want 1", len(des))
	}
}

// TestPredictSpaceAndJSON: --space naming another space than the checkpoint records is an
// error, the same one is fine, and --json carries the same logits as the default lines.
func TestPredictSpaceAndJSON(t *testing.T) {
	in := fmnistInput(t, 2)
	base := []string{"predict", "--arch", "max", "--input", in, "--shape", "2,1,32,32"}
	code, out, errs := runCmd(t, append(slices.Clone(base), "--space", "dev-small")...)
	wantOneLineError(t, code, out, errs, "--space dev-small", "fmnist")

	code, lines, errs := runCmd(t, append(slices.Clone(base), "--space", "fmnist-wide")...)
	if code != 0 {
		t.Fatalf("predict --space fmnist-wide: %s", errs)
	}
	code, js, errs := runCmd(t, append(slices.Clone(base), "--json")...)
	if code != 0 {
		t.Fatalf("predict --json: %s", errs)
	}
	var res struct {
		Logits    [][]float32 `json:"logits"`
		Predicted []int       `json:"predicted"`
	}
	if err := json.Unmarshal([]byte(js), &res); err != nil {
		t.Fatalf("--json output %q: %v", js, err)
	}
	rows := strings.Split(strings.TrimSpace(lines), "\n")
	if len(res.Logits) != 2 || len(res.Predicted) != 2 || len(rows) != 2 {
		t.Fatalf("%d logit rows, %d predictions, %d default lines; want 2 each", len(res.Logits), len(res.Predicted), len(rows))
	}
	for i, r := range rows {
		b, _ := json.Marshal(res.Logits[i])
		if string(b) != r {
			t.Errorf("row %d: --json %s, default %s", i, b, r)
		}
	}
}

// TestErrorMessagesSayWhatHappened: the cause and a fix that works, in one line.
func TestErrorMessagesSayWhatHappened(t *testing.T) {
	for _, c := range []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"input is a directory", []string{"predict", "--arch", "max", "--input", t.TempDir(), "--shape", "1,1,32,32"}, []string{"--input", "is a directory"}},
		{"data is a file", []string{"eval", "--arch", "max", "--data", "README.md"}, []string{"--data: README.md is not a shards folder", "resnas shards build"}},
		{"max of a sub-network", []string{"predict", "--checkpoint", devDir + "subnet0.pth.tar", "--arch", "max", "--input", devDir + "input.f32", "--shape", "4,3,112,112"}, []string{"subnet0.pth.tar", "network_def as --arch"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCmd(t, c.args...)
			wantOneLineError(t, code, out, errs, c.fragments...)
		})
	}
}

// TestFlagsWithoutCommandGoToTUI: the explorer is the default command, so leading flags are
// its flags; help still works.
func TestFlagsWithoutCommandGoToTUI(t *testing.T) {
	code, _, errs := runCmd(t, "--checkpoint", "no-such.safetensors")
	if code == 0 || strings.Contains(errs, "unknown command") || !strings.HasPrefix(errs, "resnas tui:") {
		t.Errorf("resnas --checkpoint F: exit %d, %q; want the tui command's error", code, errs)
	}
	for _, h := range []string{"-h", "--help", "help"} {
		code, out, _ := runCmd(t, h)
		if code != 0 || !strings.Contains(out, "Commands:") {
			t.Errorf("resnas %s: exit %d, %q", h, code, out)
		}
	}
}

package main

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// torchPython is /usr/bin/python3 when it has torch with torch.load(weights_only=True)
// (torch ≥ 1.13); the test is skipped otherwise (CI installs python3-torch).
func torchPython(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	out, err := exec.Command("nice", "-n", "19", py, "-c", "import torch, inspect; assert 'weights_only' in inspect.signature(torch.load).parameters").CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Skipf("%s has no torch with torch.load(weights_only=True) (%s): install python3-torch to run this test", py, lines[len(lines)-1])
	}
	return py
}

// devSubnet is the first sub-network of the reference-dev fixture: it skips three blocks, one
// per stage, so its compact network_def renumbers blocks.{i}.
func devSubnet(t *testing.T) string {
	var spec struct {
		Subnets []string `json:"subnets"`
	}
	b, err := os.ReadFile(devDir + "spec.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(spec.Subnets[0], "), 0)") {
		t.Fatalf("fixture subnet 0 skips no block: %s", spec.Subnets[0])
	}
	return spec.Subnets[0]
}

// TestExportPyTorchParity: a sub-network with skipped blocks exported with --format pytorch
// loads into scripts/resnas_torch.py's model of the compact network_def with
// load_state_dict(strict=True) from torch.load(weights_only=True), and gives resnas's own
// logits on the fixture images.
func TestExportPyTorchParity(t *testing.T) {
	py := torchPython(t)
	arch := devSubnet(t)
	out := filepath.Join(t.TempDir(), "ex")
	code, stdout, errs := runCmd(t, "export", "--checkpoint", devDir+"supernet.pth.tar", "--arch", arch, "--out", out, "--format", "pytorch", "--json")
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, errs)
	}
	var res struct {
		Files []string `json:"files"`
		Notes []string `json:"notes"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("export --json: %v: %s", err, stdout)
	}
	var names []string
	for _, f := range res.Files {
		names = append(names, filepath.Base(f))
	}
	if want := []string{"subnet.pth", "network_def.txt", "network_def_compact.txt", "RETRAIN.md", "metrics.json"}; !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	// The fixture is patch 14 and RGB, but 10 classes at 112 px.
	notes := strings.Join(res.Notes, "\n")
	if len(res.Notes) != 2 || !strings.Contains(notes, "10 classes") || !strings.Contains(notes, "112 px") {
		t.Errorf("notes %q, want the 10 classes and the 112 px only", res.Notes)
	}

	code, stdout, errs = runCmd(t, "predict", "--checkpoint", devDir+"supernet.pth.tar", "--arch", arch, "--input", devDir+"input.f32", "--shape", "4,3,112,112")
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, errs)
	}
	var want [][]float64
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var row []float64
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatal(err)
		}
		want = append(want, row)
	}

	script := `
import json, os, sys
import numpy as np
import torch
sys.dont_write_bytecode = True
sys.path.insert(0, "scripts")
import resnas_torch as rt
torch.set_num_threads(1)
out = sys.argv[1]
net_def = open(os.path.join(out, "network_def_compact.txt")).read().strip()
assert "), 0)" not in net_def, net_def
ck = torch.load(os.path.join(out, "subnet.pth"), weights_only=True)
assert list(ck) == ["model"], list(ck)
sd = ck["model"]
m = rt.ViTResNAS(net_def, img=112, patch=14, in_chans=3, patch_head="patch_head.weight" in sd)
m.load_state_dict(sd, strict=True)
m.eval()
x = torch.from_numpy(np.fromfile(sys.argv[2], dtype="<f4").reshape(4, 3, 112, 112).copy())
with torch.no_grad():
    print(json.dumps({"logits": m(x).tolist(), "keys": list(sd), "patch_head": "patch_head.weight" in sd}))
`
	cmd := exec.Command("nice", "-n", "19", py, "-c", script, out, devDir+"input.f32")
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	pyOut, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("PyTorch refused the export: %v\n%s", err, pyOut)
	}
	var got struct {
		Logits    [][]float64 `json:"logits"`
		Keys      []string    `json:"keys"`
		PatchHead bool        `json:"patch_head"`
	}
	if err := json.Unmarshal(pyOut, &got); err != nil {
		t.Fatalf("%v: %s", err, pyOut)
	}
	if !got.PatchHead {
		t.Error("the fixture supernet has a patch_head, the export none")
	}
	// The three skipped blocks are gone: indices run 0…10 with no gap.
	for _, k := range got.Keys {
		if strings.HasPrefix(k, "blocks.11.") {
			t.Errorf("key %s: blocks not renumbered to the compact network_def", k)
		}
	}
	if len(got.Logits) != len(want) {
		t.Fatalf("PyTorch gave %d rows, resnas %d", len(got.Logits), len(want))
	}
	worst := 0.0
	for i := range want {
		for j := range want[i] {
			worst = math.Max(worst, math.Abs(got.Logits[i][j]-want[i][j]))
		}
	}
	t.Logf("max |Δlogit| PyTorch (exported subnet.pth) vs resnas: %.3g", worst)
	if worst > 1e-4 {
		t.Errorf("max |Δlogit| %.3g > 1e-4", worst)
	}
}

// TestExportFormats: --format both writes both weight files, the default only safetensors,
// and an unknown format or an existing folder without --overwrite is a one-line error before
// any work.
func TestExportFormats(t *testing.T) {
	root := t.TempDir()
	out := filepath.Join(root, "ex")
	code, stdout, errs := runCmd(t, "export", "--arch", "min", "--out", out, "--format", "torch")
	wantOneLineError(t, code, stdout, errs, "--format", "torch", "pytorch")
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused --format created --out")
	}
	code, stdout, errs = runCmd(t, "export", "--arch", "min", "--out", out, "--limit", "20", "--format", "both", "--json")
	if code != 0 {
		t.Fatalf("export --format both: %s", errs)
	}
	var res struct {
		Files []string `json:"files"`
		Notes []string `json:"notes"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"subnet.safetensors", "subnet.pth", "RETRAIN.md", "network_def_compact.txt"} {
		if !slices.Contains(res.Files, filepath.Join(out, f)) {
			t.Errorf("--format both did not list %s: %v", f, res.Files)
		}
	}
	// The shipped fmnist supernet breaks every constraint of the reference code: each is named.
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{"patch 4", "1 input channel", "10 classes", "32 px", "patch_head"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q do not name %q", res.Notes, want)
		}
	}
	retrain, _ := os.ReadFile(filepath.Join(out, "RETRAIN.md"))
	compact, _ := os.ReadFile(filepath.Join(out, "network_def_compact.txt"))
	for _, want := range []string{"--finetune " + filepath.Join(out, "subnet.pth"), "--network-def '" + strings.TrimSpace(string(compact)) + "'", "patch 4"} {
		if !strings.Contains(string(retrain), want) {
			t.Errorf("RETRAIN.md lacks %q:\n%s", want, retrain)
		}
	}
	code, stdout, errs = runCmd(t, "export", "--arch", "min", "--out", out, "--limit", "20", "--format", "pytorch")
	wantOneLineError(t, code, stdout, errs, "--overwrite")
	// The text output: files on stdout, the note on one stderr line.
	code, stdout, errs = runCmd(t, "export", "--arch", "min", "--out", out, "--limit", "20", "--overwrite")
	if code != 0 {
		t.Fatalf("export --overwrite: %s", errs)
	}
	if strings.Contains(stdout, "subnet.pth") || strings.Contains(errs, "note:") {
		t.Errorf("the default safetensors export wrote PyTorch files or notes: %s / %s", stdout, errs)
	}
	des, _ := os.ReadDir(out)
	if len(des) != 3 {
		t.Errorf("--overwrite with the default format left %d files, want the 3 of a safetensors export", len(des))
	}
	code, stdout, errs = runCmd(t, "export", "--arch", "min", "--out", out, "--limit", "20", "--overwrite", "--format", "pytorch")
	if code != 0 {
		t.Fatalf("export --format pytorch: %s", errs)
	}
	if lines := strings.Split(strings.TrimSpace(errs), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "note: ") {
		t.Errorf("stderr %q, want one note line", errs)
	}
	if !strings.Contains(stdout, "subnet.pth") || strings.Contains(stdout, "note") {
		t.Errorf("stdout %q, want the files only", stdout)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const devDir = "testdata/reference-dev/"

// runCmd runs resnas in-process and returns its exit code, stdout and stderr.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string {
		if k == "RESNAS_GEMM" {
			return os.Getenv(k)
		}
		return ""
	}}
	code := run(context.Background(), args, env)
	return code, out.String(), errb.String()
}

// wantOneLineError checks a failing command: exit ≠ 0, a single line on stderr containing
// every fragment, nothing on stdout and no Go panic or stack trace.
func wantOneLineError(t *testing.T, code int, stdout, stderr string, fragments ...string) {
	t.Helper()
	if code == 0 {
		t.Fatalf("exit 0, want failure; stdout %q", stdout)
	}
	if stdout != "" {
		t.Errorf("stdout not empty on failure: %q", stdout)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	// A usage error adds its usage line; the error itself is the first line.
	if len(lines) > 2 || (len(lines) == 2 && !strings.HasPrefix(lines[1], "usage:")) {
		t.Errorf("stderr has %d lines, want one error line:\n%s", len(lines), stderr)
	}
	for _, bad := range []string{"panic", "goroutine ", ".go:"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("stderr looks like a crash (%q):\n%s", bad, stderr)
		}
	}
	for _, f := range fragments {
		if !strings.Contains(lines[0], f) {
			t.Errorf("error %q does not mention %q", lines[0], f)
		}
	}
}

func goldenCases(t *testing.T) []struct {
	Name       string      `json:"name"`
	NetworkDef string      `json:"network_def"`
	Logits     [][]float64 `json:"logits"`
} {
	var g struct {
		Cases []struct {
			Name       string      `json:"name"`
			NetworkDef string      `json:"network_def"`
			Logits     [][]float64 `json:"logits"`
		} `json:"cases"`
	}
	b, err := os.ReadFile(devDir + "golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g.Cases
}

// TestPredictGolden runs the predict command exactly as scripts call it, on every golden
// case, and on subnet0's own checkpoint.
func TestPredictGolden(t *testing.T) {
	cases := goldenCases(t)
	type run struct {
		ckpt, arch string
		want       [][]float64
	}
	runs := []run{{devDir + "subnet0.pth.tar", cases[1].NetworkDef, cases[1].Logits}}
	for _, c := range cases {
		runs = append(runs, run{devDir + "supernet.pth.tar", c.NetworkDef, c.Logits})
	}
	for _, r := range runs {
		code, out, errs := runCmd(t, "predict", "--checkpoint", r.ckpt, "--arch", r.arch, "--input", devDir+"input.f32", "--shape", "4,3,112,112")
		if code != 0 {
			t.Fatalf("predict %s: exit %d: %s", r.ckpt, code, errs)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 4 {
			t.Fatalf("predict printed %d lines, want 4", len(lines))
		}
		var worst float64
		for i, l := range lines {
			var logits []float64
			if err := json.Unmarshal([]byte(l), &logits); err != nil {
				t.Fatalf("line %d is not a JSON array: %v", i, err)
			}
			for j, v := range logits {
				worst = math.Max(worst, math.Abs(v-r.want[i][j]))
			}
		}
		if worst > 1e-4 {
			t.Errorf("%s: max abs diff %.3g > 1e-4", r.ckpt, worst)
		}
	}
}

func TestProfileFixtureMACs(t *testing.T) {
	var rows []struct {
		Name       string `json:"name"`
		NetworkDef string `json:"network_def"`
		MACs       int64  `json:"macs"`
		Params     int64  `json:"params"`
	}
	b, err := os.ReadFile("testdata/macs-public.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		code, out, errs := runCmd(t, "profile", "--arch", r.NetworkDef, "--img", "224", "--patch", "14", "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", r.Name, code, errs)
		}
		var got struct{ MACs, Params int64 }
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if got.MACs != r.MACs || got.Params != r.Params {
			t.Errorf("%s: macs %d params %d, want %d %d", r.Name, got.MACs, got.Params, r.MACs, r.Params)
		}
	}
}

// TestBadInput: every kind of bad input named in the acceptance list gives one line naming
// the problem and a non-zero exit, never a panic.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	full, err := os.ReadFile(devDir + "supernet.pth.tar")
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.pth.tar")
	os.WriteFile(truncated, full[:len(full)/2], 0o644)
	notCkpt := filepath.Join(dir, "notes.pth.tar")
	os.WriteFile(notCkpt, []byte("these are my lab notes, not a checkpoint\n"), 0o644)
	evil := filepath.Join("testdata", "bad", "evil.pth.tar")
	cases := goldenCases(t)
	sup := devDir + "supernet.pth.tar"
	in := devDir + "input.f32"
	tooManyHeads := strings.Replace(cases[0].NetworkDef, "(1, (32, 2, 16), (32, 96), 1)", "(1, (32, 3, 16), (32, 96), 1)", 1)
	tooFewBlocks := strings.Replace(cases[0].NetworkDef, "(1, (32, 2, 16), (32, 96), 1), ", "", 3)
	malformed := strings.TrimSuffix(cases[0].NetworkDef, "))")

	for _, c := range []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"truncated checkpoint", []string{"predict", "--checkpoint", truncated, "--arch", "max", "--input", in, "--shape", "4,3,112,112"}, []string{"truncated.pth.tar"}},
		{"not a checkpoint", []string{"predict", "--checkpoint", notCkpt, "--arch", "max", "--input", in, "--shape", "4,3,112,112"}, []string{"notes.pth.tar"}},
		{"forbidden pickle global", []string{"predict", "--checkpoint", evil, "--arch", "max", "--input", in, "--shape", "4,3,112,112"}, []string{"evil.pth.tar", "posix.system"}},
		{"more heads than the supernet", []string{"predict", "--checkpoint", sup, "--arch", tooManyHeads, "--input", in, "--shape", "4,3,112,112"}, []string{"blocks.0", "heads"}},
		{"wrong number of blocks", []string{"predict", "--checkpoint", sup, "--arch", tooFewBlocks, "--input", in, "--shape", "4,3,112,112"}, []string{"blocks"}},
		{"malformed tuple", []string{"predict", "--checkpoint", sup, "--arch", malformed, "--input", in, "--shape", "4,3,112,112"}, []string{"network_def"}},
		{"input size does not match --shape", []string{"predict", "--checkpoint", sup, "--arch", "max", "--input", in, "--shape", "5,3,112,112"}, []string{"input.f32", "bytes"}},
		{"shape not the model's", []string{"predict", "--checkpoint", sup, "--arch", "max", "--input", in, "--shape", "1,3,224,224"}, []string{"224"}},
		{"bad flag", []string{"predict", "--frobnicate"}, []string{"frobnicate"}},
		{"unknown preset", []string{"profile", "--arch", "vit-resnas-huge"}, []string{"vit-resnas-huge"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCmd(t, c.args...)
			wantOneLineError(t, code, out, errs, c.fragments...)
			t.Logf("%s", strings.TrimSpace(errs))
		})
	}
	if _, err := os.Stat("/tmp/resnas-pwned"); err == nil {
		t.Fatal("the forbidden pickle ran os.system")
	}
}

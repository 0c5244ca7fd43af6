package main

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/resnas/resnas/internal/gemm/cuda/cudafake"
	"github.com/resnas/resnas/internal/gpukernels"
)

// fakeCUDADir builds the fake CUDA driver (with the GPU kernels, run on the CPU) and returns
// the directory to put on LD_LIBRARY_PATH, where the real library search finds it.
func fakeCUDADir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := cudafake.Build(dir, gpukernels.Source); errors.Is(err, cudafake.ErrNoCompiler) {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
	return dir
}

// onFakeGPU runs resnas in a child process that loads the fake driver.
func onFakeGPU(t *testing.T, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := child(t, args...)
	cmd.Env = append(cmd.Env, "LD_LIBRARY_PATH="+dir)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// TestCLIOnFakeGPU runs the commands a GPU user runs, --device cuda and auto, through the real
// library search: predict matches the reference logits, bench reports the GPU-resident path,
// and eval agrees with the CPU.
func TestCLIOnFakeGPU(t *testing.T) {
	dir := fakeCUDADir(t)
	cases := goldenCases(t)
	for _, c := range cases {
		out, errs, err := onFakeGPU(t, dir, "predict", "--device", "cuda", "--checkpoint", devDir+"supernet.pth.tar",
			"--arch", c.NetworkDef, "--input", devDir+"input.f32", "--shape", "4,3,112,112")
		if err != nil {
			t.Fatalf("predict --device cuda: %v\n%s", err, errs)
		}
		var worst float64
		for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var logits []float64
			if err := json.Unmarshal([]byte(line), &logits); err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
			for j, v := range logits {
				worst = math.Max(worst, math.Abs(v-c.Logits[i][j]))
			}
		}
		t.Logf("%s on the fake GPU: max abs diff %.3g", c.Name, worst)
		if worst > 1e-4 {
			t.Errorf("%s: max abs diff %.3g > 1e-4", c.Name, worst)
		}
	}

	out, errs, err := onFakeGPU(t, dir, "bench", "--device", "auto", "--arch", "max", "--batch", "4", "--json")
	if err != nil {
		t.Fatalf("bench --device auto: %v\n%s", err, errs)
	}
	var b struct {
		Device   string  `json:"device"`
		GEMM     string  `json:"gemm"`
		Resident bool    `json:"gpu_resident"`
		Kernels  string  `json:"gpu_kernels"`
		Rate     float64 `json:"images_per_sec"`
	}
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatalf("bench --json: %v: %s", err, out)
	}
	if b.Device != "cuda" || b.GEMM != "cublas" || !b.Resident || b.Kernels != "PTX for sm_75" || !(b.Rate > 0) {
		t.Errorf("bench on the fake GPU: %+v", b)
	}
	if !strings.Contains(errs, "running on the GPU: Fake CUDA Device") {
		t.Errorf("--device auto did not say it chose the GPU; stderr: %q", errs)
	}

	evalTop1 := func(device string) float64 {
		out, errs, err := onFakeGPU(t, dir, "eval", "--device", device, "--arch", "max", "--limit", "200", "--json")
		if err != nil {
			t.Fatalf("eval --device %s: %v\n%s", device, err, errs)
		}
		var r struct {
			Top1 float64 `json:"top1"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("eval --json: %v: %s", err, out)
		}
		return r.Top1
	}
	gpu, cpu := evalTop1("cuda"), evalTop1("cpu")
	t.Logf("top-1 on 200 images: GPU %.4f, CPU %.4f", gpu, cpu)
	if math.Abs(gpu-cpu) > 1.0/200+1e-9 {
		t.Errorf("top-1 on the GPU %.4f, on the CPU %.4f", gpu, cpu)
	}
}

// TestDeviceCUDAWithoutDriver: asking for the GPU where there is none is a one-line error,
// and the default (auto) runs on the CPU without a word about CUDA.
func TestDeviceCUDAWithoutDriver(t *testing.T) {
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/libcuda.so.1"); err == nil {
		t.Skip("this machine has an NVIDIA driver")
	}
	empty := t.TempDir()
	auto := child(t, "bench", "--arch", "max", "--batch", "2", "--json")
	auto.Env = append(auto.Env, "LD_LIBRARY_PATH="+empty)
	var stdout, stderr strings.Builder
	auto.Stdout, auto.Stderr = &stdout, &stderr
	if err := auto.Run(); err != nil {
		t.Fatalf("bench with the default device: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"device":"cpu"`) || strings.Contains(stderr.String(), "cuda") {
		t.Errorf("default device without a driver: stdout %q, stderr %q; want the CPU and no CUDA note", stdout.String(), stderr.String())
	}
	cmd := child(t, "bench", "--device", "cuda", "--arch", "max", "--batch", "2")
	cmd.Env = append(cmd.Env, "LD_LIBRARY_PATH="+empty)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("bench --device cuda without a driver succeeded: %s", out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "libcuda.so.1") || strings.Contains(string(out), "goroutine") {
		t.Errorf("want one line naming libcuda.so.1, got:\n%s", out)
	}
}

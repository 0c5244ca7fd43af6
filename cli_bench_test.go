package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchReportsSgemmShare: bench times the reference sgemm in the same run and reports the
// network's GFLOP/s as a share of it; --sgemm 0 leaves both out.
func TestBenchReportsSgemmShare(t *testing.T) {
	code, out, errs := runCmd(t, "bench", "--arch", "min", "--batch", "4", "--device", "cpu", "--sgemm", "64", "--json")
	if code != 0 {
		t.Fatalf("bench exited %d: %s", code, errs)
	}
	var res struct {
		GFLOPs float64 `json:"gflop_per_sec"`
		Sgemm  *struct {
			Size    int       `json:"size"`
			GFLOPs  float64   `json:"gflop_per_sec"`
			Samples []float64 `json:"samples"`
		} `json:"sgemm"`
		Share   float64 `json:"share_of_sgemm"`
		Images  float64 `json:"images_per_sec"`
		BatchMS float64 `json:"ms_per_batch"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out)
	}
	if res.Sgemm == nil || res.Sgemm.Size != 64 || len(res.Sgemm.Samples) != 6 || res.Sgemm.GFLOPs <= 0 {
		t.Fatalf("sgemm reference = %+v, want size 64, 6 samples (3 before, 3 after), a positive rate", res.Sgemm)
	}
	if want := res.GFLOPs / res.Sgemm.GFLOPs; math.Abs(res.Share-want) > 1e-9*want {
		t.Errorf("share_of_sgemm = %v, want %v (network GFLOP/s ÷ sgemm GFLOP/s)", res.Share, want)
	}
	if want := 1e3 * 4 / res.Images; math.Abs(res.BatchMS-want) > 1e-9*want {
		t.Errorf("ms_per_batch = %v, want %v (4 images at %v images/s)", res.BatchMS, want, res.Images)
	}
	code, out, errs = runCmd(t, "bench", "--arch", "min", "--batch", "4", "--device", "cpu", "--sgemm", "0", "--json")
	if code != 0 {
		t.Fatalf("bench --sgemm 0 exited %d: %s", code, errs)
	}
	var bare map[string]any
	if err := json.Unmarshal([]byte(out), &bare); err != nil {
		t.Fatal(err)
	}
	if _, ok := bare["sgemm"]; ok {
		t.Errorf("--sgemm 0 still reports an sgemm: %s", out)
	}
}

// TestBenchCPUProfile: --cpuprofile writes a gzipped pprof profile of the timed forwards, and
// a path that cannot be created is a one-line error before any measurement.
func TestBenchCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.prof")
	code, _, errs := runCmd(t, "bench", "--arch", "min", "--batch", "4", "--device", "cpu", "--sgemm", "0", "--cpuprofile", path)
	if code != 0 {
		t.Fatalf("bench --cpuprofile exited %d: %s", code, errs)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile is %d bytes, not gzip (a pprof profile)", len(b))
	}
	code, _, errs = runCmd(t, "bench", "--arch", "min", "--cpuprofile", filepath.Join(t.TempDir(), "no", "such", "dir", "p.prof"))
	if code == 0 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, "--cpuprofile") {
		t.Fatalf("unwritable --cpuprofile: exit %d, stderr %q; want a one-line error naming the flag", code, errs)
	}
}

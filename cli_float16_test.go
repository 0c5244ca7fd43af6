package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"testing"
)

// --float16 keeps the shipped supernet in float16: its top-1 on sub-val stays within a
// quarter point of float32's (measured on all 5,000 images: see the README's figures), and
// it refuses the GPU and workers in one line.
func TestFloat16Eval(t *testing.T) {
	top1 := map[bool]float64{}
	for _, half := range []bool{false, true} {
		args := []string{"eval", "--arch", "max", "--limit", "500", "--json", "--device", "cpu"}
		if half {
			args = append(args, "--float16")
		}
		code, out, errs := runCmd(t, args...)
		var r struct{ Top1 float64 }
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
			t.Fatalf("eval %v: exit %d, %s %s", args, code, out, errs)
		}
		top1[half] = r.Top1
	}
	t.Logf("top-1 on 500 sub-val images: float32 %.4f, float16 %.4f", top1[false], top1[true])
	if math.Abs(top1[true]-top1[false]) > 0.0025 || top1[true] < 0.5 {
		t.Errorf("float16 top-1 %.4f, float32 %.4f: want within 0.25 points", top1[true], top1[false])
	}
	code, out, errs := runCmd(t, "eval", "--arch", "max", "--float16", "--device", "cuda")
	wantOneLineError(t, code, out, errs, "--float16", "--device cpu")
	// Workers load their own float32 weights, so a search spread over them refuses it.
	code, out, errs = runCmd(t, "search", "--float16", "--workers", "1", "--max-macs", "50%", "--journal", filepath.Join(t.TempDir(), "j.jsonl"))
	wantOneLineError(t, code, out, errs, "--float16", "workers")
}

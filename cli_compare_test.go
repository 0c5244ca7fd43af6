package main

import (
	"encoding/json"
	"math"
	"testing"
)

// TestCompareCommand: compare's accuracies are eval's on the same images, its fields are
// consistent (diff = a − b, the interval holds diff, discordant = only_a + only_b), and a
// sub-network compared with itself is not distinguishable.
func TestCompareCommand(t *testing.T) {
	code, out, errs := runCmd(t, "compare", "--arch", "max", "--arch", "min", "--limit", "300", "--json", "--device", "cpu")
	if code != 0 {
		t.Fatalf("compare: exit %d: %s", code, errs)
	}
	var c struct {
		ATop1, BTop1, Diff, P     float64
		CI95                      [2]float64
		Images, Discordant, OnlyA int
		OnlyB                     int  `json:"only_b"`
		Distinguishable           bool `json:"distinguishable"`
	}
	raw := map[string]any{}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, k := range []string{"a_top1", "b_top1", "diff", "ci95", "p", "images", "discordant"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("compare --json has no %q: %s", k, out)
		}
	}
	c.ATop1, c.BTop1, c.Diff, c.P = raw["a_top1"].(float64), raw["b_top1"].(float64), raw["diff"].(float64), raw["p"].(float64)
	c.Images, c.Discordant = int(raw["images"].(float64)), int(raw["discordant"].(float64))
	c.OnlyA, c.OnlyB = int(raw["only_a"].(float64)), int(raw["only_b"].(float64))
	ci := raw["ci95"].([]any)
	c.CI95 = [2]float64{ci[0].(float64), ci[1].(float64)}
	if c.Images != 300 || math.Abs(c.Diff-(c.ATop1-c.BTop1)) > 1e-12 || !(c.CI95[0] <= c.Diff && c.Diff <= c.CI95[1]) ||
		c.Discordant != c.OnlyA+c.OnlyB || !(c.P > 0 && c.P <= 1) {
		t.Errorf("inconsistent comparison: %s", out)
	}
	for _, arch := range []struct {
		name string
		top1 float64
	}{{"max", c.ATop1}, {"min", c.BTop1}} {
		code, out, errs := runCmd(t, "eval", "--arch", arch.name, "--limit", "300", "--json", "--device", "cpu")
		var r struct{ Top1 float64 }
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.Top1 != arch.top1 {
			t.Errorf("eval --arch %s: top1 %v (%s), compare said %v", arch.name, r.Top1, errs, arch.top1)
		}
	}
	code, out, errs = runCmd(t, "compare", "--arch", "max", "--arch", "max", "--limit", "300", "--json", "--device", "cpu")
	raw = map[string]any{}
	if code != 0 || json.Unmarshal([]byte(out), &raw) != nil || raw["distinguishable"] != false || raw["p"] != 1.0 || raw["diff"] != 0.0 {
		t.Errorf("a network against itself: exit %d, %s %s", code, out, errs)
	}
}

func TestCompareFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"compare", "--arch", "max"},
		{"compare", "--arch", "max", "--arch", "min", "--arch", "max"},
		{"compare", "--arch", "max", "--arch", "min", "--limit", "-1"},
	} {
		code, out, errs := runCmd(t, args...)
		wantOneLineError(t, code, out, errs, "--")
	}
}

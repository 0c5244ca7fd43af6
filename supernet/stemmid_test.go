package supernet_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/resnas/resnas/internal/gemm/gonum"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/supernet"
)

// TestFmnistWideTradeOff pins what the shipped space promises: the smallest sub-network at
// most 1/50 of the largest's MACs, with a searchable stem width.
func TestFmnistWideTradeOff(t *testing.T) {
	s, err := supernet.Lookup("fmnist-wide")
	if err != nil {
		t.Fatal(err)
	}
	hi, lo := profiler.MACs(s.Max(), s.Input), profiler.MACs(s.Min(), s.Input)
	t.Logf("fmnist-wide: largest %d MACs, smallest %d MACs, ratio %.1f", hi, lo, float64(hi)/float64(lo))
	if hi < 50*lo {
		t.Errorf("largest %d MACs < 50 × smallest %d", hi, lo)
	}
	if s.Max().Stem.Mid != 12 || s.Min().Stem.Mid != 2 {
		t.Errorf("stem mid widths: largest %d, smallest %d, want 12 and 2", s.Max().Stem.Mid, s.Min().Stem.Mid)
	}
	seen := map[int]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		seen[s.Random(rng).Stem.Mid] = true
	}
	if len(seen) != len(s.StemMids) {
		t.Errorf("random members used stem mid widths %v, want all of %v", seen, s.StemMids)
	}
}

func TestStemMidErrors(t *testing.T) {
	s, _ := supernet.Lookup("fmnist-wide")
	a := s.Max()
	a.Stem.Mid = 6
	if err := s.Contains(a); err == nil || !strings.Contains(err.Error(), "stem mid width 6 not in fmnist-wide choices [12 8 4 2]") {
		t.Errorf("Contains(mid 6) = %v", err)
	}
	if err := s.Fits(a); err != nil {
		t.Errorf("Fits(mid 6) = %v, want nil (a leading slice exists)", err)
	}
	bad := *s
	bad.StemMids = []int{16, 8}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "differs from stem_mid 12") {
		t.Errorf("Validate(stem_mids 16, 8) = %v", err)
	}
	bad.StemMids = []int{12, 12}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "not strictly descending") {
		t.Errorf("Validate(stem_mids 12, 12) = %v", err)
	}
}

// TestStemMidStatistics checks that a narrower stem uses its own BatchNorm statistics, in the
// inference views and in Slice's export alike, and falls back to the leading slice of the
// largest width's where a checkpoint has none.
func TestStemMidStatistics(t *testing.T) {
	s, _ := supernet.Lookup("fmnist-wide")
	in := s.Input
	rng := rand.New(rand.NewPCG(3, 4))
	w := randomWeights(s, 0.1, rng)
	a := s.Max()
	a.Stem.Mid = 4
	x := make([]float32, 2*in.Channels*in.Size*in.Size)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	logits := func(w model.Weights) []float32 {
		t.Helper()
		net, err := model.NewNet(w, a, in, gonum.New(), model.NetOptions{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, 2*s.Classes)
		if err := net.Forward(context.Background(), x, 2, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	shared := logits(w)
	for layer := 1; layer <= 3; layer++ {
		p := model.StemBNStatsPrefix(layer, 4)
		w[p+".running_mean"] = model.Tensor{Shape: []int{4}, Data: []float32{2, -2, 1, 3}}
		w[p+".running_var"] = model.Tensor{Shape: []int{4}, Data: []float32{0.05, 3, 0.02, 1.5}}
	}
	own := logits(w)
	if maxDiff(shared, own) < 1e-3 {
		t.Fatalf("per-width statistics changed the logits by only %.2g: not used", maxDiff(shared, own))
	}
	sliced, err := supernet.Slice(w, a, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := sliced["patch_embed.conv2.bn.running_var"].Data; got[1] != 3 {
		t.Errorf("exported conv2 running_var %v, want the mid-4 statistics [0.05 3 0.02 1.5]", got)
	}
	if d := maxDiff(own, logits(sliced)); d > 1e-5 {
		t.Errorf("exported sub-network differs from the supernet view by %.2g", d)
	}
}

// randomWeights fills the supernet of s with N(0, scale²) values, BatchNorm running variances
// with U(1, 2), so that every statistic matters.
func randomWeights(s *supernet.Space, scale float64, rng *rand.Rand) model.Weights {
	w := model.Weights{}
	for _, p := range model.ParamShapes(s.Max(), s.Input) {
		t := model.Tensor{Shape: p.Shape, Data: make([]float32, numel(p.Shape))}
		for i := range t.Data {
			t.Data[i] = float32(scale * rng.NormFloat64())
			if strings.HasSuffix(p.Key, "running_var") {
				t.Data[i] = 1 + float32(rng.Float64())
			}
		}
		w[p.Key] = t
	}
	return w
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func maxDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestRecalibrateStemWidths checks that BatchNorm recalibration re-estimates each stem
// width's own statistics through that width's slice: the first layer's per-channel
// statistics do not depend on the width (its channels see only the image), the second's do.
func TestRecalibrateStemWidths(t *testing.T) {
	s, _ := supernet.Lookup("fmnist-wide")
	in := s.Input
	rng := rand.New(rand.NewPCG(5, 6))
	w := randomWeights(s, 0.3, rng)
	for layer := 1; layer <= 3; layer++ {
		p := model.StemBNStatsPrefix(layer, 4)
		w[p+".running_mean"] = model.Tensor{Shape: []int{4}, Data: make([]float32, 4)}
		w[p+".running_var"] = model.Tensor{Shape: []int{4}, Data: []float32{1, 1, 1, 1}}
	}
	const n = 8
	x := make([]float32, n*in.Channels*in.Size*in.Size)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	out, err := model.RecalibrateStemBN(context.Background(), w, in, x, n, gonum.New())
	if err != nil {
		t.Fatal(err)
	}
	full1, own1 := out["patch_embed.conv1.bn.running_mean"].Data, out[model.StemBNStatsPrefix(1, 4)+".running_mean"].Data
	if d := maxDiff(full1[:4], own1); d > 1e-5 || own1[0] == 0 {
		t.Errorf("layer 1: width-4 means %v, want the full width's first four %v", own1, full1[:4])
	}
	full2, own2 := out["patch_embed.conv2.bn.running_mean"].Data, out[model.StemBNStatsPrefix(2, 4)+".running_mean"].Data
	if d := maxDiff(full2[:4], own2); d < 1e-3 {
		t.Errorf("layer 2: width-4 means %v equal the full width's %v: not recalibrated through the slice", own2, full2[:4])
	}
	if w[model.StemBNStatsPrefix(2, 4)+".running_mean"].Data[0] != 0 {
		t.Error("recalibration changed its input weights")
	}
}

package model_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/resnas/resnas/internal/gemm/gonum"
	"github.com/resnas/resnas/model"
)

// A network on float16 weights computes on float32 copies of the blocks it uses, so it gives
// exactly the logits of float32 weights holding the same rounded values, for every golden
// case (the largest network, with fused qkv, and sub-networks that slice every section); it
// stays near the reference's float32 logits, and the float16 map takes half the memory.
func TestHalfWeightsMatchTheirRoundedFloat32(t *testing.T) {
	g, x := readGolden(t)
	full := load(t, "supernet.pth.tar")
	half, rounded := model.Weights{}, model.Weights{}
	for k, w := range full {
		half[k] = w.ToHalf()
		rounded[k] = half[k].Float32()
	}
	h, f := half.MemBytes()
	_, f0 := full.MemBytes()
	if f != 0 || 2*h != f0 {
		t.Errorf("float16 weights take %d + %d float32 bytes, want %d + 0", h, f, f0/2)
	}
	be := gonum.New()
	for _, c := range g.Cases {
		a, err := model.ParseArch(c.NetworkDef)
		if err != nil {
			t.Fatal(err)
		}
		logits := func(w model.Weights) []float32 {
			n, err := model.NewNet(w, a, devInput, be, model.NetOptions{Threads: 2})
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			out := make([]float32, g.Batch*n.Classes())
			if err := n.Forward(context.Background(), x, g.Batch, out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		got, want := logits(half), logits(rounded)
		if !slices.Equal(got, want) {
			t.Errorf("%s: float16 weights give other logits than their float32 values", c.Name)
		}
		d := maxAbsDiff(got, c.Logits)
		t.Logf("%s: float16 weights, max abs diff to the reference %.3g", c.Name, d)
		if d > 0.01 || math.IsNaN(d) {
			t.Errorf("%s: float16 weights, max abs diff to the reference %.3g > 0.01", c.Name, d)
		}
	}
}

// Values beyond float16's range keep their tensor in float32; others round-trip exactly.
func TestToHalfKeepsWhatWouldOverflow(t *testing.T) {
	big := model.Tensor{Shape: []int{2}, Data: []float32{1, 70000}}
	if got := big.ToHalf(); got.IsHalf() {
		t.Errorf("a tensor holding 70000 became float16")
	}
	small := model.Tensor{Shape: []int{2}, Data: []float32{1, -0.5}}
	if got := small.ToHalf(); !got.IsHalf() || got.Len() != 2 || !slices.Equal(got.Float32().Data, small.Data) {
		t.Errorf("ToHalf of %v = %+v", small.Data, got)
	}
}

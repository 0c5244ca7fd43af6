package supernet_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// TestSliceMatchesReferenceExport slices subnet0 out of the reference-dev supernet and
// compares every tensor with the sub-network the reference code itself exported (saved from
// views, so this also exercises qkv per section and every leading slice).
func TestSliceMatchesReferenceExport(t *testing.T) {
	const dir = "../testdata/reference-dev/"
	var spec struct{ Subnets []string }
	b, err := os.ReadFile(dir + "spec.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	a, err := model.ParseArch(spec.Subnets[0])
	if err != nil {
		t.Fatal(err)
	}
	super, err := checkpoints.Load(dir+"supernet.pth.tar", checkpoints.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := checkpoints.Load(dir+"subnet0.pth.tar", checkpoints.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := model.Input{Size: 112, Channels: 3, Patch: 14}
	got, err := supernet.Slice(super.Weights, a, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(model.ParamShapes(a, in)) {
		t.Fatalf("sliced %d tensors, want %d", len(got), len(model.ParamShapes(a, in)))
	}
	for k, g := range got {
		r, ok := ref.Weights[k]
		if !ok {
			t.Fatalf("reference export has no %s", k)
		}
		if len(g.Data) != len(r.Data) {
			t.Fatalf("%s: %d values, reference %d", k, len(g.Data), len(r.Data))
		}
		for i := range g.Data {
			if g.Data[i] != r.Data[i] {
				t.Fatalf("%s[%d] = %v, reference %v", k, i, g.Data[i], r.Data[i])
			}
		}
	}
	// Asking for more than the supernet holds is an error, not a silent truncation.
	big := a.Clone()
	big.Layers[0].MLP = 10_000
	if _, err := supernet.Slice(super.Weights, big, in); err == nil {
		t.Fatal("Slice accepted an MLP larger than the supernet's")
	}
}

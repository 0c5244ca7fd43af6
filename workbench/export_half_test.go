package workbench

import (
	"path/filepath"
	"testing"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/model"
)

// TestExportPyTorchFromFloat16: a supernet loaded with --float16 exports its patch_head too
// (it panicked reading the float16 tensor's empty float32 slice), with the float16-rounded
// values of the float32 export.
func TestExportPyTorchFromFloat16(t *testing.T) {
	const supernetFile = "../testdata/reference-dev/supernet.pth.tar"
	heads := map[bool]model.Tensor{}
	for _, half := range []bool{false, true} {
		l, err := Load(supernetFile, LoadOptions{Patch: 14, Float16: half})
		if err != nil {
			t.Fatal(err)
		}
		if l.Space == nil {
			t.Fatal("the reference-dev supernet's space was not detected")
		}
		a := l.Space.Min() // skips blocks, so the export renumbers them
		out := filepath.Join(t.TempDir(), "exp")
		if _, err := ExportSubnetAs(l, a, out, nil, ExportOptions{Format: FormatPyTorch}); err != nil {
			t.Fatalf("float16 %v: %v", half, err)
		}
		ck, err := checkpoints.Load(filepath.Join(out, "subnet.pth"), checkpoints.Options{})
		if err != nil {
			t.Fatal(err)
		}
		h, ok := ck.Weights["patch_head.weight"]
		if !ok {
			t.Fatalf("float16 %v: no patch_head.weight in the export", half)
		}
		heads[half] = h
	}
	f32, f16 := heads[false], heads[true]
	for i, v := range f32.Data {
		want := (model.Tensor{Shape: []int{1}, Data: []float32{v}}).ToHalf().Float32().Data[0]
		if f16.Data[i] != want {
			t.Fatalf("patch_head.weight[%d] = %v from float16, want %v (%v rounded)", i, f16.Data[i], want, v)
		}
	}
}

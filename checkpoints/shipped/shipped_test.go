package shipped

import (
	"testing"

	"github.com/resnas/resnas/data"
)

// TestCheckpoint: the embedded supernet loads and its metadata names the space and geometry
// the explorer runs it with.
func TestCheckpoint(t *testing.T) {
	ck, err := Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if ck.Path != "default" {
		t.Errorf("path %q, want default", ck.Path)
	}
	m := ck.Meta
	if m.Space != "fmnist-wide" || m.Classes != 10 || m.Input.Channels != 1 || m.Input.Size != 32 {
		t.Errorf("metadata: space %q, %d classes, input %+v; want fmnist-wide, 10, 1×32×32", m.Space, m.Classes, m.Input)
	}
	if m.Arch == "" || len(ck.Weights) == 0 {
		t.Errorf("arch %q with %d tensors", m.Arch, len(ck.Weights))
	}
}

// TestShards: both embedded splits open with the image counts checkpoints/README.md states
// and read as normalised 1×32×32 images with labels in range.
func TestShards(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func() (*data.Set, error)
		n    int
	}{
		{"sub-val", SubVal, 10000},
		{"test", Test, 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := tc.open()
			if err != nil {
				t.Fatal(err)
			}
			defer set.Close()
			if set.Len() != tc.n {
				t.Errorf("%d images, want %d", set.Len(), tc.n)
			}
			if c, h, w := set.Shape(); c != 1 || h != 32 || w != 32 {
				t.Errorf("shape %d×%d×%d, want 1×32×32", c, h, w)
			}
			idx := []int{0, set.Len() - 1}
			dst := make([]float32, len(idx)*32*32)
			labels := make([]int, len(idx))
			set.Batch(idx, dst, labels)
			for _, l := range labels {
				if l < 0 || l >= 10 {
					t.Errorf("label %d outside 0..9", l)
				}
			}
		})
	}
}

package profiler

import (
	"testing"

	"github.com/resnas/resnas/model"
)

func TestBatchBytesPerImage(t *testing.T) {
	a, _ := model.Preset("vit-resnas-tiny")
	in := model.ReferenceInput()
	cpu, gpu := BatchBytesPerImage(a, in, false), BatchBytesPerImage(a, in, true)
	// On the GPU only the host side counts: input, its raw bytes and the logits.
	if want := 4 * (2*3*224*224 + float64(a.Head.Classes)); gpu != want {
		t.Errorf("gpu: %g bytes per image, want %g", gpu, want)
	}
	// The CPU holds the activations too: at least the 16×16+1 tokens of the stem's width, 3 times.
	if min := gpu + 4*3*257*float64(a.Stem.Width); cpu < min {
		t.Errorf("cpu: %g bytes per image, want at least %g", cpu, min)
	}
	if err := CheckBatchMemory(1, a, in, false); err != nil {
		t.Errorf("one image does not fit: %v", err)
	}
	if avail, ok := AvailableMemory(); ok {
		err := CheckBatchMemory(int(float64(avail)/cpu)*4+4, a, in, false)
		me, isMem := err.(*MemoryError)
		if !isMem || me.MaxBatch <= 0 || me.MaxBatch > me.Batch {
			t.Errorf("a batch four times the memory: %v", err)
		}
	}
}

func TestParseMemAvailable(t *testing.T) {
	if b, ok := parseMemAvailable("MemTotal:  100 kB\nMemAvailable:    2048 kB\n"); !ok || b != 2048*1024 {
		t.Errorf("got %d, %v", b, ok)
	}
	if _, ok := parseMemAvailable("MemTotal: 100 kB\n"); ok {
		t.Error("no MemAvailable line, but ok")
	}
	if s := HumanBytes(3 << 30); s != "3.0 GiB" {
		t.Errorf("HumanBytes(3 GiB) = %q", s)
	}
}

package checkpoints

import (
	"encoding/binary"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/resnas/resnas/model"
)

// FuzzLoadBytes: any input gives a checkpoint or a one-line error naming the file, never a
// panic, and memory stays within a fixed multiple of the input whatever its headers claim.
// Run it with: go test ./checkpoints -run '^$' -fuzz FuzzLoadBytes -fuzztime 5m
func FuzzLoadBytes(f *testing.F) {
	for _, path := range []string{supernetFixture, subnetFixture} {
		b := readFile(f, path)
		f.Add(b)
		for _, cut := range []int{len(b) / 2, len(b) - 22, len(b) - 1} {
			f.Add(b[:cut])
		}
	}
	// Small files exercise the pickle and tensor paths far faster than the fixtures.
	le := binary.LittleEndian
	st := pkStorage{"FloatStorage", "0", 6}
	small := torchZip(f, pickle2(pkDict{
		{"model", pkODict{
			{"a", pkTensor{st: st, offset: 1, size: []int{2, 2}, stride: []int{1, 2}}},
			{"b", pkTensor{st: st, offset: 5, size: []int{}, stride: []int{}}},
			{"c", contiguous(pkStorage{"HalfStorage", "1", 2}, 2)},
		}},
		{"epoch", 3},
		{"args", pkNamespace{{"seed", 1}, {"search_space", "dev-small"}}},
	}), map[string][]byte{"0": f32bytes(le, ramp(6)...), "1": {0, 0x3c, 0, 0xc0}})
	f.Add(small)
	f.Add(torchZip(f, []byte("cos\nsystem\n(S'true'\ntR."), nil))
	w := model.Weights{"w": {Shape: []int{2, 1}, Data: []float32{1, -2}}, "s": {Shape: []int{}, Data: []float32{3}}}
	for _, f16 := range []bool{false, true} {
		path := filepath.Join(f.TempDir(), "w.safetensors")
		if err := Save(path, w, fullMeta(), SaveOptions{Float16: f16}); err != nil {
			f.Fatal(err)
		}
		f.Add(readFile(f, path))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ck, err := LoadBytes("fuzz", b, Options{})
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256*uint64(len(b))+8<<20 {
			t.Fatalf("allocated %d bytes for %d bytes of input", alloc, len(b))
		}
		if err != nil {
			if msg := err.Error(); strings.ContainsAny(msg, "\r\n") || !strings.HasPrefix(msg, "fuzz: ") {
				t.Fatalf("error is not one line naming the file: %q", msg)
			}
			return
		}
		if len(ck.Weights) == 0 {
			t.Fatal("loaded without tensors")
		}
		for key, tensor := range ck.Weights {
			if len(tensor.Data) != tensor.Numel() {
				t.Fatalf("%s: %d values for shape %v", key, len(tensor.Data), tensor.Shape)
			}
		}
	})
}

package checkpoints

import (
	"encoding/binary"
	"testing"

	"github.com/resnas/resnas/model"
)

func BenchmarkLoadSupernetFixture(b *testing.B) {
	file := readFile(b, supernetFixture)
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, err := LoadBytes("supernet.pth.tar", file, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadTorch16M reads one 4096×4096 float32 tensor, contiguous and transposed.
func BenchmarkLoadTorch16M(b *testing.B) {
	const n = 4096
	st := pkStorage{"FloatStorage", "0", n * n}
	raw := f32bytes(binary.LittleEndian, ramp(n*n)...)
	for _, tc := range []struct {
		name   string
		tensor pkTensor
	}{
		{"contiguous", contiguous(st, n, n)},
		{"transposed", pkTensor{st: st, size: []int{n, n}, stride: []int{1, n}}},
	} {
		file := torchZip(b, pickle2(pkODict{{"w", tc.tensor}}), map[string][]byte{"0": raw})
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := LoadBytes("big.pth", file, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSaveFloat16_4M(b *testing.B) {
	w := randomWeights(1)
	w["big"] = model.Tensor{Shape: []int{2048, 2048}, Data: ramp(2048 * 2048)}
	path := b.TempDir() + "/w.safetensors"
	for b.Loop() {
		if err := Save(path, w, Meta{}, SaveOptions{Float16: true}); err != nil {
			b.Fatal(err)
		}
	}
}

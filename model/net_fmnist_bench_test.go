package model

import (
	"context"
	"fmt"
	"testing"
)

// fmnistMax is the fmnist space's largest network (supernet/spaces.go), written out here
// because model cannot import supernet.
const fmnistMax = "((5, 40, 12), (1, (40, 3, 16), (40, 120), 1), (1, (40, 3, 16), (40, 120), 1), (1, (40, 3, 16), (40, 120), 1), (1, (40, 3, 16), (40, 120), 1), (3, 40, 80), (1, (80, 5, 16), (80, 240), 1), (1, (80, 5, 16), (80, 240), 1), (1, (80, 5, 16), (80, 240), 1), (1, (80, 5, 16), (80, 240), 1), (3, 80, 160), (1, (160, 4, 32), (160, 480), 1), (1, (160, 4, 32), (160, 480), 1), (1, (160, 4, 32), (160, 480), 1), (1, (160, 4, 32), (160, 480), 1), (2, 160, 10))"

// fmnistMin is the fmnist space's smallest network.
const fmnistMin = "((5, 16, 12), (1, (16, 1, 16), (16, 48), 1), (1, (16, 1, 16), (16, 48), 0), (1, (16, 1, 16), (16, 48), 1), (1, (16, 1, 16), (16, 48), 0), (3, 16, 40), (1, (40, 2, 16), (40, 96), 1), (1, (40, 2, 16), (40, 96), 0), (1, (40, 2, 16), (40, 96), 1), (1, (40, 2, 16), (40, 96), 0), (3, 40, 80), (1, (80, 2, 32), (80, 240), 1), (1, (80, 2, 32), (80, 240), 0), (1, (80, 2, 32), (80, 240), 1), (1, (80, 2, 32), (80, 240), 0), (2, 80, 10))"

// fmnistWideMax and fmnistWideMin are the fmnist-wide space's largest (21.8 MMACs) and
// smallest (0.42 MMACs) networks, the shipped default's space (supernet/spaces.go).
const (
	fmnistWideMax = "((5, 40, 12), (1, (40, 6, 8), (40, 120), 1), (1, (40, 6, 8), (40, 120), 1), (1, (40, 6, 8), (40, 120), 1), (1, (40, 6, 8), (40, 120), 1), (3, 40, 80), (1, (80, 5, 16), (80, 240), 1), (1, (80, 5, 16), (80, 240), 1), (1, (80, 5, 16), (80, 240), 1), (1, (80, 5, 16), (80, 240), 1), (3, 80, 192), (1, (192, 12, 16), (192, 576), 1), (1, (192, 12, 16), (192, 576), 1), (1, (192, 12, 16), (192, 576), 1), (1, (192, 12, 16), (192, 576), 1), (1, (192, 12, 16), (192, 576), 1), (2, 192, 10))"
	fmnistWideMin = "((5, 8, 2), (1, (8, 1, 8), (8, 16), 1), (1, (8, 1, 8), (8, 16), 0), (1, (8, 1, 8), (8, 16), 0), (1, (8, 1, 8), (8, 16), 0), (3, 8, 40), (1, (40, 1, 16), (40, 16), 1), (1, (40, 1, 16), (40, 16), 0), (1, (40, 1, 16), (40, 16), 0), (1, (40, 1, 16), (40, 16), 0), (3, 40, 80), (1, (80, 1, 16), (80, 32), 1), (1, (80, 1, 16), (80, 32), 0), (1, (80, 1, 16), (80, 32), 0), (1, (80, 1, 16), (80, 32), 0), (1, (80, 1, 16), (80, 32), 0), (2, 80, 10))"
)

// BenchmarkForwardFmnistWide runs the fmnist-wide space's largest network.
func BenchmarkForwardFmnistWide(b *testing.B) { benchForwardFmnist(b, fmnistWideMax) }

// BenchmarkForwardFmnistWideMin runs the fmnist-wide space's smallest network.
func BenchmarkForwardFmnistWideMin(b *testing.B) { benchForwardFmnist(b, fmnistWideMin) }

// BenchmarkForwardFmnist32 runs the shipped space's largest network on 32×32 grayscale.
func BenchmarkForwardFmnist32(b *testing.B) { benchForwardFmnist(b, fmnistMax) }

// BenchmarkForwardFmnist32Min runs the shipped space's smallest network.
func BenchmarkForwardFmnist32Min(b *testing.B) { benchForwardFmnist(b, fmnistMin) }

// BenchmarkForwardFmnistWideSplit runs batch 1 of fmnist-wide max with its blocks shared by a
// pair of goroutines (split.go, the default) and on one goroutine (NoSplitSmall).
func BenchmarkForwardFmnistWideSplit(b *testing.B) {
	a, err := ParseArch(fmnistWideMax)
	if err != nil {
		b.Fatal(err)
	}
	in := Input{Size: 32, Channels: 1, Patch: 4}
	w := randomWeights(a, in, 1)
	for name, be := range benchBackends(b) {
		for _, split := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/split=%v/batch1", name, split), func(b *testing.B) {
				n, err := NewNet(w, a, in, be, NetOptions{Threads: 2, NoSplitSmall: !split})
				if err != nil {
					b.Fatal(err)
				}
				x := make([]float32, 32*32)
				for i := range x {
					x[i] = float32(i%255)/128 - 1
				}
				out := make([]float32, 10)
				ctx := context.Background()
				n.Forward(ctx, x, 1, out)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					n.Forward(ctx, x, 1, out)
				}
			})
		}
	}
}

func benchForwardFmnist(b *testing.B, arch string) {
	a, err := ParseArch(arch)
	if err != nil {
		b.Fatal(err)
	}
	in := Input{Size: 32, Channels: 1, Patch: 4}
	w := randomWeights(a, in, 1)
	for _, batch := range []int{1, 64, 256} {
		for name, be := range benchBackends(b) {
			b.Run(name+"/batch"+itoa(batch), func(b *testing.B) {
				n, err := NewNet(w, a, in, be, NetOptions{})
				if err != nil {
					b.Fatal(err)
				}
				x := make([]float32, batch*32*32)
				for i := range x {
					x[i] = float32(i%255)/128 - 1
				}
				out := make([]float32, batch*10)
				ctx := context.Background()
				n.Forward(ctx, x, batch, out)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					n.Forward(ctx, x, batch, out)
				}
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}

package model

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/gemm/gonum"
	"github.com/resnas/resnas/internal/gemm/openblas"
)

// randomWeights fills every tensor of arch with small values; BN variances stay positive.
func randomWeights(a Arch, in Input, seed uint64) Weights {
	rng := rand.New(rand.NewPCG(seed, 1))
	w := Weights{}
	for _, p := range ParamShapes(a, in) {
		t := Tensor{Shape: p.Shape}
		t.Data = make([]float32, t.Numel())
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64() * 0.02)
			if len(p.Key) > 11 && p.Key[len(p.Key)-11:] == "running_var" {
				t.Data[i] = 1 + float32(rng.Float64())
			}
		}
		w[p.Key] = t
	}
	return w
}

func benchBackends(b *testing.B) map[string]gemm.Backend {
	bes := map[string]gemm.Backend{"gonum": gonum.New()}
	if ob, err := openblas.Open(); err == nil {
		bes["openblas"] = ob
	}
	return bes
}

// BenchmarkForwardTiny224 runs ViT-ResNAS-Tiny at 224 px; images/s is the figure to read.
func BenchmarkForwardTiny224(b *testing.B) {
	a, _ := Preset("vit-resnas-tiny")
	in := ReferenceInput()
	w := randomWeights(a, in, 1)
	for _, batch := range []int{1, 8, 64} {
		for name, be := range benchBackends(b) {
			b.Run(name+"/batch"+itoa(batch), func(b *testing.B) {
				n, err := NewNet(w, a, in, be, NetOptions{})
				if err != nil {
					b.Fatal(err)
				}
				x := make([]float32, batch*3*224*224)
				for i := range x {
					x[i] = float32(i%255)/128 - 1
				}
				out := make([]float32, batch*1000)
				ctx := context.Background()
				if err := n.Forward(ctx, x, batch, out); err != nil {
					b.Fatal(err)
				}
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

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}

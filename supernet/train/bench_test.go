package train

import (
	"math/rand/v2"
	"testing"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/gemm/gonum"
	"github.com/resnas/resnas/internal/gemm/openblas"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// benchBackend is OpenBLAS when the library loads, else pure Go.
func benchBackend(b *testing.B) gemm.Backend {
	if be, err := openblas.Open(); err == nil {
		return be
	}
	b.Log("OpenBLAS not found: pure-Go GEMM")
	return gonum.New()
}

// BenchmarkTrainStepMax times one optimizer step (forward, backward, AdamW) of the largest
// fmnist sub-network on a batch of 128, in two groups of 64 as multi-architectural sampling
// runs them, and reports training images per second.
func BenchmarkTrainStepMax(b *testing.B) { benchTrainStep(b, true) }

// BenchmarkTrainStepSampled is the steady state after the channel warm-up: two sub-networks
// per batch drawn as training draws them, so the figure is the average training speed.
func BenchmarkTrainStepSampled(b *testing.B) { benchTrainStep(b, false) }

func benchTrainStep(b *testing.B, largest bool) {
	s, err := supernet.Lookup("fmnist")
	if err != nil {
		b.Fatal(err)
	}
	o := DefaultOptions()
	o.Space = *s
	o.Train = newSynthImages(128, 1, 32, 10, 1)
	o.BatchSize, o.ExamplesPerArch = 128, 64
	o.Gemm = benchBackend(b)
	tr, err := newTrainer(o)
	if err != nil {
		b.Fatal(err)
	}
	for i := range tr.idx {
		tr.idx[i] = i
	}
	rng := rand.New(rand.NewPCG(1, 2))
	archs := []model.Arch{s.Max(), s.Max()}
	step := func() {
		if !largest {
			archs = supernet.SampleArchs(rng, *s, 100, 4, 2)
		}
		tr.loadBatch(rng)
		tr.forwardBackward(rng, archs, 0.1)
		tr.step++
		tr.adam.step(tr.e, tr.p, 1e-3, tr.step)
	}
	step() // warm caches
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.ReportMetric(float64(b.N*o.BatchSize)/b.Elapsed().Seconds(), "images/s")
}

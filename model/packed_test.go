package model

import (
	"context"
	"math"
	"testing"

	"github.com/resnas/resnas/internal/vecmath"
)

// TestPackedWeightsMatchBackend runs networks with their weights packed for
// vecmath.GemmPacked and with every GEMM left to each backend (NoPackedWeights): the
// fmnist-wide space's largest and smallest, the older fmnist default, a sub-network with
// fewer heads than its supernet (the q, k and v rows are then packed from three views) and a
// linear stem, at batches whose chunks have more and fewer rows than the few-row kernel takes.
func TestPackedWeightsMatchBackend(t *testing.T) {
	if !vecmath.GemmPackedFast() {
		t.Skip("the packed kernels do not run on this machine or build")
	}
	in := Input{Size: 32, Channels: 1, Patch: 4}
	const subnet = "((5, 40, 12), (1, (40, 4, 8), (40, 64), 1), (1, (40, 6, 8), (40, 120), 0), (1, (40, 5, 8), (40, 96), 1), (1, (40, 6, 8), (40, 120), 1), (3, 40, 64), (1, (64, 4, 16), (64, 192), 1), (1, (64, 5, 16), (64, 240), 1), (1, (64, 5, 16), (64, 192), 0), (1, (64, 4, 16), (64, 240), 1), (3, 64, 192), (1, (192, 9, 16), (192, 320), 1), (1, (192, 12, 16), (192, 448), 1), (1, (192, 9, 16), (192, 576), 0), (1, (192, 10, 16), (192, 448), 1), (1, (192, 9, 16), (192, 576), 1), (2, 192, 10))"
	wide := mustArch(t, fmnistWideMax)
	wideWeights := randomWeights(wide, in, 5)
	linear := wide.Clone()
	linear.Stem = Stem{Type: TypeLinearStem, Width: wide.Stem.Width}
	cases := []struct {
		name string
		arch Arch
		w    Weights
	}{
		{"wide max", wide, wideWeights},
		{"wide min", mustArch(t, fmnistWideMin), wideWeights},
		{"fmnist max", mustArch(t, fmnistMax), randomWeights(mustArch(t, fmnistMax), in, 6)},
		{"fewer heads", mustArch(t, subnet), wideWeights},
		{"linear stem", linear, randomWeights(linear, in, 7)},
	}
	pix := in.Channels * in.Size * in.Size
	for _, c := range cases {
		for name, be := range benchBackends(nil) {
			packed, err := NewNet(c.w, c.arch, in, be, NetOptions{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			plain, err := NewNet(c.w, c.arch, in, be, NetOptions{Threads: 2, NoPackedWeights: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, batch := range []int{1, 3, 2*stemImages + 5, 70} {
				x := make([]float32, batch*pix)
				for i := range x {
					x[i] = float32(math.Sin(float64(i)*0.29)) * 1.7
				}
				got, want := make([]float32, batch*10), make([]float32, batch*10)
				if err := packed.Forward(context.Background(), x, batch, got); err != nil {
					t.Fatal(err)
				}
				if err := plain.Forward(context.Background(), x, batch, want); err != nil {
					t.Fatal(err)
				}
				if !packed.packed || plain.packed {
					t.Fatalf("%s: packed %v, NoPackedWeights packed %v", c.name, packed.packed, plain.packed)
				}
				worst := 0.0
				for i := range want {
					d := math.Abs(float64(got[i] - want[i]))
					worst = max(worst, d)
					if !(d <= 1e-5+1e-5*math.Abs(float64(want[i]))) {
						t.Fatalf("%s, %s, batch %d: logit %d = %v packed, %v without", c.name, name, batch, i, got[i], want[i])
					}
				}
				t.Logf("%s, %s, batch %d: max abs diff %.2g", c.name, name, batch, worst)
			}
		}
	}
}

func mustArch(t *testing.T, def string) Arch {
	t.Helper()
	a, err := ParseArch(def)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

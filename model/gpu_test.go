package model_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/checkpoints/shipped"
	"github.com/resnas/resnas/internal/gemm/cuda"
	"github.com/resnas/resnas/internal/gemm/cuda/cudafake"
	"github.com/resnas/resnas/internal/gemm/gonum"
	"github.com/resnas/resnas/internal/gpukernels"
	"github.com/resnas/resnas/model"
)

// The GPU forward pass runs here on the fake CUDA driver, which executes the very kernel
// source the PTX is compiled from (thread by thread, on the CPU) and a plain cuBLAS stand-in,
// so every launch, view, stride and workspace offset is checked against the CPU forward
// without a GPU. scripts/gpu-check.sh runs the same comparison on a real GPU.

var fakeGPU = sync.OnceValues(func() (*cuda.Device, error) {
	dir, err := os.MkdirTemp("", "resnas-fakegpu")
	if err != nil {
		return nil, err
	}
	libs, err := cudafake.Build(dir, gpukernels.Source)
	if err != nil {
		return nil, err
	}
	return cuda.OpenLibraries(libs.Driver, libs.BLAS)
})

func openFakeGPU(t *testing.T) *cuda.Device {
	t.Helper()
	dev, err := fakeGPU()
	if errors.Is(err, cudafake.ErrNoCompiler) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dev
}

func upload(t *testing.T, dev *cuda.Device, w model.Weights) *model.DeviceWeights {
	t.Helper()
	dw, err := model.UploadWeights(dev, w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dw.Close(); err != nil {
			t.Error(err)
		}
	})
	return dw
}

func maxDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// TestGPUReferenceLogits runs the reference fixtures (conv stem, sub-networks sliced per qkv
// section) on the GPU path: the golden logits within 1e-4, as on the CPU.
func TestGPUReferenceLogits(t *testing.T) {
	dev := openFakeGPU(t)
	g, x := readGolden(t)
	super := load(t, "supernet.pth.tar")
	dw := upload(t, dev, super)
	for _, c := range g.Cases {
		a, err := model.ParseArch(c.NetworkDef)
		if err != nil {
			t.Fatal(err)
		}
		n, err := model.NewNet(super, a, devInput, nil, model.NetOptions{Device: dw})
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if !n.OnGPU() {
			t.Fatal("Net with DeviceWeights does not run on the GPU")
		}
		out := make([]float32, g.Batch*n.Classes())
		for i := range out {
			out[i] = float32(math.NaN())
		}
		if err := n.Forward(context.Background(), x, g.Batch, out); err != nil {
			t.Fatal(err)
		}
		d := maxAbsDiff(out, c.Logits)
		t.Logf("%s: max abs diff to the reference %.3g", c.Name, d)
		if !(d <= 1e-4) {
			t.Errorf("%s: max abs diff %.3g > 1e-4", c.Name, d)
		}
	}
}

// TestGPUMatchesCPUOnDefault runs the shipped default (conv stem with mid width, 32 px) for random
// sub-networks, in one chunk and in chunks of a few images, against the CPU forward.
func TestGPUMatchesCPUOnDefault(t *testing.T) {
	ck, in, maxArch, dw := defaultOnFakeGPU(t)
	rng := rand.New(rand.NewPCG(1, 2))
	const batch = 7
	x := make([]float32, batch*in.Channels*in.Size*in.Size)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	archs := []model.Arch{maxArch, shrink(maxArch, rng), shrink(maxArch, rng)}
	for ai, a := range archs {
		cpu, err := model.NewNet(ck.Weights, a, in, gonum.New(), model.NetOptions{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, batch*cpu.Classes())
		if err := cpu.Forward(context.Background(), x, batch, want); err != nil {
			t.Fatal(err)
		}
		gpu, err := model.NewNet(ck.Weights, a, in, nil, model.NetOptions{Device: dw})
		if err != nil {
			t.Fatal(err)
		}
		for _, budget := range []int{1 << 30, 1} { // one chunk; one image per chunk
			dw.SetWorkspaceBudget(budget)
			got := make([]float32, len(want))
			if err := gpu.Forward(context.Background(), x, batch, got); err != nil {
				t.Fatal(err)
			}
			d := maxDiff(got, want)
			t.Logf("arch %d, budget %d: max abs diff to the CPU %.3g", ai, budget, d)
			if !(d <= 1e-4) {
				t.Errorf("arch %d (%s), budget %d: max abs diff %.3g > 1e-4", ai, a, budget, d)
			}
		}
	}
}

// defaultOnFakeGPU uploads the shipped default to the fake GPU.
func defaultOnFakeGPU(t *testing.T) (*checkpoints.Checkpoint, model.Input, model.Arch, *model.DeviceWeights) {
	t.Helper()
	dev := openFakeGPU(t)
	ck, err := shipped.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	maxArch, err := model.ParseArch(ck.Meta.Arch)
	if err != nil {
		t.Fatal(err)
	}
	return ck, ck.Meta.Input, maxArch, upload(t, dev, ck.Weights)
}

// shrink returns a random smaller sub-network of a: fewer heads, narrower MLPs, and skipped
// blocks, which exercises the per-section qkv views and strided weights.
func shrink(a model.Arch, rng *rand.Rand) model.Arch {
	a = a.Clone()
	for i := range a.Layers {
		l := &a.Layers[i]
		if l.Type != model.TypeBlock {
			continue
		}
		l.Heads = 1 + rng.IntN(l.Heads)
		l.MLP = max(1, l.MLP-rng.IntN(l.MLP/2+1))
		if i > 0 && rng.IntN(4) == 0 {
			l.Exists = false
		}
	}
	return a
}

// TestGPUNetNeedsUploadedWeights: a Net over weights that were not uploaded is refused with a
// message naming the tensor, not run on stale device memory.
func TestGPUNetNeedsUploadedWeights(t *testing.T) {
	dev := openFakeGPU(t)
	g, _ := readGolden(t)
	super := load(t, "supernet.pth.tar")
	other := load(t, "supernet.pth.tar") // same values, other host memory
	dw := upload(t, dev, super)
	a, err := model.ParseArch(g.Cases[0].NetworkDef)
	if err != nil {
		t.Fatal(err)
	}
	_, err = model.NewNet(other, a, devInput, nil, model.NetOptions{Device: dw})
	if err == nil || !strings.Contains(err.Error(), "not among the weights uploaded") {
		t.Fatalf("NewNet on other weights: %v", err)
	}
}

// TestGPUMatchesCPURandomWeights runs networks with random weights at the sizes a GPU user
// runs: ViT-ResNAS-Tiny at 224 px (conv stem at 112², 257 tokens in stage 1, up to 10 heads),
// one image per chunk, and a linear-stem network (which no shipped checkpoint has).
func TestGPUMatchesCPURandomWeights(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Tiny at 224 px on the CPU stand-in (a few seconds)")
	}
	dev := openFakeGPU(t)
	tiny, _ := model.Preset("vit-resnas-tiny")
	linear := tiny.Clone()
	linear.Stem = model.Stem{Type: model.TypeLinearStem, Width: tiny.Stem.Width}
	for _, c := range []struct {
		name   string
		arch   model.Arch
		in     model.Input
		budget int
	}{
		{"tiny-224", tiny, model.ReferenceInput(), 1},
		{"linear-stem-64", linear, model.Input{Size: 64, Channels: 3, Patch: 8}, 1 << 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			w := randomWeights(c.arch, c.in, rng)
			const batch = 2
			x := make([]float32, batch*c.in.Channels*c.in.Size*c.in.Size)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			cpu, err := model.NewNet(w, c.arch, c.in, gonum.New(), model.NetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, batch*cpu.Classes())
			if err := cpu.Forward(context.Background(), x, batch, want); err != nil {
				t.Fatal(err)
			}
			dw := upload(t, dev, w)
			dw.SetWorkspaceBudget(c.budget)
			gpu, err := model.NewNet(w, c.arch, c.in, nil, model.NetOptions{Device: dw})
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, len(want))
			if err := gpu.Forward(context.Background(), x, batch, got); err != nil {
				t.Fatal(err)
			}
			d := maxDiff(got, want)
			t.Logf("max abs diff to the CPU %.3g (logits up to %.3g)", d, maxDiff(want, make([]float32, len(want))))
			if !(d <= 1e-4) {
				t.Errorf("max abs diff %.3g > 1e-4", d)
			}
		})
	}
}

// randomWeights gives every parameter of a small random values (BatchNorm variances near 1).
func randomWeights(a model.Arch, in model.Input, rng *rand.Rand) model.Weights {
	w := model.Weights{}
	for _, p := range model.ParamShapes(a, in) {
		t := model.Tensor{Shape: p.Shape}
		t.Data = make([]float32, t.Numel())
		for i := range t.Data {
			if strings.HasSuffix(p.Key, "running_var") {
				t.Data[i] = 1 + float32(rng.Float64())
			} else {
				t.Data[i] = float32(0.05 * rng.NormFloat64())
			}
		}
		w[p.Key] = t
	}
	return w
}

// TestGPUWorkspaceStaysInBudget: sub-networks of different shapes, one after another, share a
// workspace that never passes the budget (each chunk alone fits it).
func TestGPUWorkspaceStaysInBudget(t *testing.T) {
	ck, in, maxArch, dw := defaultOnFakeGPU(t)
	const budget = 4 << 20
	dw.SetWorkspaceBudget(budget)
	rng := rand.New(rand.NewPCG(9, 9))
	const batch = 40
	x := make([]float32, batch*in.Channels*in.Size*in.Size)
	logits := make([]float32, batch*16)
	for i := 0; i < 6; i++ {
		a := maxArch
		if i%2 == 1 {
			a = shrink(maxArch, rng)
		}
		n, err := model.NewNet(ck.Weights, a, in, nil, model.NetOptions{Device: dw})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Forward(context.Background(), x, batch, logits); err != nil {
			t.Fatal(err)
		}
		if got := dw.WorkspaceBytes(); got > budget {
			t.Fatalf("after net %d the workspace holds %d bytes, budget %d", i, got, budget)
		}
	}
}

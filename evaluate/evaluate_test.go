package evaluate

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/resnas/resnas/data"
	"github.com/resnas/resnas/internal/gemm/gonum"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// writeIDX writes a raw IDX test split of n random 28×28 images with labels 0..9.
func writeIDX(t *testing.T, dir string, n int) {
	rng := rand.New(rand.NewPCG(7, 7))
	img := make([]byte, 16+n*28*28)
	binary.BigEndian.PutUint32(img[0:], 0x803)
	binary.BigEndian.PutUint32(img[4:], uint32(n))
	binary.BigEndian.PutUint32(img[8:], 28)
	binary.BigEndian.PutUint32(img[12:], 28)
	for i := 16; i < len(img); i++ {
		img[i] = byte(rng.IntN(256))
	}
	lab := make([]byte, 8+n)
	binary.BigEndian.PutUint32(lab[0:], 0x801)
	binary.BigEndian.PutUint32(lab[4:], uint32(n))
	for i := 0; i < n; i++ {
		lab[8+i] = byte(i % 10)
	}
	for _, split := range []string{"train", "t10k"} {
		if err := os.WriteFile(filepath.Join(dir, split+"-images-idx3-ubyte"), img, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, split+"-labels-idx1-ubyte"), lab, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fixture builds a 50-image 32×32 test set and random weights of the fmnist space's largest
// network.
func fixture(t *testing.T) (*data.Set, model.Weights, *supernet.Space) {
	t.Helper()
	src, out := t.TempDir(), filepath.Join(t.TempDir(), "test")
	writeIDX(t, src, 50)
	if _, err := data.Build(context.Background(), data.BuildOptions{From: src, Out: out, Split: "test"}, nil); err != nil {
		t.Fatal(err)
	}
	set, err := data.Open(out, data.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	sp, err := supernet.Lookup("fmnist")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	w := model.Weights{}
	for _, p := range model.ParamShapes(sp.Max(), sp.Input) {
		tn := model.Tensor{Shape: p.Shape}
		tn.Data = make([]float32, tn.Numel())
		for i := range tn.Data {
			tn.Data[i] = float32(rng.NormFloat64() * 0.3)
			if filepath.Ext(p.Key) == ".running_var" {
				tn.Data[i] = 0.5 + float32(rng.Float64())
			}
		}
		w[p.Key] = tn
	}
	return set, w, sp
}

// TestAccuracyMatchesDirectCount recounts top-1/top-5 from a plain forward of every image.
func TestAccuracyMatchesDirectCount(t *testing.T) {
	set, w, sp := fixture(t)
	be := gonum.New()
	ev, err := New(set, Options{Weights: w, Input: sp.Input, Backend: be, Batch: 7})
	if err != nil {
		t.Fatal(err)
	}
	a := sp.Min()
	r, err := ev.Evaluate(context.Background(), a, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	net, _ := model.NewNet(w, a, sp.Input, be, model.NetOptions{Threads: 1})
	x := make([]float32, 32*32)
	logits := make([]float32, 10)
	labels := make([]int, 1)
	var top1, top5 int
	for i := 0; i < set.Len(); i++ {
		set.Batch([]int{i}, x, labels)
		if err := net.Forward(context.Background(), x, 1, logits); err != nil {
			t.Fatal(err)
		}
		above := 0
		for _, l := range logits {
			if l > logits[labels[0]] {
				above++
			}
		}
		if above == 0 {
			top1++
		}
		if above < 5 {
			top5++
		}
		if r.Correct.Get(i) != (above == 0) {
			t.Errorf("image %d: per-image result %v, but the direct count says %v", i, r.Correct.Get(i), above == 0)
		}
	}
	if r.Correct.N != 50 || r.Correct.Count() != top1 {
		t.Errorf("per-image results: %d of %d set, want %d of 50", r.Correct.Count(), r.Correct.N, top1)
	}
	if r.Images != 50 || !r.Final || r.Top1 != float64(top1)/50 || r.Top5 != float64(top5)/50 {
		t.Fatalf("got %+v, want top1 %d/50 top5 %d/50", r, top1, top5)
	}
	lim, err := ev.Evaluate(context.Background(), a, 20, nil)
	if err != nil || lim.Images != 20 || lim.Final {
		t.Fatalf("limit 20: %+v %v", lim, err)
	}
	if c, ok := ev.Cached(a, 0); !ok || c.Top1 != r.Top1 || c.Images != r.Images || c.Correct.Encode() != r.Correct.Encode() {
		t.Fatal("full result not cached")
	}
}

func TestRejectsWrongImageSize(t *testing.T) {
	set, w, sp := fixture(t)
	in := sp.Input
	in.Size = 64
	if _, err := New(set, Options{Weights: w, Input: in, Backend: gonum.New()}); err == nil {
		t.Fatal("accepted 32-px shards for a 64-px network")
	}
}

// TestRecalibrateBN checks the recalibrated conv1 statistics against a direct computation
// and that recalibration is recorded in the result.
func TestRecalibrateBN(t *testing.T) {
	set, w, sp := fixture(t)
	ev, err := New(set, Options{Weights: w, Input: sp.Input, Backend: gonum.New(), RecalibrateBN: 30})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ev.Evaluate(context.Background(), sp.Max(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.BN != "recalibrated:30" {
		t.Fatalf("BN mode %q", r.BN)
	}
	rw := ev.weights[30]
	// Direct mean of conv1's output channel 0 over the 30 images (3×3, stride 2, pad 1).
	k := w["patch_embed.conv1.conv.weight"]
	x := make([]float32, 32*32)
	var sum float64
	for i := 0; i < 30; i++ {
		set.Batch([]int{i}, x, nil)
		for oy := 0; oy < 16; oy++ {
			for ox := 0; ox < 16; ox++ {
				var v float64
				for ky := 0; ky < 3; ky++ {
					for kx := 0; kx < 3; kx++ {
						iy, ix := oy*2-1+ky, ox*2-1+kx
						if iy >= 0 && iy < 32 && ix >= 0 && ix < 32 {
							v += float64(k.Data[ky*3+kx]) * float64(x[iy*32+ix])
						}
					}
				}
				sum += v
			}
		}
	}
	want := sum / (30 * 256)
	got := float64(rw["patch_embed.conv1.bn.running_mean"].Data[0])
	if math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
		t.Fatalf("recalibrated running_mean[0] = %g, want %g", got, want)
	}
	if &rw["tokens"].Data[0] != &w["tokens"].Data[0] {
		t.Fatal("recalibration copied tensors it does not change")
	}
}

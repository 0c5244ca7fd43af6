package model_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/gemm/gonum"
	"github.com/resnas/resnas/internal/gemm/openblas"
	"github.com/resnas/resnas/model"
)

const fixtures = "../testdata/reference-dev/"

// devInput is the geometry of the reference-dev fixtures (spec.json): 112 px RGB, patch 14.
var devInput = model.Input{Size: 112, Channels: 3, Patch: 14}

type golden struct {
	Batch int `json:"batch"`
	Cases []struct {
		Name       string      `json:"name"`
		NetworkDef string      `json:"network_def"`
		Logits     [][]float64 `json:"logits"`
	} `json:"cases"`
}

func readGolden(t testing.TB) (golden, []float32) {
	t.Helper()
	var g golden
	b, err := os.ReadFile(fixtures + "golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(fixtures + "input.f32")
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, len(raw)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[i*4:]))
	}
	return g, x
}

func backends(t testing.TB) map[string]gemm.Backend {
	bes := map[string]gemm.Backend{"gonum": gonum.New()}
	if ob, err := openblas.Open(); err == nil {
		bes["openblas"] = ob
	} else {
		t.Logf("OpenBLAS not tested: %v", err)
	}
	return bes
}

func load(t testing.TB, name string) model.Weights {
	t.Helper()
	ck, err := checkpoints.Load(fixtures+name, checkpoints.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ck.Weights
}

// maxAbsDiff reports the largest |got-want| over a batch of logits.
func maxAbsDiff(got []float32, want [][]float64) float64 {
	var d float64
	classes := len(want[0])
	for i, row := range want {
		for j, v := range row {
			d = math.Max(d, math.Abs(float64(got[i*classes+j])-v))
		}
	}
	return d
}

// TestReferenceLogits runs every golden case on the supernet checkpoint (sub-networks as
// views of its weights) and subnet0 on its own sliced checkpoint, on every backend.
func TestReferenceLogits(t *testing.T) {
	g, x := readGolden(t)
	super := load(t, "supernet.pth.tar")
	sub0 := load(t, "subnet0.pth.tar")
	for bname, be := range backends(t) {
		for ci, c := range g.Cases {
			a, err := model.ParseArch(c.NetworkDef)
			if err != nil {
				t.Fatal(err)
			}
			weights := map[string]model.Weights{"supernet.pth.tar": super}
			if ci == 1 {
				weights["subnet0.pth.tar"] = sub0
			}
			for wname, w := range weights {
				for _, threads := range []int{1, 3} {
					n, err := model.NewNet(w, a, devInput, be, model.NetOptions{Threads: threads})
					if err != nil {
						t.Fatalf("%s/%s: %v", c.Name, wname, err)
					}
					out := make([]float32, g.Batch*n.Classes())
					if err := n.Forward(context.Background(), x, g.Batch, out); err != nil {
						t.Fatal(err)
					}
					d := maxAbsDiff(out, c.Logits)
					t.Logf("%s %s on %s, %d threads: max abs diff %.3g", bname, c.Name, wname, threads, d)
					if d > 1e-4 {
						t.Errorf("%s %s on %s: max abs diff %.3g > 1e-4", bname, c.Name, wname, d)
					}
				}
			}
		}
	}
}

// TestForwardReusesWorkspace checks that a second forward gives identical logits (buffers are
// reused, so stale values would show) and that a smaller batch after a larger one is right.
func TestForwardReusesWorkspace(t *testing.T) {
	g, x := readGolden(t)
	w := load(t, "supernet.pth.tar")
	a, _ := model.ParseArch(g.Cases[2].NetworkDef)
	n, err := model.NewNet(w, a, devInput, gonum.New(), model.NetOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 4*10)
	for rep := 0; rep < 2; rep++ {
		if err := n.Forward(context.Background(), x, 4, out); err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(out, g.Cases[2].Logits); d > 1e-4 {
			t.Fatalf("repeat %d: max abs diff %.3g", rep, d)
		}
	}
	one := make([]float32, 10)
	pix := 3 * 112 * 112
	if err := n.Forward(context.Background(), x[3*pix:], 1, one); err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(one, g.Cases[2].Logits[3:]); d > 1e-4 {
		t.Fatalf("single image: max abs diff %.3g", d)
	}
}

func TestNewNetRejectsOversizedArch(t *testing.T) {
	g, _ := readGolden(t)
	w := load(t, "supernet.pth.tar")
	a, _ := model.ParseArch(g.Cases[0].NetworkDef)
	a.Layers[0].Heads++ // one more head than the supernet has
	_, err := model.NewNet(w, a, devInput, gonum.New(), model.NetOptions{})
	if err == nil {
		t.Fatal("NewNet accepted more heads than the supernet holds")
	}
	t.Log(err)
	in := devInput
	in.Size = 224
	if _, err := model.NewNet(w, a, in, gonum.New(), model.NetOptions{}); err == nil {
		t.Fatal("NewNet accepted an image size the position embedding does not fit")
	}
}

func TestForwardChecksBuffers(t *testing.T) {
	g, x := readGolden(t)
	w := load(t, "supernet.pth.tar")
	a, _ := model.ParseArch(g.Cases[0].NetworkDef)
	n, err := model.NewNet(w, a, devInput, gonum.New(), model.NetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Forward(context.Background(), x[:100], 4, make([]float32, 40)); err == nil {
		t.Fatal("short input accepted")
	}
	if err := n.Forward(context.Background(), x, 4, make([]float32, 39)); err == nil {
		t.Fatal("short logits accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.Forward(ctx, x, 4, make([]float32, 40)); err == nil {
		t.Fatal("cancelled forward returned no error")
	}
}

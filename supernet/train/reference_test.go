package train

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/internal/gemm/gonum"
	"github.com/resnas/resnas/internal/nn"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// TestTrainForwardReference runs the training forward (BatchNorm in eval mode, no drop-path)
// on the PyTorch reference's dev supernet checkpoint and compares the logits with the
// reference's own (testdata/reference-dev/golden.json, written by the reference code), for the
// supernet and its sub-networks: training computes the same network as the reference.
func TestTrainForwardReference(t *testing.T) {
	const dir = "../../testdata/reference-dev/"
	var g struct {
		Batch int
		Cases []struct {
			Name       string
			NetworkDef string `json:"network_def"`
			Logits     [][]float64
		}
	}
	b, err := os.ReadFile(dir + "golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(dir + "input.f32")
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoints.Load(dir+"supernet.pth.tar", checkpoints.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := supernet.Lookup("dev-small")
	if err != nil {
		t.Fatal(err)
	}
	p, err := newSupernetParams(*s, s.Input, 0, rand.New(rand.NewPCG(1, 1)))
	if err == nil {
		err = p.setWeights(ck.Weights)
	}
	if err != nil {
		t.Fatal(err)
	}
	e := &nn.Exec{Gemm: gonum.New(), Workers: 2}
	n := g.Batch
	net := newTrainNet(e, p, n, n)
	net.bnEval = true
	// NCHW float32 → the network's channels-last input.
	in := s.Input
	px := in.Size * in.Size
	for img := 0; img < n; img++ {
		for c := 0; c < in.Channels; c++ {
			for q := 0; q < px; q++ {
				v := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*((img*in.Channels+c)*px+q):]))
				net.img[(img*px+q)*in.Channels+c] = v
			}
		}
	}
	for _, c := range g.Cases {
		a, err := model.ParseArch(c.NetworkDef)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		net.stemForward([]model.Arch{a})
		net.run([]model.Arch{a}, make([]int, n), 0, false, 0)
		var maxDiff float64
		k := a.Head.Classes
		for img, row := range c.Logits {
			for j, want := range row {
				maxDiff = max(maxDiff, math.Abs(float64(net.logits[img*k+j])-want))
			}
		}
		if maxDiff > 1e-4 {
			t.Errorf("%s: logits differ from the reference by up to %.3g", c.Name, maxDiff)
		} else {
			t.Logf("%s: max |Δlogit| vs PyTorch %.2g", c.Name, maxDiff)
		}
	}
}

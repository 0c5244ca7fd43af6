package train

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// TestTrainForwardMatchesInference checks that the training forward with BatchNorm in eval
// mode and no drop-path computes, for sampled sub-networks, the logits of the inference
// forward (model.Net) on the same supernet tensors — the two share no kernel code.
func TestTrainForwardMatchesInference(t *testing.T) {
	for _, c := range stemMidCases {
		t.Run(c.name, func(t *testing.T) { trainForwardMatchesInference(t, c.mids) })
	}
}

// stemMidCases run a test on the tiny space with its stem width fixed and searchable (each
// width then has its own BatchNorm statistics, and narrower stems are masked slices).
var stemMidCases = []struct {
	name string
	mids []int
}{{"fixed-stem", nil}, {"searchable-stem", []int{4, 3, 2}}}

func trainForwardMatchesInference(t *testing.T, mids []int) {
	o := tinyOptions(newSynthImages(32, 1, 16, 5, 1))
	o.Space.StemMids = mids
	tr, err := newTrainer(o)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	// A few steps so BN running statistics and weights move away from their init.
	for i := range tr.idx {
		tr.idx[i] = i
	}
	for s := 0; s < 3; s++ {
		tr.trainStep(rng, 5, 1e-3)
	}
	tr.net.bnEval = true
	archs := supernet.SampleArchs(rng, o.Space, 5, 1, 2)
	archs = append(archs, o.Space.Max(), o.Space.Min())
	tr.loadBatch(rng)
	in := o.Space.Input
	img := in.Channels * in.Size * in.Size
	nchw := make([]float32, o.ExamplesPerArch*img)
	for i := 0; i < o.ExamplesPerArch; i++ { // the network input, back to NCHW (1 channel)
		copy(nchw[i*img:(i+1)*img], tr.net.img[i*img:(i+1)*img])
	}
	tr.net.noDropPath()
	for _, a := range archs {
		tr.net.stemForward([]model.Arch{a})
		tr.net.run([]model.Arch{a}, tr.labels, 0, false, 0)
		net, err := model.NewNet(tr.p.weights(), a, in, tr.opts.Gemm, model.NetOptions{Threads: 2})
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		want := make([]float32, o.ExamplesPerArch*o.Space.Classes)
		if err := net.Forward(context.Background(), nchw, o.ExamplesPerArch, want); err != nil {
			t.Fatal(err)
		}
		var maxDiff float64
		for i, w := range want {
			maxDiff = max(maxDiff, math.Abs(float64(w-tr.net.logits[i])))
		}
		if maxDiff > 1e-4 {
			t.Errorf("%s: training forward differs from inference by %.3g", a, maxDiff)
		} else {
			t.Logf("%s: max |Δlogit| %.2g", a, maxDiff)
		}
	}
}

// TestTrainGradients checks the gradient of the batch loss (two sub-networks, BN in train
// mode) against central differences for parameters of every kind, each inside the sub-block
// its sub-network uses; tolerance in float32: |num − ana| ≤ 1e-2·max|grad| + 1e-5 over the
// checked entries (the loss passes through ~20 float32 layers, so finite differences are
// noisier than in the per-layer tests of internal/nn, which hold 1e-3 relative).
func TestTrainGradients(t *testing.T) {
	for _, c := range stemMidCases {
		t.Run(c.name, func(t *testing.T) { trainGradients(t, c.mids) })
	}
}

func trainGradients(t *testing.T, mids []int) {
	o := tinyOptions(newSynthImages(32, 1, 16, 5, 2))
	o.Space.StemMids = mids
	o.DropPath = 0
	tr, err := newTrainer(o)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range tr.idx {
		tr.idx[i] = i
	}
	// Make biases and LN parameters non-trivial so every path carries gradient.
	for _, p := range tr.p.trainable {
		for i := range p.w {
			p.w[i] += float32(0.05 * rng.NormFloat64())
		}
	}
	// Shift the stem's BatchNorm outputs positive so few ReLUs sit near their kink, where
	// central differences are wrong by O(1) for the pixels that cross it.
	for i := range tr.p.bn {
		for j := range tr.p.bn[i].b.w {
			tr.p.bn[i].b.w[j] = 3
		}
	}
	tr.loadBatch(rng)
	archs := supernet.SampleArchs(rng, o.Space, 5, 1, 2)
	const smoothing = 0.1
	loss := func() float64 {
		tr.net.stemForward(archs)
		return tr.net.run(archs, tr.labels, smoothing, false, 0) / float64(o.BatchSize)
	}
	tr.forwardBackward(rng, archs, smoothing)
	a0 := archs[0]
	checks := []struct {
		key string
		idx []int // flat indices to probe
	}{
		{"tokens", []int{0, 3}},
		{"pos_embed", []int{1, 8*3 + 2}},
		{"patch_embed.conv1.conv.weight", []int{0, 5, 20}},
		{"patch_embed.conv2.bn.weight", []int{1, 3}},
		{"patch_embed.conv3.bn.bias", []int{0, 2}},
		{"patch_embed.conv_proj.weight", []int{0, 17}},
		{"blocks.0.attn.qkv.weight", []int{0, 8*8 + 1, 16*8 + 2}}, // q, k, v rows of head 0 (section 8 rows)
		{"blocks.0.attn.qkv.bias", []int{0, 8, 16}},
		{"blocks.0.attn.proj.weight", []int{0, 8 + 1}},
		{"blocks.0.norm1.weight", []int{0, 1}},
		{"blocks.0.mlp.fc1.weight", []int{0, 8 + 2}},
		{"blocks.0.mlp.fc2.bias", []int{0, 1}},
		{"blocks.2.patch_reduce.weight", []int{0, 8*9 + 4}},
		{"blocks.2.token_transform.weight", []int{0, 8 + 1}},
		{"blocks.2.pos_embed", []int{0, 12 + 3}},
		{"blocks.2.norm.bias", []int{0, 1}},
		{"blocks.4.attn.qkv.weight", []int{0, 12*12 + 5}},
		{"blocks.6.mlp.fc2.weight", []int{0, 20 + 3}},
		{"norm.weight", []int{0, 2}},
		{"cls_head.weight", []int{0, 16 + 1}},
		{"cls_head.bias", []int{0, 4}},
	}
	_ = a0
	for _, c := range checks {
		p := tr.p.byKey[c.key]
		if p == nil {
			t.Fatalf("no parameter %s", c.key)
		}
		var maxDiff, maxAbs float64
		for _, i := range c.idx {
			const h = 1e-2
			old := p.w[i]
			p.w[i] = old + h
			lp := loss()
			p.w[i] = old - h
			lm := loss()
			p.w[i] = old
			num := (lp - lm) / (2 * h)
			maxDiff = max(maxDiff, math.Abs(num-float64(p.g[i])))
			maxAbs = max(maxAbs, math.Abs(num), math.Abs(float64(p.g[i])))
		}
		if maxAbs == 0 {
			t.Errorf("%s: zero gradient at %v", c.key, c.idx)
			continue
		}
		// The float32 loss (≈1.6) rounds at ~1e-7, so differences at step 1e-2 carry ~1e-5 of
		// noise: that is the absolute floor.
		if rel := maxDiff / maxAbs; maxDiff > 1e-2*maxAbs+1e-5 {
			t.Errorf("%s: |num − ana| = %.3g of %.3g (relative %.3g)", c.key, maxDiff, maxAbs, rel)
		} else {
			t.Logf("%s: relative error %.2g", c.key, rel)
		}
	}
}

// TestEvaluateMatchesInference checks the trainer's validation pass (training forward in eval
// mode, padded last batch) against top-1 computed with the inference network.
func TestEvaluateMatchesInference(t *testing.T) {
	o := tinyOptions(newSynthImages(32, 1, 16, 5, 1))
	val := newSynthImages(37, 1, 16, 5, 2) // not a multiple of the batch
	o.Val = val
	tr, err := newTrainer(o)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range tr.idx {
		tr.idx[i] = i
	}
	for s := 0; s < 5; s++ {
		tr.trainStep(rng, 5, 3e-3)
	}
	for _, a := range []model.Arch{o.Space.Max(), o.Space.Min()} {
		got, err := tr.evaluate(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		net, err := model.NewNet(tr.p.weights(), a, o.Space.Input, tr.opts.Gemm, model.NetOptions{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		k := o.Space.Classes
		logits := make([]float32, val.Len()*k)
		if err := net.Forward(context.Background(), val.pix, val.Len(), logits); err != nil {
			t.Fatal(err)
		}
		correct := 0
		for i := 0; i < val.Len(); i++ {
			best := 0
			for j := 1; j < k; j++ {
				if logits[i*k+j] > logits[i*k+best] {
					best = j
				}
			}
			if best == val.labels[i] {
				correct++
			}
		}
		if want := 100 * float64(correct) / float64(val.Len()); got != want {
			t.Errorf("%s: evaluate %.2f%%, inference network %.2f%%", a, got, want)
		}
	}
}

// TestGradientsAcrossWorkers computes one step's gradients with 1, 2 and 3 workers: the
// lanes split each group's images differently (3 workers on groups of 2 images leave a lane
// empty), and the stem's convolutions split the batch, yet every split must give the same
// gradients up to float32 summation order.
func TestGradientsAcrossWorkers(t *testing.T) {
	var ref []float32
	for _, workers := range []int{1, 2, 3} {
		o := tinyOptions(newSynthImages(16, 1, 16, 5, 4))
		o.BatchSize, o.ExamplesPerArch, o.Workers = 8, 2, workers
		tr, err := newTrainer(o)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(5, 5))
		for i := range tr.idx {
			tr.idx[i] = i
		}
		tr.loadBatch(rng)
		archs := supernet.SampleArchs(rng, o.Space, 5, 1, o.BatchSize/o.ExamplesPerArch)
		tr.forwardBackward(rng, archs, 0.1)
		if ref == nil {
			ref = append([]float32(nil), tr.p.grad...)
			continue
		}
		var maxDiff, maxAbs float64
		for i, v := range tr.p.grad {
			maxDiff = max(maxDiff, math.Abs(float64(v-ref[i])))
			maxAbs = max(maxAbs, math.Abs(float64(ref[i])))
		}
		if maxDiff > 1e-5*max(maxAbs, 1) {
			t.Errorf("%d workers: gradients differ from 1 worker's by up to %.3g (max |grad| %.3g)", workers, maxDiff, maxAbs)
		} else {
			t.Logf("%d workers: max |Δgrad| %.2g of %.2g", workers, maxDiff, maxAbs)
		}
	}
}

package supernet

import (
	"math/rand/v2"

	"github.com/resnas/resnas/model"
)

// WarmupChoices is how many of a dimension's n choices (the largest first) are in play at
// epoch (0-based) under the reference's channel warm-up over warmup epochs
// (channel_drop.py set_mask): L = min(1 + ⌊epoch·(n−1)/warmup⌋, n); all n when warmup is 0.
func WarmupChoices(epoch, n, warmup int) int {
	if warmup <= 0 {
		return n
	}
	return max(1, min(1+epoch*(n-1)/warmup, n))
}

// drawStratified draws k values the way one ChannelDrop does per forward pass: a pool cycling
// through the l largest choices, ⌈k/l⌉ times, randomly permuted, first k taken. So the k
// sub-networks of a batch get distinct choices while k ≤ l, and each choice appears equally
// often otherwise. choices are in descending order; out has length k.
func drawStratified(rng *rand.Rand, choices []int, l int, out []int) {
	k := len(out)
	cycles := (k + l - 1) / l
	n := l * cycles
	// A partial Fisher–Yates over the pool picks k positions of a uniform permutation.
	pool := make([]int, n)
	for i := range pool {
		pool[i] = choices[i%l]
	}
	for i := 0; i < k; i++ {
		j := i + rng.IntN(n-i)
		pool[i], pool[j] = pool[j], pool[i]
		out[i] = pool[i]
	}
}

// skipChoices stands for the reference's layer choices [C, C, 0, 0]: 1 keeps the block, 0
// skips it, so a skippable block is skipped with probability ½ once all four are in play
// (⅓ while three are).
var skipChoices = [...]int{1, 1, 0, 0}

// SampleArchs draws the k sub-networks of one training batch at epoch (multi-architectural
// sampling, reference.md §6.1): every searchable dimension — stage-1 width, each reduction's
// output width, each block's heads, MLP size and existence — is drawn independently with
// drawStratified from its warm-up-limited pool. A skippable block directly after a skipped
// skippable block is skipped too, as the reference ANDs consecutive layer masks.
func SampleArchs(rng *rand.Rand, s Space, epoch, warmup, k int) []model.Arch {
	archs := make([]model.Arch, k)
	draw := make([]int, k)
	dim := func(choices []int) []int {
		out := make([]int, k)
		drawStratified(rng, choices, WarmupChoices(epoch, len(choices), warmup), out)
		return out
	}
	widths := dim(s.Widths)
	mids := make([]int, k)
	if c := s.StemMidChoices(); len(c) > 1 {
		mids = dim(c)
	} else { // a fixed stem width draws nothing, as before stems were searchable
		for a := range mids {
			mids[a] = s.stemMid()
		}
	}
	for a := range archs {
		archs[a].Stem = model.Stem{Type: s.StemType, Width: widths[a], Mid: mids[a]}
		archs[a].Layers = make([]model.Layer, len(s.Layers))
	}
	for i, lc := range s.Layers {
		switch lc.Type {
		case model.TypeBlock:
			heads, mlp := dim(lc.Heads), dim(lc.MLP)
			for a := range archs {
				archs[a].Layers[i] = model.Layer{Type: model.TypeBlock, Heads: heads[a], HeadDim: lc.HeadDim, MLP: mlp[a], Exists: true}
			}
			if lc.Skippable {
				drawStratified(rng, skipChoices[:], WarmupChoices(epoch, len(skipChoices), warmup), draw)
				for a := range archs {
					archs[a].Layers[i].Exists = draw[a] == 1
				}
			}
		case model.TypeReduction:
			out := dim(lc.Widths)
			for a := range archs {
				archs[a].Layers[i] = model.Layer{Type: model.TypeReduction, Out: out[a]}
			}
		}
	}
	for a := range archs {
		fillWidths(&archs[a], s)
	}
	return archs
}

// fillWidths propagates each stage's width into its blocks, the reductions' inputs and the
// head, applies the consecutive-skip rule, gives skipped blocks the space's canonical
// placeholder fields, and sets the head.
func fillWidths(a *model.Arch, s Space) {
	c := a.Stem.Width
	prevSkipped := false
	for i := range a.Layers {
		l := &a.Layers[i]
		switch l.Type {
		case model.TypeBlock:
			l.Dim = c
			if s.Layers[i].Skippable && i > 0 && s.Layers[i-1].Skippable && prevSkipped {
				l.Exists = false
			}
			prevSkipped = !l.Exists
			if !l.Exists {
				*l = placeholder(s.Layers[i], c)
			}
		case model.TypeReduction:
			l.In = c
			c = l.Out
			prevSkipped = false
		}
	}
	a.Head = model.Head{Dim: c, Classes: s.Classes}
}

// WarmupExtreme is the largest (largest true) or the smallest sub-network among the choices
// in play at epoch under the channel warm-up: each dimension's first, or its L-th largest
// choice; skippable blocks are skipped in the smallest once skipping is in play (L ≥ 3 of
// [C, C, 0, 0]).
func WarmupExtreme(s Space, epoch, warmup int, largest bool) model.Arch {
	pick := func(c []int) int {
		if largest {
			return c[0]
		}
		return c[WarmupChoices(epoch, len(c), warmup)-1]
	}
	a := model.Arch{Stem: model.Stem{Type: s.StemType, Width: pick(s.Widths), Mid: s.stemMid()}, Layers: make([]model.Layer, len(s.Layers))}
	if len(s.StemMids) > 0 {
		a.Stem.Mid = pick(s.StemMids)
	}
	for i, lc := range s.Layers {
		switch lc.Type {
		case model.TypeBlock:
			a.Layers[i] = model.Layer{Type: model.TypeBlock, Heads: pick(lc.Heads), HeadDim: lc.HeadDim, MLP: pick(lc.MLP),
				Exists: largest || !lc.Skippable || pick(skipChoices[:]) == 1}
		case model.TypeReduction:
			a.Layers[i] = model.Layer{Type: model.TypeReduction, Out: pick(lc.Widths)}
		}
	}
	fillWidths(&a, s)
	return a
}

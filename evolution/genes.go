package evolution

import (
	"math/rand/v2"
	"slices"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// The genes of an architecture in a supernet.Space are: the stem width, the stem's mid width
// when the space searches it (Space.StemMidChoices has several choices), every spatial
// reduction's output width (the next stage's width), and for each transformer block its head
// count, its MLP hidden size and, for skippable blocks only, whether it exists. Widths are not
// stored per block: propagate copies each stage's width into its blocks, the next reduction's
// input and the head, as the reference's update_embed_size does. The operators below work on
// model.Arch directly, as the reference works on its network_def tuples.
//
// The stem mid width is the one gene the reference does not have. Every operator handles it
// beside the stem width, and draws nothing for it when the space has one mid width, so the
// other spaces' seeded searches draw exactly what they drew before it became searchable.

// reduceStepsBeforeAll is how many head/MLP reductions reduceConstraint tries before widths
// (the stem mid width among them) and block removal become eligible too
// (_simplify_all_threshold in the reference).
const reduceStepsBeforeAll = 100

// maxReduceSteps bounds reduceConstraint; the smallest architecture is reached long before.
const maxReduceSteps = 100000

// propagate copies the stem and reduction widths into the blocks, reductions and head they feed.
func propagate(a *model.Arch) {
	w := a.Stem.Width
	for i := range a.Layers {
		l := &a.Layers[i]
		switch l.Type {
		case model.TypeBlock:
			l.Dim = w
		case model.TypeReduction:
			l.In = w
			w = l.Out
		}
	}
	a.Head.Dim = w
}

// updateDepth removes every skippable block that directly follows a removed skippable block,
// as the reference's update_depth does (a run of removable blocks is removed from its first
// removed one on). It never acts in the ViT-ResNAS spaces, where removable blocks alternate
// with fixed ones.
func updateDepth(s *supernet.Space, a *model.Arch) {
	remove := false
	for i, lc := range s.Layers {
		if lc.Type != model.TypeBlock {
			continue
		}
		switch {
		case !lc.Skippable:
			remove = false
		case remove:
			a.Layers[i].Exists = false
		case !a.Layers[i].Exists:
			remove = true
		}
	}
}

// checkAligned panics when a does not have the space's layer layout; callers validate
// architectures from outside with Space.Contains first.
func checkAligned(s *supernet.Space, a model.Arch) {
	if len(a.Layers) != len(s.Layers) {
		panic("evolution: architecture does not match the space's layers")
	}
	for i, lc := range s.Layers {
		if a.Layers[i].Type != lc.Type {
			panic("evolution: architecture does not match the space's layers")
		}
	}
}

// Mutate returns a copy of parent in which every gene is redrawn with probability p, as the
// reference's mutate_func does: a width uniformly from its choices (then propagated), heads
// and MLP uniformly from theirs, and a skippable block's existence flipped. parent must be in
// s (see Space.Contains). With p = 0 the result equals parent.
func Mutate(src rand.Source, s *supernet.Space, parent model.Arch, p float64) model.Arch {
	checkAligned(s, parent)
	return mutate(rng{src}, s, parent, p)
}

func mutate(r rng, s *supernet.Space, parent model.Arch, p float64) model.Arch {
	a := parent.Clone()
	if r.chance(p) {
		a.Stem.Width = r.pick(s.Widths)
		propagate(&a)
	}
	if mids := s.StemMidChoices(); len(mids) > 1 && r.chance(p) {
		a.Stem.Mid = r.pick(mids)
	}
	for i, lc := range s.Layers {
		l := &a.Layers[i]
		switch lc.Type {
		case model.TypeBlock:
			if r.chance(p) {
				l.Heads = r.pick(lc.Heads)
			}
			if r.chance(p) {
				l.MLP = r.pick(lc.MLP)
			}
			if lc.Skippable && r.chance(p) {
				l.Exists = !l.Exists
				updateDepth(s, &a)
			}
		case model.TypeReduction:
			if r.chance(p) {
				l.Out = r.pick(lc.Widths)
				propagate(&a)
			}
		}
	}
	return a
}

// Crossover returns a copy of a in which every gene is taken from b with probability p
// (uniform crossover; the reference uses p = 0.5). a and b must be in s. With p = 0 the
// result equals a, with p = 1 it equals b.
func Crossover(src rand.Source, s *supernet.Space, a, b model.Arch, p float64) model.Arch {
	checkAligned(s, a)
	checkAligned(s, b)
	return crossover(rng{src}, s, a, b, p)
}

func crossover(r rng, s *supernet.Space, a, b model.Arch, p float64) model.Arch {
	c := a.Clone()
	if r.chance(p) {
		// The stem's widths come from one parent: its mid width was trained with its width.
		c.Stem.Width, c.Stem.Mid = b.Stem.Width, b.Stem.Mid
		propagate(&c)
	}
	for i, lc := range s.Layers {
		l, f := &c.Layers[i], b.Layers[i]
		switch lc.Type {
		case model.TypeBlock:
			if r.chance(p) {
				l.Heads = f.Heads
			}
			if r.chance(p) {
				l.MLP = f.MLP
			}
			if r.chance(p) {
				l.Exists = f.Exists
				updateDepth(s, &c)
			}
		case model.TypeReduction:
			if r.chance(p) {
				l.Out = f.Out
				propagate(&c)
			}
		}
	}
	return c
}

// sampleWidthsDepth is the reference's random_sample_embed_depth: max with the stem and
// reduction widths (and the stem mid width, when searchable) drawn uniformly and each
// skippable block removed with probability ½ (its choices are [C, C, 0, 0]); heads and MLP
// sizes stay at their largest. It writes into
// dst, reusing its layers, because the random generator may draw it a million times.
func sampleWidthsDepth(r rng, s *supernet.Space, max model.Arch, dst *model.Arch) {
	layers := append(dst.Layers[:0], max.Layers...)
	*dst = max
	dst.Layers = layers
	dst.Stem.Width = r.pick(s.Widths)
	if mids := s.StemMidChoices(); len(mids) > 1 {
		dst.Stem.Mid = r.pick(mids)
	}
	for i, lc := range s.Layers {
		switch lc.Type {
		case model.TypeBlock:
			if lc.Skippable && r.intn(2) == 0 {
				dst.Layers[i].Exists = false
			}
		case model.TypeReduction:
			dst.Layers[i].Out = r.pick(lc.Widths)
		}
	}
	propagate(dst)
	updateDepth(s, dst)
}

// sampleUniform draws every gene uniformly; it is the random generator when no MACs ceiling
// is set, where the reference's shrink-to-fit procedure has nothing to shrink towards.
func sampleUniform(r rng, s *supernet.Space, max model.Arch) model.Arch {
	a := max.Clone()
	a.Stem.Width = r.pick(s.Widths)
	if mids := s.StemMidChoices(); len(mids) > 1 {
		a.Stem.Mid = r.pick(mids)
	}
	for i, lc := range s.Layers {
		l := &a.Layers[i]
		switch lc.Type {
		case model.TypeBlock:
			l.Heads = r.pick(lc.Heads)
			l.MLP = r.pick(lc.MLP)
			if lc.Skippable {
				l.Exists = r.intn(2) == 1
			}
		case model.TypeReduction:
			l.Out = r.pick(lc.Widths)
		}
	}
	propagate(&a)
	updateDepth(s, &a)
	return a
}

// nextSmaller returns the largest choice below cur, if any.
func nextSmaller(choices []int, cur int) (int, bool) {
	best, ok := 0, false
	for _, c := range choices {
		if c < cur && (!ok || c > best) {
			best, ok = c, true
		}
	}
	return best, ok
}

// pruneOne is the reference's prune_random_one on a in place: it picks a random entry among
// the stem and the layers (blocks only unless all) and shrinks one of its genes to the next
// smaller choice; a block lowers its heads or its MLP with probability ½ each, or, when all
// and it is skippable, each of heads, MLP and removal (itself p = ½) with probability ⅓. The
// stem lowers its width, or, when its mid width is searchable, its width or its mid width
// with probability ½ each, as a block picks among its genes.
func pruneOne(r rng, s *supernet.Space, a *model.Arch, all bool) {
	entries := len(s.Layers) + 1 // entry 0 is the stem, entry i is Layers[i-1]
	var pos int
	if all {
		pos = r.intn(entries)
	} else {
		pos = 1 + r.intn(entries-1)
		for s.Layers[pos-1].Type == model.TypeReduction {
			pos = 1 + r.intn(entries-1)
		}
	}
	if pos == 0 {
		if mids := s.StemMidChoices(); len(mids) > 1 && r.intn(2) == 1 {
			if m, ok := nextSmaller(mids, a.Stem.Mid); ok {
				a.Stem.Mid = m
			}
			return
		}
		if w, ok := nextSmaller(s.Widths, a.Stem.Width); ok {
			a.Stem.Width = w
			propagate(a)
		}
		return
	}
	lc, l := s.Layers[pos-1], &a.Layers[pos-1]
	switch lc.Type {
	case model.TypeBlock:
		options := 2
		if lc.Skippable && all {
			options = 3
		}
		switch r.intn(options) {
		case 0:
			if h, ok := nextSmaller(lc.Heads, l.Heads); ok {
				l.Heads = h
			}
		case 1:
			if m, ok := nextSmaller(lc.MLP, l.MLP); ok {
				l.MLP = m
			}
		case 2:
			if r.intn(2) == 0 {
				l.Exists = false
				updateDepth(s, a)
			}
		}
	case model.TypeReduction:
		if w, ok := nextSmaller(lc.Widths, l.Out); ok {
			l.Out = w
			propagate(a)
		}
	}
}

// reduceConstraint is the reference's reduce_constraint: it shrinks a one random gene at a
// time while over reports it too large, trying only heads and MLP sizes for the first
// reduceStepsBeforeAll steps. It reports false if a is still too large after maxReduceSteps.
func reduceConstraint(r rng, s *supernet.Space, a model.Arch, over func(model.Arch) bool) (model.Arch, bool) {
	for step := 0; over(a); step++ {
		if step == maxReduceSteps {
			return a, false
		}
		pruneOne(r, s, &a, step >= reduceStepsBeforeAll)
	}
	return a, true
}

// canonicalKey names a's network: its network_def with every skipped block's heads and MLP at
// the space's smallest, the placeholder supernet.Space itself uses. A skipped block computes
// nothing, so architectures that differ only there are one network, evaluated once and
// counted once by the novelty check. (The operators keep a skipped block's genes, as the
// reference does, so re-enabling it restores them.)
func canonicalKey(s *supernet.Space, a model.Arch) string {
	cloned := false
	for i, l := range a.Layers {
		if l.Type != model.TypeBlock || l.Exists {
			continue
		}
		heads, mlp := slices.Min(s.Layers[i].Heads), slices.Min(s.Layers[i].MLP)
		if l.Heads == heads && l.MLP == mlp {
			continue
		}
		if !cloned {
			a, cloned = a.Clone(), true
		}
		a.Layers[i].Heads, a.Layers[i].MLP = heads, mlp
	}
	return a.String()
}

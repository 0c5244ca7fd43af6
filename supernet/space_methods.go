package supernet

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/resnas/resnas/model"
)

// StageChoices are the choices of one stage of a space.
type StageChoices struct {
	Widths    []int // embed width choices: the stem's for stage 0, else the opening reduction's
	Reduction int   // index in Space.Layers of the reduction opening the stage; -1 for stage 0
	Blocks    []int // indices in Space.Layers of the stage's transformer blocks
}

// Stages splits the space at its spatial reductions.
func (s *Space) Stages() []StageChoices {
	stages := []StageChoices{{Widths: s.Widths, Reduction: -1}}
	for i, c := range s.Layers {
		if c.Type == model.TypeReduction {
			stages = append(stages, StageChoices{Widths: c.Widths, Reduction: i})
			continue
		}
		last := &stages[len(stages)-1]
		last.Blocks = append(last.Blocks, i)
	}
	return stages
}

// stemMid is the stem's mid width, with the reference's default for a type-4 stem.
func (s *Space) stemMid() int {
	if s.StemMid == 0 && s.StemType == model.TypeConvStem {
		return model.DefaultStemMid
	}
	return s.StemMid
}

// StemMidChoices are the conv stem's mid-width choices, largest first: StemMids when the
// space searches the stem's width, else its one fixed mid width (none for a linear stem).
func (s *Space) StemMidChoices() []int {
	if len(s.StemMids) > 0 {
		return s.StemMids
	}
	if s.StemType == model.TypeLinearStem {
		return []int{0}
	}
	return []int{s.stemMid()}
}

// pickOne draws one of choices, consuming no randomness when there is only one: spaces whose
// stem width is fixed draw exactly the sequence they drew before the stem became searchable.
func pickOne(rng *rand.Rand, choices []int) int {
	if len(choices) == 1 {
		return choices[0]
	}
	return choices[rng.IntN(len(choices))]
}

// placeholder is the canonical skipped block at a position of width w: the smallest choices.
// Skipped blocks have no weights and cost nothing, so their fields only need to be valid and
// fixed, which makes Uncompact(a.Compact()) == a for members that skip canonically.
func placeholder(c LayerChoices, w int) model.Layer {
	return model.Layer{Type: model.TypeBlock, Dim: w, Heads: slices.Min(c.Heads), HeadDim: c.HeadDim,
		MLP: slices.Min(c.MLP)}
}

// build assembles a member from per-gene picks; widths propagate through each stage.
func (s *Space) build(width func(choices []int) int, block func(c LayerChoices) (heads, mlp int, exists bool)) model.Arch {
	return s.buildMid(width, width, block)
}

// buildMid is build with the stem's mid width picked by its own function.
func (s *Space) buildMid(mid, width func(choices []int) int, block func(c LayerChoices) (heads, mlp int, exists bool)) model.Arch {
	w := width(s.Widths)
	a := model.Arch{Stem: model.Stem{Type: s.StemType, Width: w, Mid: s.stemMid()}, Layers: make([]model.Layer, len(s.Layers))}
	if len(s.StemMids) > 0 {
		a.Stem.Mid = mid(s.StemMids)
	}
	for i, c := range s.Layers {
		switch c.Type {
		case model.TypeReduction:
			out := width(c.Widths)
			a.Layers[i] = model.Layer{Type: model.TypeReduction, In: w, Out: out}
			w = out
		case model.TypeBlock:
			heads, mlp, exists := block(c)
			if !exists {
				a.Layers[i] = placeholder(c, w)
				continue
			}
			a.Layers[i] = model.Layer{Type: model.TypeBlock, Dim: w, Heads: heads, HeadDim: c.HeadDim, MLP: mlp, Exists: true}
		}
	}
	a.Head = model.Head{Dim: w, Classes: s.Classes}
	return a
}

// Max is the largest sub-network: the supernet itself.
func (s *Space) Max() model.Arch {
	return s.build(slices.Max[[]int], func(c LayerChoices) (int, int, bool) {
		return slices.Max(c.Heads), slices.Max(c.MLP), true
	})
}

// Min is the smallest sub-network: smallest of every choice, every skippable block skipped.
func (s *Space) Min() model.Arch {
	return s.build(slices.Min[[]int], func(c LayerChoices) (int, int, bool) {
		return slices.Min(c.Heads), slices.Min(c.MLP), !c.Skippable
	})
}

// Random draws a member uniformly per gene: each stage width, each block's heads and MLP
// size, and the existence of each skippable block with probability ½ (as the reference's
// random sampler draws from [C, C, 0, 0]). Skipped blocks get the canonical placeholder.
func (s *Space) Random(rng *rand.Rand) model.Arch {
	pick := func(c []int) int { return c[rng.IntN(len(c))] }
	return s.buildMid(func(c []int) int { return pickOne(rng, c) }, pick, func(c LayerChoices) (int, int, bool) {
		heads, mlp := pick(c.Heads), pick(c.MLP)
		return heads, mlp, !c.Skippable || rng.IntN(2) == 0
	})
}

// archErr builds the *model.ArchError for network_def entry e of an architecture shaped like s.
func (s *Space) archErr(entry int, field, format string, args ...any) error {
	where := "network_def"
	switch {
	case entry == 0:
		where = "stem"
	case entry == len(s.Layers)+1:
		where = "head"
	case entry > 0:
		where = "blocks." + strconv.Itoa(entry-1)
	}
	return &model.ArchError{Where: where, Entry: entry, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// checkShape is what Contains and Fits share: a valid def with the space's entries in place.
func (s *Space) checkShape(a model.Arch) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if len(a.Layers) != len(s.Layers) {
		hint := ""
		if len(a.Layers) < len(s.Layers) {
			hint = " (skipped blocks deleted? keep them as (1, …, 0) entries so blocks.{i} matches the supernet)"
		}
		return s.archErr(-1, "", "%d entries between stem and head, %s has %d%s", len(a.Layers), s.Name, len(s.Layers), hint)
	}
	if (a.Stem.Type == model.TypeLinearStem) != (s.StemType == model.TypeLinearStem) {
		return s.archErr(0, "type", "stem type %d, %s has a type-%d stem", a.Stem.Type, s.Name, s.StemType)
	}
	for i, l := range a.Layers {
		if c := s.Layers[i]; l.Type != c.Type {
			return s.archErr(i+1, "type", "%s, but %s has a %s here", kindName(l.Type), s.Name, kindName(c.Type))
		}
	}
	if a.Head.Classes != s.Classes {
		return s.archErr(len(a.Layers)+1, "classes", "%d classes, %s has %d", a.Head.Classes, s.Name, s.Classes)
	}
	return nil
}

func kindName(t int) string {
	switch t {
	case model.TypeBlock:
		return "transformer block"
	case model.TypeReduction:
		return "spatial reduction"
	}
	return "entry type " + strconv.Itoa(t)
}

// Contains checks that a is a sub-network of s: same entries (skipped blocks kept as
// exists=0 placeholders, so blocks.{i} lines up with the supernet), every choice among the
// space's, only skippable blocks skipped. A skipped block's heads and MLP size are not
// checked: it has no weights (summary.txt keeps whatever the search last had there).
// The error is a *model.ArchError naming the block, the field and the allowed choices.
func (s *Space) Contains(a model.Arch) error {
	if err := s.checkShape(a); err != nil {
		return err
	}
	// A fixed mid width is part of the stem's type, (5, C, mid); a searched one is a choice.
	if a.Stem.Type != s.StemType || (len(s.StemMids) == 0 && a.Stem.Mid != s.stemMid()) {
		return s.archErr(0, "type", "stem %s, %s has %s", stemString(a.Stem.Type, a.Stem.Mid), s.Name, stemString(s.StemType, s.stemMid()))
	}
	if len(s.StemMids) > 0 && !slices.Contains(s.StemMids, a.Stem.Mid) {
		return s.archErr(0, "mid", "stem mid width %d not in %s choices %v", a.Stem.Mid, s.Name, s.StemMids)
	}
	if !slices.Contains(s.Widths, a.Stem.Width) {
		return s.archErr(0, "width", "width %d not in %s choices %v", a.Stem.Width, s.Name, s.Widths)
	}
	for i, l := range a.Layers {
		c := s.Layers[i]
		switch l.Type {
		case model.TypeReduction:
			if !slices.Contains(c.Widths, l.Out) {
				return s.archErr(i+1, "out", "width %d not in %s choices %v", l.Out, s.Name, c.Widths)
			}
		case model.TypeBlock:
			if !l.Exists {
				if !c.Skippable {
					return s.archErr(i+1, "exists", "skipped (exists=0), but %s cannot skip it; skippable: %s", s.Name, s.skippableNear(i))
				}
				continue
			}
			if l.HeadDim != c.HeadDim {
				return s.archErr(i+1, "head_dim", "head dim %d, %s uses %d here", l.HeadDim, s.Name, c.HeadDim)
			}
			if !slices.Contains(c.Heads, l.Heads) {
				return s.archErr(i+1, "heads", "%d heads not in %s choices %v", l.Heads, s.Name, c.Heads)
			}
			if !slices.Contains(c.MLP, l.MLP) {
				return s.archErr(i+1, "mlp", "MLP hidden %d not in %s choices %v", l.MLP, s.Name, c.MLP)
			}
		}
	}
	return nil
}

func stemString(typ, mid int) string {
	switch typ {
	case model.TypeConvStemMid:
		return fmt.Sprintf("(5, C, %d)", mid)
	case model.TypeConvStem:
		return "(4, C)"
	}
	return fmt.Sprintf("(%d, C)", typ)
}

// skippableNear lists the skippable blocks of the stage holding layer i, e.g. "blocks.1, 3, 5".
func (s *Space) skippableNear(i int) string {
	for _, st := range s.Stages() {
		if !slices.Contains(st.Blocks, i) {
			continue
		}
		var idx []string
		for _, j := range st.Blocks {
			if s.Layers[j].Skippable {
				idx = append(idx, strconv.Itoa(j))
			}
		}
		if len(idx) == 0 {
			return "none in this stage"
		}
		return "blocks." + strings.Join(idx, ", ")
	}
	return "none"
}

// Fits is the looser check used to slice weights: a has the supernet's entries and every
// dimension is at most the supernet's, whether or not it is one of the listed choices
// (spaces rebuilt from a foreign checkpoint know only the largest sizes). Head dims and the
// class count must match exactly, since slicing cannot change them.
func (s *Space) Fits(a model.Arch) error {
	if err := s.checkShape(a); err != nil {
		return err
	}
	if mid := s.stemMid(); a.Stem.Mid > mid {
		return s.archErr(0, "mid", "stem mid %d exceeds %s's %d", a.Stem.Mid, s.Name, mid)
	}
	if m := slices.Max(s.Widths); a.Stem.Width > m {
		return s.archErr(0, "width", "width %d exceeds %s's largest, %d", a.Stem.Width, s.Name, m)
	}
	for i, l := range a.Layers {
		c := s.Layers[i]
		switch l.Type {
		case model.TypeReduction:
			if m := slices.Max(c.Widths); l.Out > m {
				return s.archErr(i+1, "out", "width %d exceeds %s's largest, %d", l.Out, s.Name, m)
			}
		case model.TypeBlock:
			if !l.Exists {
				continue // no weights to slice
			}
			if l.HeadDim != c.HeadDim {
				return s.archErr(i+1, "head_dim", "head dim %d, %s uses %d here (heads are sliced whole)", l.HeadDim, s.Name, c.HeadDim)
			}
			if m := slices.Max(c.Heads); l.Heads > m {
				return s.archErr(i+1, "heads", "%d heads exceed %s's largest, %d", l.Heads, s.Name, m)
			}
			if m := slices.Max(c.MLP); l.MLP > m {
				return s.archErr(i+1, "mlp", "MLP hidden %d exceeds %s's largest, %d", l.MLP, s.Name, m)
			}
		}
	}
	return nil
}

// Uncompact re-inserts exists=0 placeholders into a compacted def (skipped blocks deleted, as
// the reference README tells users to do) so that blocks.{i} lines up with the supernet.
// A def that already has the supernet's entries (length and types) is returned unchanged.
//
// Which positions were skipped is lost by Compact when a stage has several skippable
// positions, so Uncompact chooses: it skips the last skippable positions of each stage and
// fills the rest in order, with canonical placeholders (the smallest choices). Hence
// Uncompact(a.Compact()) == a for every member that skips that way (Random's placeholders
// are canonical), and Uncompact(a.Compact()).Compact() == a.Compact() for every member.
// The result is not checked against the choices: call Contains or Fits.
func (s *Space) Uncompact(compact model.Arch) (model.Arch, error) {
	if err := compact.Validate(); err != nil {
		return model.Arch{}, err
	}
	if s.aligned(compact) {
		return compact.Clone(), nil
	}
	c := compact.Compact()
	have, want := c.Stages(), s.Stages()
	if len(have) != len(want) {
		return model.Arch{}, s.archErr(-1, "", "%d stages, %s has %d", len(have), s.Name, len(want))
	}
	out := model.Arch{Stem: c.Stem, Head: c.Head, Layers: make([]model.Layer, len(s.Layers))}
	for k, ws := range want {
		hs := have[k]
		if k > 0 {
			out.Layers[ws.Reduction] = c.Layers[hs.Reduction]
		}
		n, m := len(ws.Blocks), len(hs.Blocks)
		skippable := 0
		for _, j := range ws.Blocks {
			if s.Layers[j].Skippable {
				skippable++
			}
		}
		if m > n || m < n-skippable {
			return model.Arch{}, s.archErr(-1, "", "stage %d has %d blocks, %s takes %d to %d", k+1, m, s.Name, n-skippable, n)
		}
		drop := n - m
		skip := make([]bool, n)
		for p := n - 1; p >= 0 && drop > 0; p-- {
			if s.Layers[ws.Blocks[p]].Skippable {
				skip[p] = true
				drop--
			}
		}
		next := 0
		for p, j := range ws.Blocks {
			if skip[p] {
				out.Layers[j] = placeholder(s.Layers[j], hs.Width)
				continue
			}
			out.Layers[j] = c.Layers[hs.Blocks[next]]
			next++
		}
	}
	return out, nil
}

// aligned reports whether a already has the supernet's entries: same length, same types.
func (s *Space) aligned(a model.Arch) bool {
	if len(a.Layers) != len(s.Layers) {
		return false
	}
	for i, l := range a.Layers {
		if l.Type != s.Layers[i].Type {
			return false
		}
	}
	return true
}

// Validate checks the space description itself (spaces can come from JSON or a foreign
// checkpoint): known types, positive choices in descending order, a skippable flag only on
// blocks, reductions that never narrow, and a largest network that runs on s.Input.
func (s *Space) Validate() error {
	bad := func(where, format string, args ...any) error {
		return fmt.Errorf("space %s: %s: %s", s.Name, where, fmt.Sprintf(format, args...))
	}
	descending := func(where, what string, c []int) error {
		if len(c) == 0 {
			return bad(where, "no %s choices", what)
		}
		for i, v := range c {
			if v <= 0 || v > model.MaxDim {
				return bad(where, "%s choice %d out of range 1..%d", what, v, model.MaxDim)
			}
			if i > 0 && v >= c[i-1] {
				return bad(where, "%s choices %v not strictly descending", what, c)
			}
		}
		return nil
	}
	if s.Name == "" {
		return fmt.Errorf("space: no name")
	}
	if s.Classes <= 0 {
		return bad("classes", "%d, want ≥ 1", s.Classes)
	}
	switch s.StemType {
	case model.TypeLinearStem, model.TypeConvStem, model.TypeConvStemMid:
	default:
		return bad("stem_type", "unknown stem type %d", s.StemType)
	}
	if err := descending("widths", "width", s.Widths); err != nil {
		return err
	}
	if len(s.StemMids) > 0 {
		if s.StemType != model.TypeConvStemMid {
			return bad("stem_mids", "searchable mid widths need a type-5 stem, not type %d", s.StemType)
		}
		if err := descending("stem_mids", "stem mid", s.StemMids); err != nil {
			return err
		}
		if s.StemMids[0] != s.StemMid {
			return bad("stem_mids", "largest choice %d differs from stem_mid %d", s.StemMids[0], s.StemMid)
		}
	}
	prevMax := slices.Max(s.Widths)
	for i, c := range s.Layers {
		where := "blocks." + strconv.Itoa(i)
		switch c.Type {
		case model.TypeBlock:
			if len(c.Widths) > 0 {
				return bad(where, "transformer block has width choices; widths belong to the stem and reductions")
			}
			if c.HeadDim <= 0 || c.HeadDim > model.MaxDim {
				return bad(where, "head dim %d out of range", c.HeadDim)
			}
			if err := descending(where, "heads", c.Heads); err != nil {
				return err
			}
			if err := descending(where, "MLP", c.MLP); err != nil {
				return err
			}
		case model.TypeReduction:
			if c.Skippable || len(c.Heads) > 0 || len(c.MLP) > 0 || c.HeadDim != 0 {
				return bad(where, "spatial reduction has transformer block choices")
			}
			if err := descending(where, "width", c.Widths); err != nil {
				return err
			}
			if m := slices.Min(c.Widths); m < prevMax {
				return bad(where, "smallest width %d < the previous stage's largest %d; C_out must be ≥ C_in", m, prevMax)
			}
			prevMax = slices.Max(c.Widths)
		default:
			return bad(where, "unknown layer type %d", c.Type)
		}
	}
	if err := s.Max().ValidateFor(s.Input); err != nil {
		return fmt.Errorf("space %s: largest network: %w", s.Name, err)
	}
	return nil
}

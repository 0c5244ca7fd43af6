package model

// Compact drops the skipped blocks (exists=0), as the reference README tells users to do
// before training a searched network from scratch. The blocks.{i} indices shift; a supernet
// space can put the placeholders back (supernet.Space.Uncompact).
func (a Arch) Compact() Arch {
	out := a
	out.Layers = make([]Layer, 0, len(a.Layers))
	for _, l := range a.Layers {
		if l.Type == TypeBlock && !l.Exists {
			continue
		}
		out.Layers = append(out.Layers, l)
	}
	return out
}

// Stage is a run of transformer blocks on one token grid, opened by the stem or by a
// spatial reduction.
type Stage struct {
	Index     int   // 0 for the stem's stage; the token grid side is Input.Grid() >> Index
	Width     int   // embedding width C
	Reduction int   // index in Arch.Layers of the spatial reduction opening the stage; -1 for stage 0
	Blocks    []int // indices in Arch.Layers of the stage's transformer blocks, skipped ones included
}

// Grid is the stage's token grid side on input in.
func (s Stage) Grid(in Input) int { return in.Grid() >> s.Index }

// Tokens is the stage's sequence length on input in: the grid's patches plus the class token.
func (s Stage) Tokens(in Input) int { g := s.Grid(in); return g*g + 1 }

// Depth counts the blocks that exist.
func (s Stage) Depth(a Arch) int {
	n := 0
	for _, i := range s.Blocks {
		if a.Layers[i].Exists {
			n++
		}
	}
	return n
}

// Stages splits a into stages at its spatial reductions.
func (a Arch) Stages() []Stage {
	stages := []Stage{{Index: 0, Width: a.Stem.Width, Reduction: -1}}
	for i, l := range a.Layers {
		if l.Type == TypeReduction {
			stages = append(stages, Stage{Index: len(stages), Width: l.Out, Reduction: i})
			continue
		}
		last := &stages[len(stages)-1]
		last.Blocks = append(last.Blocks, i)
	}
	return stages
}

// WithStageWidth returns a copy of a whose stage (as numbered by Stages) has embed width w:
// the stem or opening reduction's output, the stage's blocks (skipped ones too), and the
// next reduction's input or the head follow, as the reference's update_embed_size does.
func (a Arch) WithStageWidth(stage, w int) Arch {
	stages := a.Stages()
	if stage < 0 || stage >= len(stages) {
		panic("model: WithStageWidth: stage out of range")
	}
	out := a.Clone()
	st := stages[stage]
	if st.Reduction < 0 {
		out.Stem.Width = w
	} else {
		out.Layers[st.Reduction].Out = w
	}
	for _, i := range st.Blocks {
		out.Layers[i].Dim = w
	}
	if stage+1 < len(stages) {
		out.Layers[stages[stage+1].Reduction].In = w
	} else {
		out.Head.Dim = w
	}
	return out
}

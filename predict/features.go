package predict

import (
	"fmt"
	"slices"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/supernet"
)

// Encoder turns an architecture of one space into a fixed-length feature vector, each
// feature in [0, 1] relative to the space's choices:
//
//   - the stem's mid width scaled like widths, only in spaces that search it (several
//     Space.StemMidChoices), so the other spaces' features are what they were before;
//   - per stage: its embed width, (w − min)/(max − min) of the stage's width choices, and its
//     depth, the fraction of its blocks that exist;
//   - per block: whether it exists (1 or 0), its heads and MLP size scaled like widths (0
//     when the block is skipped, whatever its placeholder holds);
//   - MACs and parameters as fractions of the largest sub-network's.
//
// Two architectures that differ only in a skipped block's placeholder (the same network)
// encode identically.
type Encoder struct {
	space   *supernet.Space
	in      model.Input
	stages  []supernet.StageChoices
	mids    []int // the stem mid width's choices when searchable, else nil
	maxMACs float64
	maxPar  float64
	names   []string
}

// NewEncoder builds the encoder of space at input in (the space's own input when zero).
func NewEncoder(space *supernet.Space, in model.Input) (*Encoder, error) {
	if space == nil {
		return nil, fmt.Errorf("predict: no search space")
	}
	if in == (model.Input{}) {
		in = space.Input
	}
	e := &Encoder{space: space, in: in, stages: space.Stages()}
	macs, params := profiler.Count(space.Max(), in)
	e.maxMACs, e.maxPar = float64(macs), float64(params)
	if e.maxMACs <= 0 || e.maxPar <= 0 {
		return nil, fmt.Errorf("predict: space %s: its largest sub-network has %g MACs and %g params", space.Name, e.maxMACs, e.maxPar)
	}
	if mids := space.StemMidChoices(); len(mids) > 1 {
		e.mids = mids
		e.names = append(e.names, "stem.mid")
	}
	for s, st := range e.stages {
		e.names = append(e.names, fmt.Sprintf("stage%d.width", s+1), fmt.Sprintf("stage%d.depth", s+1))
		for _, i := range st.Blocks {
			e.names = append(e.names, fmt.Sprintf("blocks.%d.on", i), fmt.Sprintf("blocks.%d.heads", i), fmt.Sprintf("blocks.%d.mlp", i))
		}
	}
	e.names = append(e.names, "macs", "params")
	return e, nil
}

// Len is the number of features.
func (e *Encoder) Len() int { return len(e.names) }

// Names names the features in order, e.g. "stem.mid", "stage2.width", "blocks.7.mlp", "macs".
func (e *Encoder) Names() []string { return slices.Clone(e.names) }

// Encode appends a's features to dst. a must be a member of the space (Space.Contains).
func (e *Encoder) Encode(dst []float64, a model.Arch) []float64 {
	if e.mids != nil {
		dst = append(dst, scaled(a.Stem.Mid, e.mids))
	}
	for _, st := range e.stages {
		w := a.Stem.Width
		if st.Reduction >= 0 {
			w = a.Layers[st.Reduction].Out
		}
		on := 0
		for _, i := range st.Blocks {
			if a.Layers[i].Exists {
				on++
			}
		}
		depth := 0.0
		if len(st.Blocks) > 0 {
			depth = float64(on) / float64(len(st.Blocks))
		}
		dst = append(dst, scaled(w, st.Widths), depth)
		for _, i := range st.Blocks {
			l, c := a.Layers[i], e.space.Layers[i]
			if !l.Exists {
				dst = append(dst, 0, 0, 0)
				continue
			}
			dst = append(dst, 1, scaled(l.Heads, c.Heads), scaled(l.MLP, c.MLP))
		}
	}
	macs, params := profiler.Count(a, e.in) // one walk of a for both
	return append(dst, float64(macs)/e.maxMACs, float64(params)/e.maxPar)
}

// scaled is v's place between the smallest and largest choice, in [0, 1]; 1 for one choice.
func scaled(v int, choices []int) float64 {
	lo, hi := slices.Min(choices), slices.Max(choices)
	if hi == lo {
		return 1
	}
	return float64(v-lo) / float64(hi-lo)
}

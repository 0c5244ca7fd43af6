package evolution

import (
	"context"
	"math"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/stats"
)

// Evaluator scores one architecture, typically by slicing it out of the supernet and running
// the validation set. It may be slow and may parallelise inside; the search calls it for one
// candidate at a time and cancels ctx to pause or stop. An Evaluator that is also an
// AsyncEvaluator gets the generation's candidates ahead instead (see AsyncEvaluator).
type Evaluator interface {
	Evaluate(ctx context.Context, a model.Arch) (Fitness, error)
}

// EvaluatorFunc adapts a function to Evaluator.
type EvaluatorFunc func(ctx context.Context, a model.Arch) (Fitness, error)

// Evaluate calls f.
func (f EvaluatorFunc) Evaluate(ctx context.Context, a model.Arch) (Fitness, error) { return f(ctx, a) }

// Throughput measures an architecture's inference speed in images per second on this machine.
// The search measures each architecture at most once and journals the result.
type Throughput interface {
	Throughput(ctx context.Context, a model.Arch) (float64, error)
}

// ThroughputFunc adapts a function to Throughput.
type ThroughputFunc func(ctx context.Context, a model.Arch) (float64, error)

// Throughput calls f.
func (f ThroughputFunc) Throughput(ctx context.Context, a model.Arch) (float64, error) {
	return f(ctx, a)
}

// Fitness is an evaluation's result.
type Fitness struct {
	Top1   float64 `json:"top1"`   // percent, the search's fitness
	Top5   float64 `json:"top5"`   // percent
	Images int     `json:"images"` // images the accuracies were measured on
	// Correct marks the images whose top-1 prediction was right (N == Images), so that
	// candidates can be compared pairwise; zero when the evaluator does not report it.
	Correct stats.Bitset `json:"-"`
}

// Origin says how a candidate was made.
type Origin string

const (
	OriginRandom    Origin = "random"
	OriginMutation  Origin = "mutation"
	OriginCrossover Origin = "crossover"
	OriginInject    Origin = "inject"
)

// Record is one evaluation, in the journal, the exports and the event stream.
type Record struct {
	Index      int     `json:"index"`       // evaluation order, from 0
	Generation int     `json:"generation"`  // iteration; 0 is the random one
	NetworkDef string  `json:"network_def"` // the reference's tuple, un-compacted
	Top1       float64 `json:"top1"`
	Top5       float64 `json:"top5"`
	Images     int     `json:"images"`
	MACs       int64   `json:"macs"`
	Params     int64   `json:"params"`
	Throughput float64 `json:"throughput,omitempty"` // images/s; 0 when not measured
	Origin     Origin  `json:"origin"`
	Parents    []int   `json:"parents,omitempty"` // indices of the parents' records
	// Correct is the per-image top-1 results (stats.Bitset.Encode of Images bits); empty in
	// journals written before resnas kept them.
	Correct string `json:"correct,omitempty"`
	// Predicted and PredictedStd are the predictor's top-1 (percent) and the standard
	// deviation of a measurement, made before this one for a prescreened candidate
	// (Options.Prescreen); nil otherwise.
	Predicted    *float64   `json:"predicted_top1,omitempty"`
	PredictedStd *float64   `json:"predicted_std,omitempty"`
	Arch         model.Arch `json:"-"` // NetworkDef parsed
}

// Fitness returns the evaluation's result.
func (r Record) Fitness() Fitness {
	f := Fitness{Top1: r.Top1, Top5: r.Top5, Images: r.Images}
	f.Correct, _ = r.PerImage()
	return f
}

// CI95 is the half-width, in points, of the 95% Wilson interval of Top1 on Images images.
func (r Record) CI95() float64 {
	hits := int(math.Round(r.Top1 / 100 * float64(r.Images)))
	return 100 * stats.WilsonHalfWidth(hits, r.Images)
}

// scores is the record's result without its per-image bits, which a copy of the record
// carries over as encoded (validCorrect) rather than decoding and encoding them again.
func (r Record) scores() Fitness { return Fitness{Top1: r.Top1, Top5: r.Top5, Images: r.Images} }

// validCorrect is Correct when it decodes for Images images, "" otherwise (a damaged
// journal entry is dropped, as Fitness drops it).
func (r Record) validCorrect() string {
	if _, ok := r.PerImage(); !ok {
		return ""
	}
	return r.Correct
}

// PerImage decodes Correct; ok is false where the record has none (or it is damaged).
func (r Record) PerImage() (b stats.Bitset, ok bool) {
	if r.Correct == "" {
		return stats.Bitset{}, false
	}
	b, err := stats.DecodeBitset(r.Correct, r.Images)
	return b, err == nil
}

// ActionKind names a steering action.
type ActionKind string

const (
	ActionInject          ActionKind = "inject"
	ActionSetConstraints  ActionKind = "set_constraints"
	ActionSetMutationProb ActionKind = "set_mutation_prob"
	ActionPause           ActionKind = "pause"
	ActionResume          ActionKind = "resume"
	ActionStop            ActionKind = "stop"
)

// Action is a steering action as the engine applied it. At and Generation place it in the
// search: replaying a journal applies it at the same place, which is what makes a steered
// search reproducible. Pause, resume and stop are journaled for the record only.
type Action struct {
	Kind         ActionKind   `json:"action"`
	At           int          `json:"at"`         // evaluations done when it applied
	Generation   int          `json:"generation"` // generation under way; -1 before the first
	NetworkDef   string       `json:"network_def,omitempty"`
	Constraints  *Constraints `json:"constraints,omitempty"`
	MutationProb *float64     `json:"mutation_prob,omitempty"`

	arch model.Arch // the injected architecture, parsed
}

// GenerationSummary describes a finished generation.
type GenerationSummary struct {
	Generation     int     `json:"generation"`
	Evaluated      int     `json:"evaluated"` // records of this generation
	Total          int     `json:"total"`     // records so far
	Best           Record  `json:"best"`      // best of the whole history so far
	Median         float64 `json:"median"`    // median top-1 of this generation
	FrontSize      int     `json:"front_size"`
	EvalsPerMinute float64 `json:"evals_per_minute"` // of its live evaluations; 0 if all came from the journal
	// Predictor is the prescreen's predictor as trained for this generation; nil without
	// --prescreen, for generation 0, or with too few measured architectures.
	Predictor *PredictorSummary `json:"predictor,omitempty"`
}

// PredictorSummary is what a generation's prescreen ranked with: the chosen family, the
// architectures it was trained on and its cross-validated quality on them.
type PredictorSummary struct {
	Family   string  `json:"family"`
	Points   int     `json:"points"`
	Tau      float64 `json:"kendall_tau"` // cross-validated; NaN when undefined
	MAE      float64 `json:"mae"`         // points
	Coverage float64 `json:"coverage95"`  // fraction inside ±1.96 std
	Bred     int     `json:"bred"`        // candidates bred and ranked
	Kept     int     `json:"kept"`        // measured
}

package workbench

import (
	"errors"
	"fmt"

	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/predict"
	"github.com/resnas/resnas/supernet"
)

// scoringKeys are the journal header settings that change a measured top-1: journals that
// differ in one hold scores a predictor must not mix.
var scoringKeys = []string{ScoringLimit, ScoringRecalibrateBN, ScoringWeights}

// PredictorReport is what a predictor trained on journals says of itself: resnas predictor's
// JSON output.
type PredictorReport struct {
	Checkpoint string            `json:"checkpoint_sha256"`
	Data       string            `json:"data_manifest"`
	Journals   []string          `json:"journals"`
	Records    int               `json:"records"`
	Points     int               `json:"points"` // distinct architectures
	Chosen     string            `json:"family"`
	Families   []predict.Quality `json:"cross_validation"` // best first
	Holdout    *HoldoutReport    `json:"holdout,omitempty"`
}

// HoldoutReport scores a predictor trained on the first Train points on the Test others.
type HoldoutReport struct {
	Family string         `json:"family"`
	Train  int            `json:"train"`
	Test   int            `json:"test"`
	All    predict.Scores `json:"all"`
	Top    predict.Scores `json:"top10"`
}

// PredictorOptions choose how TrainPredictor fits and scores.
type PredictorOptions struct {
	Seed       uint64
	Family     string // predict.FamilyAuto (""): the best by cross-validated Kendall τ
	Folds      int
	TrainFirst int          // > 0: also train on the first N distinct architectures and score the rest
	Warn       func(string) // hears the journals' warnings; nil: dropped
}

// TrainPredictor trains the accuracy predictor on the records of journals, which must all be
// of checkpoint l, data dataHash and one scoring setting (each refusal names the journal), and
// reports its cross-validated quality and, with TrainFirst, its quality on held-out points.
func TrainPredictor(l *Loaded, dataHash string, journals []string, o PredictorOptions) (PredictorReport, error) {
	if l.Space == nil {
		return PredictorReport{}, fmt.Errorf("%s: no known search space (pass --space NAME; resnas spaces lists them)", l.Name)
	}
	rep := PredictorReport{Checkpoint: l.Checkpoint.SHA256, Data: dataHash}
	var archs []model.Arch
	var top1 []float64
	var from []string // the journal each record came from, to name it in errors
	var scoring map[string]string
	var first string
	for _, path := range journals {
		j, err := evolution.ReadJournal(path)
		if err != nil {
			return PredictorReport{}, err
		}
		h := j.Header
		switch {
		case h.Checkpoint != l.Checkpoint.SHA256:
			return PredictorReport{}, fmt.Errorf("%s: journal of checkpoint sha256 %s, this checkpoint is %s: give journals of this checkpoint, or its --checkpoint", path, h.Checkpoint, l.Checkpoint.SHA256)
		case h.Data != dataHash:
			return PredictorReport{}, fmt.Errorf("%s: journal evaluated on data manifest %s, --data is %s: give journals of this data, or its --data", path, h.Data, dataHash)
		case h.Space != l.Space.Name:
			return PredictorReport{}, fmt.Errorf("%s: journal of space %s, this checkpoint is space %s: pass the journal's --space", path, h.Space, l.Space.Name)
		}
		if scoring == nil {
			scoring, first = h.Meta, path
		}
		for _, k := range scoringKeys {
			if h.Meta[k] != scoring[k] {
				return PredictorReport{}, fmt.Errorf("%s: journal scored with %s %q, %s with %q: their top-1 values are not comparable; give journals of one setting", path, k, h.Meta[k], first, scoring[k])
			}
		}
		for _, w := range j.Warnings {
			if o.Warn != nil {
				o.Warn(w)
			}
		}
		for _, r := range j.Records {
			archs, top1, from = append(archs, r.Arch), append(top1, r.Top1), append(from, path)
		}
		rep.Journals = append(rep.Journals, path)
	}
	rep.Records = len(archs)
	p, err := predict.New(l.Space, l.Input, predict.Options{Seed: o.Seed, Family: o.Family, Folds: o.Folds})
	if err != nil {
		return PredictorReport{}, err
	}
	// Distinct architectures in journal order, for --train-first.
	var dArchs []model.Arch
	var dTop1 []float64
	for i, a := range archs {
		added, err := p.Add(a, top1[i])
		if err != nil {
			return PredictorReport{}, fmt.Errorf("%s: %w", from[i], err)
		}
		if added {
			dArchs, dTop1 = append(dArchs, a), append(dTop1, top1[i])
		}
	}
	rep.Points = p.Len()
	if err := p.Fit(); err != nil {
		return PredictorReport{}, err
	}
	rep.Families = p.Qualities()
	rep.Chosen = rep.Families[0].Family
	if n := o.TrainFirst; n > 0 {
		if n < predict.MinPoints || n >= len(dArchs) {
			return PredictorReport{}, Usagef("--train-first %d: want at least %d and fewer than the %d distinct architectures of the journals", n, predict.MinPoints, len(dArchs))
		}
		h, err := predict.Train(l.Space, l.Input, predict.Options{Seed: o.Seed, Family: o.Family, Folds: o.Folds}, dArchs[:n], dTop1[:n])
		if err != nil {
			return PredictorReport{}, err
		}
		all, top, err := h.Score(dArchs[n:], dTop1[n:])
		if err != nil {
			return PredictorReport{}, err
		}
		q, _ := h.Quality()
		rep.Holdout = &HoldoutReport{Family: q.Family, Train: n, Test: len(dArchs) - n, All: all, Top: top}
	}
	return rep, nil
}

// SearchPredictor is the prescreened search's predictor in its summary: one trained on every
// architecture the search measured, cross-validated, and the predictions the search made
// before measuring each prescreened candidate (held out by construction, but only over the
// candidates the prescreen chose).
type SearchPredictor struct {
	Family string          `json:"family"`
	Points int             `json:"points"`
	Folds  int             `json:"folds"`
	CV     predict.Scores  `json:"cv"`
	CVTop  predict.Scores  `json:"cv_top10"`
	Online *predict.Scores `json:"online,omitempty"`
}

// SummarizePredictor is the predictor of a prescreened search's summary: trained on recs,
// cross-validated, with the online τ and MAE of the predictions recorded before each
// measurement. It is nil, without error, when there are too few records to fit.
func SummarizePredictor(space *supernet.Space, in model.Input, seed uint64, recs []evolution.Record) (*SearchPredictor, error) {
	archs, top1 := make([]model.Arch, len(recs)), make([]float64, len(recs))
	var pm, ps, py []float64
	for i, r := range recs {
		archs[i], top1[i] = r.Arch, r.Top1
		if r.Predicted != nil && r.PredictedStd != nil {
			pm, ps, py = append(pm, *r.Predicted), append(ps, *r.PredictedStd), append(py, r.Top1)
		}
	}
	p, err := predict.Train(space, in, predict.Options{Seed: seed}, archs, top1)
	var few *predict.TooFewError
	if errors.As(err, &few) {
		return nil, nil // too few to say anything; the search said so per generation
	} else if err != nil {
		return nil, err
	}
	q, _ := p.Quality()
	out := &SearchPredictor{Family: q.Family, Points: q.Points, Folds: q.Folds, CV: q.All, CVTop: q.Top}
	if len(pm) > 0 {
		online, _ := predict.ScoresOf(pm, ps, py)
		out.Online = &online
	}
	return out, nil
}

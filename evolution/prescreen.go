package evolution

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/predict"
)

// trainPredictor fits the prescreen's predictor on every distinct architecture measured so
// far, in evaluation order; nil when prescreening is off or too few were measured. It runs in
// the engine goroutine on records that replaying re-derives exactly, so a resumed search
// ranks the same candidates the same way.
func (e *engine) trainPredictor() (*predict.Predictor, error) {
	s := e.s
	if s.opts.Prescreen < 1 || e.gen < 1 {
		return nil, nil
	}
	archs, top1 := make([]model.Arch, len(e.history)), make([]float64, len(e.history))
	for j, i := range e.history {
		archs[j], top1[j] = s.records[i].Arch, s.records[i].Top1
	}
	p, err := predict.Train(s.cfg.Space, s.opts.Input, predict.Options{Seed: s.opts.Seed}, archs, top1)
	var few *predict.TooFewError
	if errors.As(err, &few) {
		e.emit(Event{Kind: EventWarning, Message: fmt.Sprintf("generation %d is not prescreened: %v", e.gen, err)})
		return nil, nil
	}
	return p, err
}

// prescreen keeps the keep candidates of the generation (the whole queue: a generation starts
// with an empty one) with the highest upper confidence bound, mean + κ·std, ties to the one
// bred first, in the order they were bred; each kept one carries its prediction.
func (e *engine) prescreen(p *predict.Predictor, keep int) {
	type ranked struct {
		i         int
		mean, std float64
	}
	kappa := e.s.opts.PrescreenKappa
	rs := make([]ranked, len(e.queue))
	for i, c := range e.queue {
		m, sd, _ := p.Predict(c.arch) // every candidate is a member of the space
		rs[i] = ranked{i, m, sd}
	}
	order := slices.Clone(rs)
	slices.SortStableFunc(order, func(a, b ranked) int {
		ua, ub := a.mean+kappa*a.std, b.mean+kappa*b.std
		switch {
		case ua > ub:
			return -1
		case ua < ub:
			return 1
		}
		return 0
	})
	kept := make([]bool, len(rs))
	for _, r := range order[:min(keep, len(order))] {
		kept[r.i] = true
	}
	out := e.queue[:0]
	for i, c := range e.queue {
		if !kept[i] {
			delete(e.genKeys, c.key)
			continue
		}
		m, sd := rs[i].mean, rs[i].std
		c.pred, c.predStd = &m, &sd
		out = append(out, c)
	}
	q, _ := p.Quality()
	e.predSummary = &PredictorSummary{Family: q.Family, Points: q.Points, Tau: q.All.Tau, MAE: q.All.MAE,
		Coverage: q.All.Coverage, Bred: len(rs), Kept: len(out)}
	e.queue = out
}

// MarshalJSON writes an undefined τ as null: JSON has no NaN.
func (p PredictorSummary) MarshalJSON() ([]byte, error) {
	type plain PredictorSummary
	out := struct {
		plain
		Tau *float64 `json:"kendall_tau"`
	}{plain: plain(p)}
	if !math.IsNaN(p.Tau) {
		out.Tau = &p.Tau
	}
	return json.Marshal(out)
}

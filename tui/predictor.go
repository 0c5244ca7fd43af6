package tui

import (
	"context"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/resnas/resnas/model"
)

// The predictor (Options.Predictor): it learns top-1 from every whole-set, BN-as-trained
// measurement the explorer sees, editor and search alike, and its guess for the current
// architecture shows in the top-1 line until a measured estimate replaces it. Update only
// asks it for a prediction (microseconds) and hands it measurements through Cmds; it refits
// on its own and sends a notice when done (style.md §3: a wait that re-arms itself).

// predictorStartedMsg: Predictor.Start returned.
type predictorStartedMsg struct{ err error }

// predictorNoticeMsg: the predictor refitted; its wait is re-armed.
type predictorNoticeMsg struct{}

// predictorObservedMsg: the predictor took measurements (its point count may have changed).
type predictorObservedMsg struct{}

// startPredictor starts the predictor and waits for its notices.
func (m *Model) startPredictor() tea.Cmd {
	p, ctx := m.opts.Predictor, m.ctx
	if p == nil {
		return nil
	}
	m.refreshPrediction()
	return tea.Batch(func() tea.Msg { return predictorStartedMsg{err: p.Start(ctx)} }, waitPredictor(ctx, p))
}

// waitPredictor returns the predictor's next notice; none once ctx ends, or for a predictor
// without notices.
func waitPredictor(ctx context.Context, p Predictor) tea.Cmd {
	if p == nil || p.Updates() == nil {
		return nil
	}
	ch := p.Updates()
	return func() tea.Msg {
		select {
		case <-ch:
			return predictorNoticeMsg{}
		case <-ctx.Done():
			return nil
		}
	}
}

func (m *Model) onPredictorStarted(msg predictorStartedMsg) {
	if msg.err != nil {
		m.status.fail(oneLine(msg.err))
	}
	m.refreshPrediction()
}

// refreshPrediction reads the predictor's status and predicts the current architecture again.
func (m *Model) refreshPrediction() {
	if m.opts.Predictor == nil {
		return
	}
	m.pred.status = m.opts.Predictor.Status()
	m.status.aside = m.pred.status
	m.repredict()
}

// repredict predicts the current architecture; it runs in Update on every edit.
func (m *Model) repredict() {
	if m.opts.Predictor == nil {
		return
	}
	mean, std, ok := m.opts.Predictor.Predict(m.arch)
	m.pred.arch, m.pred.mean, m.pred.std, m.pred.ok = m.keyOf(m.arch), mean, std, ok
}

// measured is one measurement for the predictor.
type measured struct {
	arch model.Arch
	top1 float64
}

// observe hands measurements to the predictor.
func (m *Model) observe(ms []measured) tea.Cmd {
	p := m.opts.Predictor
	if p == nil || len(ms) == 0 {
		return nil
	}
	return func() tea.Msg {
		for _, x := range ms {
			p.Observe(x.arch, x.top1)
		}
		return predictorObservedMsg{}
	}
}

// observeEval gives the predictor an editor estimate on the whole set with the BN as
// trained, whether or not an edit has superseded it.
func (m *Model) observeEval(msg evalResultMsg) tea.Cmd {
	if msg.err != nil || !msg.est.Final || msg.key.bn {
		return nil
	}
	return m.observe([]measured{{msg.arch, msg.est.Top1}})
}

// observeSearch gives the predictor the search's whole-set, BN-as-trained scores.
func (m *Model) observeSearch(msg searchBatchMsg) tea.Cmd {
	var ms []measured
	for _, ev := range msg.events {
		if ev.Kind == SearchEvaluated && len(ev.Arch.Layers) > 0 && ev.Estimate.Final && !ev.RecalibratedBN {
			ms = append(ms, measured{ev.Arch, ev.Estimate.Top1})
		}
	}
	return m.observe(ms)
}

package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/teatest"
	"github.com/resnas/resnas/model"
)

// predicted is how the top-1 line marks the fake predictor's guess for a: its mean and the
// half-width of its 95% interval (1.96 × 0.6), as measured estimates give theirs.
func predicted(a model.Arch) string {
	return fmt.Sprintf("~%.1f%% ±1.2 predicted", fakeTop1(a, model.ReferenceInput())+0.3)
}

// firstEdit is the architecture after "j-": blocks.0 with 5 heads.
func firstEdit() model.Arch {
	a := tinySpace().Max()
	a.Layers[0].Heads = 5
	return a
}

func predictorOptions(have int) (Options, *fakePredictor) {
	opts := testOptions()
	p := newFakePredictor(opts.Space.Input, have, 10, false)
	opts.Predictor = p
	return opts, p
}

// The frame right after an edit shows the prediction; the measured estimate then replaces
// it, and the predictor learns it.
func TestPredictedTop1ShowsAtOnceThenMeasured(t *testing.T) {
	opts, p := predictorOptions(12)
	m := keys(t, sized(t, opts, 80, 24), "j") // the largest, measured at start: 13 networks
	if !strings.Contains(m.View(), "predictor: 13 networks, τ 0.62") {
		t.Errorf("the status line does not show the predictor:\n%s", m.View())
	}
	m, cmd := step(t, m, keyMsg("-")) // the evaluation it starts has not run
	v := m.View()
	if !strings.Contains(v, afterFirstEdit()) || !strings.Contains(v, "top-1  "+predicted(firstEdit())+" · eval…") {
		t.Fatalf("the edit's frame does not show the prediction:\n%s", v)
	}
	m = drive(t, m, cmd())
	v = m.View()
	if strings.Contains(v, "predicted") || !strings.Contains(v, fmt.Sprintf("top-1  %.2f%% ±0.52 · 25000 img", fakeTop1(firstEdit(), m.opts.Input))) {
		t.Errorf("the measured estimate did not replace the prediction:\n%s", v)
	}
	obs := p.Observed()[1:]
	if len(obs) != 1 || !obs[0].arch.Equal(firstEdit()) || obs[0].top1 != fakeTop1(firstEdit(), m.opts.Input) {
		t.Errorf("the predictor observed %v, want the edit's final estimate only (quick ones are not)", obs)
	}
	if !strings.Contains(v, "predictor: 14 networks, τ 0.62") {
		t.Errorf("the status line does not count the new measurement:\n%s", v)
	}
}

// With too few points the line keeps today's text, and the status line says how many.
func TestPredictedTop1NeedsEnoughPoints(t *testing.T) {
	opts, _ := predictorOptions(4) // and the largest, measured at start: 5
	m := keys(t, sized(t, opts, 80, 24), "j")
	m, _ = step(t, m, keyMsg("-"))
	v := m.View()
	if strings.Contains(v, "predicted") || !strings.Contains(v, "top-1  evaluating 256 images…") {
		t.Errorf("a prediction from 4 points:\n%s", v)
	}
	if !strings.Contains(v, "predictor: 5 of 10 networks measured") {
		t.Errorf("the status line does not say the predictor lacks points:\n%s", v)
	}
}

// The predictor learns BN-as-trained scores: nothing is predicted for recalibrated BN, and
// recalibrated estimates do not teach it.
func TestPredictionNotForRecalibratedBN(t *testing.T) {
	opts, p := predictorOptions(12)
	m := keys(t, sized(t, opts, 120, 40), "B", "j")
	m, cmd := step(t, m, keyMsg("-"))
	if strings.Contains(m.View(), "predicted") {
		t.Errorf("a prediction for recalibrated BN:\n%s", m.View())
	}
	drive(t, m, cmd())
	if obs := p.Observed(); len(obs) != 1 || !obs[0].arch.Equal(opts.Space.Max()) {
		t.Errorf("the predictor observed %d estimates, want only the first one's, made before B", len(obs))
	}
}

// The search's whole-set, BN-as-trained records teach the predictor.
func TestSearchRecordsTeachThePredictor(t *testing.T) {
	opts, p := predictorOptions(12)
	s := newFakeSearcher(16)
	opts.Searcher = s
	m := keys(t, sized(t, opts, 120, 40), "tab", "tab", "s")
	m, cmd := step(t, m, keyMsg("enter")) // the offered budget
	m, wait := step(t, m, cmd())
	before := len(p.Observed())
	a, b := opts.Space.Min(), opts.Space.Max()
	b.Layers[0].Heads = 5
	s.events <- SearchEvent{Kind: SearchEvaluated, Arch: a, Estimate: Estimate{Top1: 61, Images: 25000, Final: true}}
	s.events <- SearchEvent{Kind: SearchEvaluated, Arch: b, Estimate: Estimate{Top1: 70, Images: 25000, Final: true}, RecalibratedBN: true}
	s.events <- SearchEvent{Kind: SearchGeneration}
	s.Stop() // the channel closes after these, so every Cmd returns
	m = drive(t, m, wait())
	obs := p.Observed()[before:]
	if len(obs) != 1 || !obs[0].arch.Equal(a) || obs[0].top1 != 61 {
		t.Errorf("the predictor observed %v, want the BN-as-trained record only", obs)
	}
	if want := fmt.Sprintf("predictor: %d networks", 12+before+1); !strings.HasPrefix(m.pred.status, want) {
		t.Errorf("predictor status %q, want it to count the search's record (%s)", m.pred.status, want)
	}
}

// The real program: the prediction shows with the edit, the measurements replace it, and a
// predictor's notices reach the screen.
func TestFlowPredictedThenMeasured(t *testing.T) {
	opts := testOptions()
	ev := steppedEvaluator{fakeEvaluator{in: opts.Space.Input}, make(chan struct{}, 8)}
	p := newFakePredictor(opts.Space.Input, 12, 10, true)
	opts.Evaluator, opts.Predictor = ev, p
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(80, 24))
	waitText(t, tm, predicted(opts.Space.Max()), "predictor: 12 networks, τ 0.62")
	tm.Type("j-") // supersedes the first evaluation
	waitText(t, tm, afterFirstEdit(), predicted(firstEdit()))
	ev.tokens <- struct{}{}
	waitText(t, tm, "256 img · refin")
	ev.tokens <- struct{}{}
	waitText(t, tm, "25000 img", "predictor: 13 networks, τ 0.62")
	m := finalModel(t, tm)
	if v := m.View(); strings.Contains(v, "predicted") {
		t.Errorf("the prediction outlived the measurement:\n%s", v)
	}
}

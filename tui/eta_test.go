package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// pacedEvaluator takes 2 s of the manual clock per quick estimate and knows its set's size;
// a full estimate runs until cancelled, so the test sees the explorer while it refines.
type pacedEvaluator struct {
	clock  manualClock
	images int
}

func (p pacedEvaluator) Images() int { return p.images }

func (p pacedEvaluator) Evaluate(ctx context.Context, req EvalRequest) (Estimate, error) {
	if req.Limit > 0 {
		*p.clock.t = p.clock.t.Add(2 * time.Second)
		return Estimate{Top1: 50, CI95: 3, Images: req.Limit}, nil
	}
	<-ctx.Done()
	return Estimate{}, ctx.Err()
}

// While the full estimate refines the quick one, the status line says how long it has left,
// from the quick estimate's pace (256 images in 2 s: 5,000 images take 39 s), and counts
// down on each tick; a tick of a superseded evaluation changes nothing.
func TestStatusSaysTimeToFullSubVal(t *testing.T) {
	now := testTime()
	clock := manualClock{&now}
	opts := testOptions()
	opts.Clock = clock
	opts.Evaluator = pacedEvaluator{clock: clock, images: 5000}
	m := New(opts)
	m = drive(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})

	quick := m.evaluate()
	if got := m.status.View(80); strings.Contains(got, "full sub-val") {
		t.Fatalf("quick estimate: status %q already gives a time to the full set", got)
	}
	tm, _ := m.Update(quick())
	m = tm.(Model)
	defer m.eval.cancel()
	if !m.eval.running || m.eval.limit != 0 {
		t.Fatalf("after the quick estimate: running %v, limit %d, want the full estimate running", m.eval.running, m.eval.limit)
	}
	if got := m.status.View(80); !strings.Contains(got, "[eval all images · ≈ 39 s to full sub-val]") {
		t.Errorf("refining: status %q, want ≈ 39 s to full sub-val", got)
	}
	if got := m.View(); !strings.Contains(got, "≈ 39 s to full sub-val") {
		t.Errorf("the 80×24 screen lacks the time to the full set:\n%s", got)
	}

	now = now.Add(10 * time.Second)
	tm, cmd := m.Update(etaTickMsg{gen: m.eval.gen})
	m = tm.(Model)
	if cmd == nil {
		t.Error("a tick while refining does not re-arm")
	}
	if got := m.status.View(80); !strings.Contains(got, "≈ 29 s to full sub-val") {
		t.Errorf("10 s later: status %q, want ≈ 29 s", got)
	}
	if _, cmd := m.Update(etaTickMsg{gen: m.eval.gen - 1}); cmd != nil {
		t.Error("a stale tick re-armed")
	}

	now = now.Add(time.Minute) // slower than the quick estimate's pace: never below 1 s
	tm, _ = m.Update(etaTickMsg{gen: m.eval.gen})
	m = tm.(Model)
	if got := m.status.View(80); !strings.Contains(got, "≈ 1 s to full sub-val") {
		t.Errorf("past the estimate: status %q, want ≈ 1 s", got)
	}
}

// Without the set's size (an evaluator that is no ImageCounter) nothing is guessed.
func TestNoTimeToFullSubValWithoutSetSize(t *testing.T) {
	m := sized(t, testOptions(), 80, 24)
	m.eval.running, m.eval.limit, m.eval.rate = true, 0, 100
	if s := m.etaText(); s != "" {
		t.Errorf("etaText = %q without a set size, want none", s)
	}
}

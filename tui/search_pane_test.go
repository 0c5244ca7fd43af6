package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/resnas/resnas/profiler"
)

// An architecture outside the budget (injected, or left over from a wider budget) is
// scored and plotted, but the pane's best counts only what fits the budget shown.
func TestSearchBestStaysWithinBudget(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	m, wait := startSearch(t, m, "2G 3")
	inside := archUnder(t, m, 2_000_000_000, 1)
	largest := m.opts.Space.Max() // 3.498G, the editor's architecture
	s.events <- scored(inside, 0, 1, 10, 70)
	s.events <- scored(largest, 0, 2, 10, 75) // injected, over the budget
	m, wait = step(t, m, wait())
	view := m.search.View()
	if !strings.Contains(view, "best in budget 70.00%") || strings.Contains(view, "75.00%") {
		t.Errorf("best must be the 70%% architecture within 2G, not the 75%% one of %s MACs:\n%s",
			siCount(profiler.MACs(largest, m.opts.Input)), view)
	}

	// Injecting the editor's 3.498G architecture says it is over the 2G budget.
	m, cmd := step(t, m, keyMsg("i"))
	m, _ = step(t, m, cmd())
	if got := m.status.msg; !strings.Contains(got, "3.498G MACs > 2.000G budget") {
		t.Errorf("inject over the budget says %q", got)
	}

	// A wider budget lets the larger architecture count; a narrower one leaves none.
	m = keys(t, m, "b")
	m.prompt.input.SetValue("4G 3")
	m, cmd = step(t, m, keyMsg("enter"))
	m, _ = step(t, m, cmd())
	if !strings.Contains(m.View(), "best in budget 75.00%") {
		t.Errorf("after widening the budget to 4G the best is not the 75%% architecture:\n%s", m.View())
	}
	m = keys(t, m, "b")
	m.prompt.input.SetValue("1k 3")
	m, cmd = step(t, m, keyMsg("enter"))
	m, _ = step(t, m, cmd())
	if !strings.Contains(m.View(), "best in budget — ") {
		t.Errorf("with a 1k budget nothing fits, yet a best is shown:\n%s", m.View())
	}
	_ = wait
}

// Best and median follow each evaluation, before any generation has finished.
func TestSearchFiguresFollowEachEvaluation(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	m, wait := startSearch(t, m, "3G 3")
	for i, top1 := range []float64{60, 64, 62} {
		s.events <- scored(archUnder(t, m, 3_000_000_000, uint64(i)), 0, i+1, 20, top1)
	}
	m, _ = step(t, m, wait())
	view := m.View()
	for _, want := range []string{"best in budget 64.00%", "gen 1 median 62.00% · 3 evals"} {
		if !strings.Contains(view, want) {
			t.Errorf("after 3 evaluations of generation 1 the view lacks %q:\n%s", want, view)
		}
	}
	if m.search.chart == "" {
		t.Error("the chart waits for a finished generation")
	}
}

// No ETA outlives a running search: paused, stopped and finished searches show none, and a
// finished one counts what it did.
func TestSearchETAOnlyWhileRunning(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	m, wait := startSearch(t, m, "3G 2")
	now = now.Add(time.Minute)
	s.events <- scored(archUnder(t, m, 3_000_000_000, 1), 0, 1, 60, 61)
	s.events <- scored(archUnder(t, m, 3_000_000_000, 2), 0, 2, 60, 62)
	m, wait = step(t, m, wait())
	if !strings.Contains(m.View(), "ETA 29m00s") {
		t.Fatalf("a running search shows no ETA:\n%s", m.View())
	}
	m, cmd := step(t, m, keyMsg("p"))
	m, _ = step(t, m, cmd())
	now = now.Add(time.Minute)
	if v := m.View(); strings.Contains(v, "ETA") || !strings.Contains(v, "2.0 evals/min · paused") {
		t.Errorf("a paused search shows an ETA:\n%s", v)
	}
	m, cmd = step(t, m, keyMsg("p"))
	m, _ = step(t, m, cmd())

	// It finishes early (a budget change dropped candidates): 27 of the planned 60.
	s.events <- SearchEvent{Kind: SearchGeneration, Generation: 1, Done: 27, Total: 60}
	close(s.events)
	s.events = nil
	now = now.Add(time.Minute)
	m, wait = step(t, m, wait())
	m, _ = step(t, m, wait())
	v := m.View()
	if strings.Contains(v, "ETA") || strings.Contains(v, "/60") {
		t.Errorf("a finished search shows an ETA or its stale total:\n%s", v)
	}
	for _, want := range []string{"done · gen 2/2 · 27 evals", "ran 2m00s"} {
		if !strings.Contains(v, want) {
			t.Errorf("a finished search lacks %q:\n%s", want, v)
		}
	}
}

func TestStoppedSearchShowsNoETA(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	m, wait := startSearch(t, m, "3G 2")
	now = now.Add(time.Minute)
	s.events <- scored(archUnder(t, m, 3_000_000_000, 1), 0, 1, 60, 61)
	m, wait = step(t, m, wait())
	m, cmd := step(t, m, keyMsg("x"))
	if v := m.View(); strings.Contains(v, "ETA") {
		t.Errorf("a stopping search shows an ETA:\n%s", v)
	}
	m, _ = step(t, m, cmd())
	m, _ = step(t, m, wait())
	if v := m.View(); strings.Contains(v, "ETA") || !strings.Contains(v, "stopped · gen") {
		t.Errorf("a stopped search shows an ETA:\n%s", v)
	}
}

// A search stopped while paused does not count the pause as running time.
func TestStoppedWhilePausedExcludesThePause(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	m, wait := startSearch(t, m, "3G 2")
	now = now.Add(time.Minute)
	s.events <- scored(archUnder(t, m, 3_000_000_000, 1), 0, 1, 60, 61)
	s.events <- scored(archUnder(t, m, 3_000_000_000, 2), 0, 2, 60, 62)
	m, wait = step(t, m, wait())
	m, cmd := step(t, m, keyMsg("p"))
	m, _ = step(t, m, cmd())
	now = now.Add(10 * time.Minute)
	m, cmd = step(t, m, keyMsg("x"))
	m, _ = step(t, m, cmd())
	m, _ = step(t, m, wait())
	if v := m.search.View(); !strings.Contains(v, "2.0 evals/min · ran 1m00s") {
		t.Errorf("stopped after 1 running minute and a 10-minute pause:\n%s", v)
	}
}

// The searcher may close its channel before Stop's answer arrives; the status line then
// keeps the end of the search, not "stopping".
func TestStopAnswerAfterTheEndKeepsTheEndMessage(t *testing.T) {
	for _, withEvals := range []bool{false, true} {
		now := testTime()
		m, s := searchModel(t, &now)
		m, wait := startSearch(t, m, "3G 2")
		if withEvals {
			s.events <- scored(archUnder(t, m, 3_000_000_000, 1), 0, 1, 60, 61)
			m, wait = step(t, m, wait())
		}
		m, cmd := step(t, m, keyMsg("x"))
		answer := cmd() // Stop closes the channel
		m, _ = step(t, m, wait())
		m, _ = step(t, m, answer)
		status := m.status.View(120)
		if strings.Contains(status, "stopping") || !strings.Contains(status, "search stopped") {
			t.Errorf("with evaluations %v: status %q after the search stopped", withEvals, status)
		}
	}
}

// The engine's warning about unsatisfiable constraints is read whole at common widths.
func TestSearchNoticeWrapsToThePane(t *testing.T) {
	notice := "generation 3: no evaluated architecture satisfies MACs in [7800000, 8000000], so it is sampled at random"
	if got, want := shortCounts(notice), "MACs in [7.800M, 8.000M]"; !strings.Contains(got, want) {
		t.Errorf("shortCounts: %q lacks %q", got, want)
	}
	for _, size := range [][2]int{{80, 24}, {100, 30}, {120, 40}, {160, 24}, {160, 40}} {
		now := testTime()
		s := newFakeSearcher(8)
		opts := testOptions()
		opts.Searcher = s
		opts.Clock = manualClock{&now}
		m := keys(t, sized(t, opts, size[0], size[1]), "tab", "tab")
		m, wait := startSearch(t, m, "8M 5")
		s.events <- SearchEvent{Kind: SearchNotice, Err: errTest(notice)}
		m, _ = step(t, m, wait())
		view := m.View()
		for _, l := range strings.Split(view, "\n") {
			if w := len([]rune(l)); w != size[0] {
				t.Fatalf("%dx%d: line of width %d: %q", size[0], size[1], w, l)
			}
		}
		// Every word shows, in order, across however many lines the pane needs.
		rest := view
		for _, word := range strings.Fields(shortCounts(notice)) {
			i := strings.Index(rest, word)
			if i < 0 {
				t.Errorf("%dx%d: the notice is cut at %q:\n%s", size[0], size[1], word, view)
				break
			}
			rest = rest[i+len(word):]
		}
	}
}

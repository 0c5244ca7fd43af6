package tui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/linechart"
	tea "github.com/charmbracelet/bubbletea"
)

// The search pane: state, budget, progress, best and median top-1 per generation, rate and
// ETA. It takes search events whatever pane has focus (style.md §3 "Background messages
// reach every pane").

type searchState int

const (
	searchIdle searchState = iota
	searchStarting
	searchRunning
	searchPaused
	searchStopping
	searchDone
	searchFailed
)

func (s searchState) String() string {
	return [...]string{"idle", "starting", "running", "paused", "stopping", "done", "failed"}[s]
}

type searchOp int

const (
	opPause searchOp = iota
	opResume
	opStop
	opInject
	opBudget
)

func (o searchOp) String() string {
	return [...]string{"pause", "resume", "stop", "inject", "change budget"}[o]
}

// maxEventsPerBatch bounds how many queued events one message carries, so a fast search
// cannot starve key handling (leet reader.go reads in bounded chunks the same way).
const maxEventsPerBatch = 256

// searchBatchMsg carries the events of run `run` that were waiting, oldest first.
type searchBatchMsg struct {
	run    int
	events []SearchEvent
}

// waitSearch blocks until the search sends something, then takes whatever else is already
// queued, and returns it as one message; Update issues it again after each batch
// (bubbletea examples/realtime). A closed channel ends the run.
func waitSearch(run int, ch <-chan SearchEvent) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return searchDoneMsg{run: run}
		}
		batch := []SearchEvent{ev}
		for len(batch) < maxEventsPerBatch {
			select {
			case ev, ok := <-ch:
				if !ok {
					// The done message follows on the next wait, which sees the channel closed.
					return searchBatchMsg{run: run, events: batch}
				}
				batch = append(batch, ev)
			default:
				return searchBatchMsg{run: run, events: batch}
			}
		}
		return searchBatchMsg{run: run, events: batch}
	}
}

type searchPane struct {
	st         styles
	state      searchState
	run        int // bumps on every start; events of older runs are dropped
	budget     Budget
	generation int // last generation reported finished; -1 before the first
	done       int
	total      int
	best       []float64 // per finished generation
	median     []float64
	started    time.Time
	pausedAt   time.Time
	pausedFor  time.Duration
	perMinute  float64 // evaluations per minute of running time; 0 until known
	eta        time.Duration
	lastNotice string
	stopped    bool // the user stopped it (as opposed to it finishing)
	frontSize  int
	width      int
	height     int
	focused    bool
	chart      string
}

func newSearchPane(st styles) searchPane { return searchPane{st: st, generation: -1} }

func (s *searchPane) Focus() { s.focused = true }
func (s *searchPane) Blur()  { s.focused = false }

func (s *searchPane) SetSize(w, h int) {
	s.width, s.height = w, h
	s.redraw()
}

// active reports whether a search holds the searcher (quitting must ask first).
func (s searchPane) active() bool {
	switch s.state {
	case searchStarting, searchRunning, searchPaused, searchStopping:
		return true
	}
	return false
}

// starting resets the pane for a new run.
func (s *searchPane) starting(b Budget) int {
	*s = searchPane{st: s.st, state: searchStarting, run: s.run + 1, budget: b, generation: -1,
		width: s.width, height: s.height, focused: s.focused, frontSize: s.frontSize}
	s.redraw()
	return s.run
}

func (s *searchPane) begin(now time.Time) {
	s.state = searchRunning
	s.started = now
}

// apply folds a batch of events in; now is the clock when it arrived.
func (s *searchPane) apply(evs []SearchEvent, now time.Time) {
	for _, ev := range evs {
		s.done, s.total = max(s.done, ev.Done), ev.Total // a caught-up summary may trail newer records
		switch ev.Kind {
		case SearchGeneration:
			s.generation = ev.Generation
			s.best = append(s.best, ev.Best)
			s.median = append(s.median, ev.Median)
		case SearchNotice, SearchFailed:
			if ev.Err != nil {
				s.lastNotice = oneLine(ev.Err)
			}
			if ev.Kind == SearchFailed {
				s.state = searchFailed
			}
		}
	}
	s.updateRate(now)
	s.redraw()
}

func (s *searchPane) updateRate(now time.Time) {
	running := now.Sub(s.started) - s.pausedFor
	if s.state == searchPaused {
		running -= now.Sub(s.pausedAt)
	}
	if running < time.Second || s.done == 0 {
		s.perMinute, s.eta = 0, 0
		return
	}
	s.perMinute = float64(s.done) / running.Minutes()
	if left := s.total - s.done; left > 0 {
		s.eta = time.Duration(float64(left) / s.perMinute * float64(time.Minute))
	} else {
		s.eta = 0
	}
}

func (s *searchPane) pause(now time.Time) {
	s.state, s.pausedAt = searchPaused, now
}

func (s *searchPane) resume(now time.Time) {
	if s.state == searchPaused {
		s.pausedFor += now.Sub(s.pausedAt)
	}
	s.state = searchRunning
}

// JobLabel is the search's entry in the status line.
func (s searchPane) JobLabel() string {
	switch s.state {
	case searchStarting:
		return "search starting"
	case searchStopping:
		return "search stopping"
	}
	label := fmt.Sprintf("search gen %d/%d", s.generation+1, s.budget.Generations)
	if s.state == searchPaused {
		label += " paused"
	}
	return label
}

func (s searchPane) View() string {
	if s.state == searchIdle {
		return "No search yet.\n\ns starts an evolutionary search under a\nMACs budget; every candidate it scores\njoins the trade-off plot.\n\nWhile it runs: p pauses/resumes, x stops,\ni injects the editor's architecture,\nb changes the budget."
	}
	var b strings.Builder
	state := s.state.String()
	if s.state == searchDone && s.stopped {
		state = "stopped"
	}
	if s.focused && s.state == searchRunning {
		state = s.st.ok.Render(state)
	}
	fmt.Fprintf(&b, "%s · gen %d/%d · %d/%d evals\n", state, s.generation+1, s.budget.Generations, s.done, s.total)
	maxMACs := "no MACs limit"
	if s.budget.MaxMACs > 0 {
		maxMACs = "≤ " + siCount(s.budget.MaxMACs) + " MACs"
	}
	fmt.Fprintf(&b, "budget %s · %d generations\n", maxMACs, s.budget.Generations)
	if n := len(s.best); n > 0 {
		fmt.Fprintf(&b, "best %.2f%% · median %.2f%% · front %d\n", s.best[n-1], s.median[n-1], s.frontSize)
	} else {
		fmt.Fprintf(&b, "best — · median — · front %d\n", s.frontSize)
	}
	if s.perMinute > 0 {
		eta := "—"
		if s.eta > 0 {
			eta = shortDuration(s.eta)
		}
		fmt.Fprintf(&b, "%.1f evals/min · ETA %s", s.perMinute, eta)
	} else {
		b.WriteString("— evals/min · ETA —")
	}
	if s.lastNotice != "" {
		b.WriteString("\n" + s.st.err.Render("! "+s.lastNotice))
	}
	if s.chart != "" {
		b.WriteString("\n" + s.chart)
	}
	return b.String()
}

// statLines is how many lines View writes above the chart.
func (s searchPane) statLines() int {
	if s.lastNotice != "" {
		return 5
	}
	return 4
}

// redraw draws best (braille line) and median (• runes) per generation.
func (s *searchPane) redraw() {
	s.chart = ""
	h := s.height - s.statLines() - 1 // one line for the legend
	if len(s.best) == 0 || h < 4 || s.width < 20 {
		return
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range s.best {
		lo, hi = min(lo, s.best[i], s.median[i]), max(hi, s.best[i], s.median[i])
	}
	lo, hi = pad(lo, hi, 1)
	n := float64(max(1, len(s.best)-1))
	lc := linechart.New(s.width, h, 0, n, lo, hi,
		linechart.WithXYSteps(8, max(1, (h-2)/2)),
		linechart.WithXLabelFormatter(func(_ int, v float64) string { return fmt.Sprintf("%.0f", v+1) }),
		linechart.WithYLabelFormatter(func(_ int, v float64) string { return fmt.Sprintf("%.1f", v) }),
		linechart.WithStyles(s.st.dim, s.st.dim, s.st.current))
	lc.DrawXYAxisAndLabel()
	for i := range s.best {
		p := canvas.Float64Point{X: float64(i), Y: s.best[i]}
		if i == 0 {
			lc.DrawBrailleLine(p, p)
		} else {
			lc.DrawBrailleLine(canvas.Float64Point{X: float64(i - 1), Y: s.best[i-1]}, p)
		}
	}
	for i := range s.median {
		lc.DrawRuneWithStyle(canvas.Float64Point{X: float64(i), Y: s.median[i]}, '•', s.st.median)
	}
	s.chart = "⣀ best  • median  (x: generation)\n" + lc.View()
}

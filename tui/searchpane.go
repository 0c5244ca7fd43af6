package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/linechart"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/stats"
)

// The search pane: state, budget, progress, best and median top-1 per generation, rate and
// ETA. It takes search events whatever pane has focus (style.md §3 "Background messages
// reach every pane"). It is a bubble with its own key table (searchKeys); steering the
// search goes to the root as a request (searchOpMsg, promptMsg), since the root holds the
// searcher and the architecture to inject.

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
	input      model.Input // for the MACs of evaluated architectures
	clock      Clock
	searcher   bool // a Searcher is configured
	state      searchState
	run        int // bumps on every start; events of older runs are dropped
	budget     Budget
	generation int // last generation reported finished; -1 before the first
	done       int
	total      int
	evals      []searchEval // every evaluation of this run, in arrival order
	stats      searchStats  // derived from evals under the current budget
	started    time.Time
	ended      time.Time // when the run ended; zero while it runs
	pausedAt   time.Time // start of the pause under way; zero when none
	pausedFor  time.Duration
	perMinute  float64 // evaluations per minute of running time; 0 until known
	eta        time.Duration
	lastNotice string
	stopped    bool // the user stopped it (as opposed to it finishing)
	frontSize  int
	workers    []WorkerStatus // of a distributed search, as last reported
	workerMACs []int64        // MACs of each worker's current candidate; 0 when idle
	width      int
	height     int
	focused    bool
	chart      string
	outbox
}

// searchEval is what the pane keeps of one evaluation: enough to recompute best and median
// when the budget changes.
type searchEval struct {
	generation int
	macs       int64 // 0 when the event carried no architecture
	top1       float64
}

// searchStats are the figures the pane shows. The searcher's own summaries rank every
// evaluation, injected ones outside the budget included, and arrive once per generation;
// these follow each evaluation and count only what fits the budget as "best".
type searchStats struct {
	best       []float64 // per generation: best top-1 within budget so far; NaN when none
	median     []float64 // per generation: median top-1 of its evaluations; NaN when none
	bestNow    float64   // best top-1 within budget; NaN when none
	generation int       // generation of the latest evaluation; -1 before the first
	medianNow  float64   // median of that generation so far
	inGen      int       // evaluations of that generation so far
}

func newSearchPane(st styles, in model.Input, clock Clock, searcher bool) searchPane {
	return searchPane{st: st, input: in, clock: clock, searcher: searcher, generation: -1,
		stats: searchStats{bestNow: math.NaN(), generation: -1}}
}

// Update folds in the search's messages, whatever pane has focus, and runs the pane's key
// table while it has focus. Messages of an older run are dropped.
func (s searchPane) Update(msg tea.Msg) (searchPane, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		if !s.focused {
			return s, nil
		}
		_, why, cmd := dispatch(searchKeys(), &s, msg)
		if why != "" {
			s.send(failMsg{why})
		}
		return s, cmd
	case searchStartedMsg:
		if msg.run != s.run {
			break
		}
		if msg.err != nil {
			s.state = searchFailed
			s.lastNotice = oneLine(msg.err)
			break
		}
		s.begin(s.clock.Now())
	case searchBatchMsg:
		if msg.run == s.run {
			s.apply(msg.events, s.clock.Now())
		}
	case searchDoneMsg:
		if msg.run == s.run {
			s.end(s.clock.Now())
		}
	case searchControlMsg:
		if msg.run != s.run || msg.err != nil {
			break
		}
		switch msg.op {
		case opPause:
			s.pause(s.clock.Now())
		case opResume:
			s.resume(s.clock.Now())
		case opBudget:
			s.setBudget(msg.budget)
		}
	}
	return s, nil
}

// Keys is the search pane's key table as help shows it.
func (s searchPane) Keys() []keyGroup { return groupsOf(searchKeys(), s) }

func searchKeys() []category[searchPane] {
	ask := func(k promptKind) func(*searchPane) tea.Cmd {
		return func(s *searchPane) tea.Cmd { s.send(promptMsg{k}); return nil }
	}
	steer := func(op searchOp) func(*searchPane) tea.Cmd {
		return func(s *searchPane) tea.Cmd { s.send(searchOpMsg{op}); return nil }
	}
	return []category[searchPane]{{name: "Search", bindings: []binding[searchPane]{
		bind([]string{"s", "enter"}, "s/enter", "start search", ask(promptStart)).when(searchPane.cannotStart).inFooter(),
		bind([]string{"p", " "}, "p/space", "pause/resume", (*searchPane).pauseResume).when(searchPane.notRunning).inFooter(),
		bind([]string{"x"}, "x", "stop", steer(opStop)).when(searchPane.notRunning).inFooter(),
		bind([]string{"i"}, "i", "inject current arch", steer(opInject)).when(searchPane.notRunning).inFooter(),
		bind([]string{"b"}, "b", "change budget", ask(promptBudget)).when(searchPane.notRunning).inFooter(),
	}}}
}

func (s *searchPane) pauseResume() tea.Cmd {
	if s.state == searchPaused {
		s.send(searchOpMsg{opResume})
	} else {
		s.send(searchOpMsg{opPause})
	}
	return nil
}

// cannotStart says why a search cannot start now, or "".
func (s searchPane) cannotStart() string {
	switch {
	case !s.searcher:
		return "no searcher: start resnas with a checkpoint and validation data"
	case s.active():
		return "a search is already " + s.state.String()
	}
	return ""
}

// notRunning says why the search cannot be steered now, or "".
func (s searchPane) notRunning() string {
	if !s.searcher {
		return "no searcher: start resnas with a checkpoint and validation data"
	}
	if !s.active() || s.state == searchStarting || s.state == searchStopping {
		return "no search is running (s starts one)"
	}
	return ""
}

// SetFront gives the number of points on the plot's Pareto front.
func (s *searchPane) SetFront(n int) { s.frontSize = n }

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
	fresh := newSearchPane(s.st, s.input, s.clock, s.searcher)
	fresh.state, fresh.run, fresh.budget = searchStarting, s.run+1, b
	fresh.width, fresh.height, fresh.focused, fresh.frontSize = s.width, s.height, s.focused, s.frontSize
	*s = fresh
	s.redraw()
	return s.run
}

// stopping marks the run as being stopped, until its events end.
func (s *searchPane) stopping() { s.state = searchStopping }

func (s *searchPane) begin(now time.Time) {
	s.state = searchRunning
	s.started = now
}

// inBudget reports whether an evaluation fits the budget; one without an architecture
// fits only an unconstrained search, since its MACs are unknown.
func (s searchPane) inBudget(e searchEval) bool {
	return s.budget.MaxMACs == 0 || (e.macs > 0 && e.macs <= s.budget.MaxMACs)
}

// apply folds a batch of events in; now is the clock when it arrived.
func (s *searchPane) apply(evs []SearchEvent, now time.Time) {
	for _, ev := range evs {
		s.done = max(s.done, ev.Done) // a caught-up summary may trail newer records
		if ev.Total > 0 {
			s.total = ev.Total
		}
		switch ev.Kind {
		case SearchEvaluated:
			e := searchEval{generation: max(0, ev.Generation), top1: ev.Estimate.Top1}
			if len(ev.Arch.Layers) > 0 {
				e.macs = profiler.MACs(ev.Arch, s.input)
			}
			s.evals = append(s.evals, e)
		case SearchGeneration:
			s.generation = max(s.generation, ev.Generation)
		case SearchWorkers:
			s.workers, s.workerMACs = ev.Workers, make([]int64, len(ev.Workers))
			for i, w := range ev.Workers {
				if a, err := model.ParseArch(w.Current); err == nil {
					s.workerMACs[i] = profiler.MACs(a, s.input)
				}
			}
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
	s.summarize()
	s.redraw()
}

// setBudget changes the budget the figures are measured against.
func (s *searchPane) setBudget(b Budget) {
	s.budget = b
	s.summarize()
	s.redraw()
}

// summarize recomputes best and median from the evaluations.
func (s *searchPane) summarize() {
	st := searchStats{bestNow: math.NaN(), generation: -1, medianNow: math.NaN()}
	gens := 0
	for _, e := range s.evals {
		gens = max(gens, e.generation+1)
	}
	tops := make([][]float64, gens)
	bestOf := make([]float64, gens)
	for g := range bestOf {
		bestOf[g] = math.NaN()
	}
	for _, e := range s.evals {
		tops[e.generation] = append(tops[e.generation], e.top1)
		if g := e.generation; s.inBudget(e) && (math.IsNaN(bestOf[g]) || e.top1 > bestOf[g]) {
			bestOf[g] = e.top1
		}
	}
	for g := range gens {
		if !math.IsNaN(bestOf[g]) && (math.IsNaN(st.bestNow) || bestOf[g] > st.bestNow) {
			st.bestNow = bestOf[g]
		}
		st.best = append(st.best, st.bestNow)
		st.median = append(st.median, stats.Median(tops[g]))
	}
	if n := len(s.evals); n > 0 {
		st.generation = s.evals[n-1].generation
		st.medianNow = st.median[st.generation]
		st.inGen = len(tops[st.generation])
	}
	s.stats = st
}

// runningTime is how long the search has run, pauses excluded.
func (s searchPane) runningTime(now time.Time) time.Duration {
	if !s.ended.IsZero() {
		now = s.ended
	}
	running := now.Sub(s.started) - s.pausedFor
	if !s.pausedAt.IsZero() {
		running -= now.Sub(s.pausedAt)
	}
	return running
}

func (s *searchPane) updateRate(now time.Time) {
	running := s.runningTime(now)
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
	if s.state == searchRunning {
		s.state, s.pausedAt = searchPaused, now
	}
}

func (s *searchPane) resume(now time.Time) {
	if s.state == searchPaused {
		s.state = searchRunning
		s.endPause(now)
	}
}

// endPause adds the pause under way, if any, to the time spent paused. A search stopped
// while paused ends its pause this way too, though its state went to stopping.
func (s *searchPane) endPause(now time.Time) {
	if !s.pausedAt.IsZero() {
		s.pausedFor += now.Sub(s.pausedAt)
		s.pausedAt = time.Time{}
	}
}

// end records how the run ended. A finished search did every evaluation it was going to,
// so its count is the total (a budget change drops candidates, leaving the planned total
// stale).
func (s *searchPane) end(now time.Time) {
	s.endPause(now)
	s.stopped = s.state == searchStopping
	if s.state != searchFailed {
		s.state = searchDone
	}
	s.ended = now
	if s.state == searchDone && !s.stopped {
		s.total = s.done
	}
	s.updateRate(now)
	s.eta = 0
	s.redraw()
}

// currentGeneration is the 1-based generation under way, or the last one reached once the
// search has ended; the median line names the same numbers.
func (s searchPane) currentGeneration() int {
	if !s.active() {
		return max(s.generation+1, s.stats.generation+1)
	}
	g := max(s.generation+2, s.stats.generation+1)
	if n := s.budget.Generations; n > 0 {
		g = min(g, n)
	}
	return g
}

// JobLabel is the search's entry in the status line.
func (s searchPane) JobLabel() string {
	switch s.state {
	case searchStarting:
		return "search starting"
	case searchStopping:
		return "search stopping"
	}
	label := fmt.Sprintf("search gen %d/%d", s.currentGeneration(), s.budget.Generations)
	if s.state == searchPaused {
		label += " paused"
	}
	return label
}

// percent prints a top-1 figure, or "—" when there is none.
func percent(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.2f%%", v)
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
	if s.active() {
		fmt.Fprintf(&b, "%s · gen %d/%d · %d/%d evals\n", state, s.currentGeneration(), s.budget.Generations, s.done, s.total)
	} else {
		// An ended search has no planned total left to compare with.
		fmt.Fprintf(&b, "%s · gen %d/%d · %d evals\n", state, s.currentGeneration(), s.budget.Generations, s.done)
	}
	maxMACs := "no MACs limit"
	if s.budget.MaxMACs > 0 {
		maxMACs = "≤ " + siCount(s.budget.MaxMACs) + " MACs"
	}
	fmt.Fprintf(&b, "budget %s · %d generations\n", maxMACs, s.budget.Generations)
	fmt.Fprintf(&b, "best in budget %s · front %d\n", percent(s.stats.bestNow), s.frontSize)
	if s.stats.generation >= 0 {
		fmt.Fprintf(&b, "gen %d median %s · %d evals\n", s.stats.generation+1, percent(s.stats.medianNow), s.stats.inGen)
	} else {
		b.WriteString("median —\n")
	}
	b.WriteString(s.rateView())
	for _, l := range s.workerLines() {
		b.WriteString("\n" + l)
	}
	for _, l := range s.noticeLines() {
		b.WriteString("\n" + s.st.err.Render(l))
	}
	if s.chart != "" {
		b.WriteString("\n" + s.chart)
	}
	return b.String()
}

// rateView is the rate, then the ETA while the search runs and its state or running time
// otherwise, so no ETA outlives the run it estimates.
func (s searchPane) rateView() string {
	rate := "— evals/min"
	if s.perMinute > 0 {
		rate = fmt.Sprintf("%.1f evals/min", s.perMinute)
	}
	switch s.state {
	case searchRunning:
		eta := "—"
		if s.eta > 0 {
			eta = shortDuration(s.eta)
		}
		return rate + " · ETA " + eta
	case searchPaused, searchStopping, searchStarting:
		return rate + " · " + s.state.String()
	}
	if s.ended.IsZero() || s.started.IsZero() {
		return rate
	}
	return rate + " · ran " + shortDuration(s.runningTime(s.ended))
}

// shortCounts writes the whole numbers of four digits or more in text as the pane writes
// counts, so the engine's "MACs in [7800000, 8000000]" reads "MACs in [7.800M, 8.000M]".
func shortCounts(text string) string {
	var b strings.Builder
	for i := 0; i < len(text); {
		j := i
		for j < len(text) && text[j] >= '0' && text[j] <= '9' {
			j++
		}
		if j == i {
			b.WriteByte(text[i])
			i++
			continue
		}
		// Only whole numbers: not the digits of a decimal such as 0.9750.
		whole := (i == 0 || text[i-1] != '.') && (j == len(text) || text[j] != '.')
		if v, err := strconv.ParseInt(text[i:j], 10, 64); err == nil && whole && j-i >= 4 {
			b.WriteString(siCount(v))
		} else {
			b.WriteString(text[i:j])
		}
		i = j
	}
	return b.String()
}

// maxNoticeLines bounds the notice, which is wrapped to the pane rather than cut off.
const maxNoticeLines = 4

func (s searchPane) noticeLines() []string {
	if s.lastNotice == "" {
		return nil
	}
	lines := strings.Split(ansi.Wrap("! "+shortCounts(s.lastNotice), max(1, s.width), " "), "\n")
	if len(lines) > maxNoticeLines {
		lines = lines[:maxNoticeLines]
		lines[maxNoticeLines-1] = ansi.Truncate(lines[maxNoticeLines-1], max(1, s.width-1), "") + "…"
	}
	return lines
}

// maxWorkerLines bounds the worker list; the rest are counted on its last line.
const maxWorkerLines = 4

// workerLines lists the workers of a distributed search: name, device, evaluations per
// minute, the candidate under way and, for one that stopped answering, how long ago it was
// last heard (its work has moved on to the others).
func (s searchPane) workerLines() []string {
	if len(s.workers) == 0 {
		return nil
	}
	now := s.clock.Now()
	lines := []string{fmt.Sprintf("workers %d", len(s.workers))}
	for i, w := range s.workers {
		if i == maxWorkerLines-1 && len(s.workers) > maxWorkerLines {
			lines = append(lines, fmt.Sprintf(" … and %d more", len(s.workers)-i))
			break
		}
		what := "idle"
		if s.workerMACs[i] > 0 {
			what = "on " + siCount(s.workerMACs[i])
		}
		l := fmt.Sprintf(" %s %s %.1f/min %s · seen %s ago", w.Name, w.Device, w.PerMinute, what, shortDuration(max(0, now.Sub(w.LastSeen))))
		if w.Refused != "" {
			l = s.st.err.Render(fmt.Sprintf(" %s %s refuses: %s", w.Name, w.Device, w.Refused))
		}
		if w.Silent {
			l = s.st.err.Render(fmt.Sprintf(" %s %s silent %s: its work moved on", w.Name, w.Device, shortDuration(max(0, now.Sub(w.LastSeen)))))
		}
		lines = append(lines, ansi.Truncate(l, max(1, s.width), "…"))
	}
	return lines
}

// statLines is how many lines View writes above the chart.
func (s searchPane) statLines() int { return 5 + s.workerLineCount() + len(s.noticeLines()) }

// workerLineCount is len(s.workerLines()) without rendering them: a title and a line a worker,
// the last of maxWorkerLines standing for the rest.
func (s searchPane) workerLineCount() int {
	if len(s.workers) == 0 {
		return 0
	}
	return 1 + min(len(s.workers), maxWorkerLines)
}

// redraw draws best within budget (braille line) and median (• runes) per generation.
func (s *searchPane) redraw() {
	s.chart = ""
	h := s.height - s.statLines() - 1 // one line for the legend
	best, med := s.stats.best, s.stats.median
	if len(best) == 0 || h < 4 || s.width < 20 {
		return
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range best {
		for _, v := range []float64{best[i], med[i]} {
			if !math.IsNaN(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 0) {
		return
	}
	lo, hi = pad(lo, hi, 1)
	n := float64(max(1, len(best)-1))
	lc := linechart.New(s.width, h, 0, n, lo, hi,
		linechart.WithXYSteps(8, max(1, (h-2)/2)),
		linechart.WithXLabelFormatter(func(_ int, v float64) string { return fmt.Sprintf("%.0f", v+1) }),
		linechart.WithYLabelFormatter(func(_ int, v float64) string { return fmt.Sprintf("%.1f", v) }),
		linechart.WithStyles(s.st.dim, s.st.dim, s.st.current))
	lc.DrawXYAxisAndLabel()
	for i := range best {
		if math.IsNaN(best[i]) {
			continue
		}
		p := canvas.Float64Point{X: float64(i), Y: best[i]}
		if i == 0 || math.IsNaN(best[i-1]) {
			lc.DrawBrailleLine(p, p)
		} else {
			lc.DrawBrailleLine(canvas.Float64Point{X: float64(i - 1), Y: best[i-1]}, p)
		}
	}
	for i := range med {
		if !math.IsNaN(med[i]) {
			lc.DrawRuneWithStyle(canvas.Float64Point{X: float64(i), Y: med[i]}, '•', s.st.median)
		}
	}
	s.chart = "⣀ best  • median  (x: generation)\n" + lc.View()
}

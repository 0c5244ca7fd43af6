package tui

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
)

// The root's actions (lazygit's "helpers"): what the global keys do, what the panes'
// requests ask for, and the answers of background work. They act on the state the panes
// share: the architecture and its undo history, the evaluations, the services, the status
// line and the prompt. Each runs inside Update: it changes the model and returns the Cmd
// that does the slow part. What a pane does alone is in the pane's file.

// maxUndo bounds the undo history; older changes are forgotten.
const maxUndo = 1000

// setArch makes a the current architecture, remembering the old one for undo.
func (m *Model) setArch(a model.Arch, note string) tea.Cmd {
	if a.Equal(m.arch) {
		if note != "" {
			m.status.info(note + ": already shown")
		}
		return nil
	}
	m.undo = append(m.undo, m.arch)
	if len(m.undo) > maxUndo {
		m.undo = slices.Delete(m.undo, 0, len(m.undo)-maxUndo)
	}
	m.redo = nil
	return m.show(a, note)
}

// show displays a and starts its evaluation.
func (m *Model) show(a model.Arch, note string) tea.Cmd {
	m.prev, m.arch = m.arch, a
	m.editor.SetArch(a)
	m.recost()
	m.repredict()
	if note != "" {
		m.status.info(note)
	}
	return m.evaluate()
}

func (m *Model) undoArch() tea.Cmd {
	a := m.undo[len(m.undo)-1]
	m.undo = m.undo[:len(m.undo)-1]
	m.redo = append(m.redo, m.arch)
	return m.show(a, "undone")
}

func (m *Model) redoArch() tea.Cmd {
	a := m.redo[len(m.redo)-1]
	m.redo = m.redo[:len(m.redo)-1]
	m.undo = append(m.undo, m.arch)
	return m.show(a, "redone")
}

// Evaluation: a quick estimate on a few images, then the whole sub-val set. Each change of
// architecture or BN mode bumps the generation and cancels the running evaluation; results
// of an old generation still fill the cache, but never the screen.

func (m *Model) evaluate() tea.Cmd {
	if m.eval.cancel != nil {
		m.eval.cancel()
		m.eval.cancel = nil
	}
	m.eval.gen++
	m.eval.running, m.eval.err = false, ""
	m.status.finish(jobEval)
	if m.opts.Evaluator == nil {
		return nil
	}
	est, ok := m.eval.cache[m.currentKey()]
	if ok && est.Final {
		return nil
	}
	limit := m.opts.QuickImages
	if ok {
		limit = 0 // a quick estimate is known already: refine it
	}
	return m.startEval(limit)
}

func (m *Model) startEval(limit int) tea.Cmd {
	if m.eval.cancel != nil {
		m.eval.cancel()
	}
	ctx, cancel := context.WithCancel(m.ctx)
	m.eval.cancel, m.eval.running, m.eval.limit = cancel, true, limit
	m.eval.started = m.opts.Clock.Now()
	m.status.start(jobEval, m.evalLabel())
	req := EvalRequest{Arch: m.arch.Clone(), Limit: limit, RecalibrateBN: m.bnRecal}
	gen, key, ev, clock := m.eval.gen, m.currentKey(), m.opts.Evaluator, m.opts.Clock
	run := func() tea.Msg {
		t0 := clock.Now()
		est, err := ev.Evaluate(ctx, req)
		return evalResultMsg{gen: gen, key: key, arch: req.Arch, est: est, err: err, seconds: clock.Now().Sub(t0).Seconds()}
	}
	if m.etaText() == "" {
		return run
	}
	return tea.Batch(run, etaTick(gen))
}

// A full estimate of a big supernet on the CPU takes minutes: while it runs, the status line
// says "≈ N s to full sub-val", from the pace of the quick estimate before it, and counts
// down once a second.

// minTimed is the shortest evaluation whose time says something of the pace: a cached
// answer comes back at once.
const minTimed = 0.05

// etaText is the time left to the full estimate under way, or "" when none runs or the pace
// or the set's size is unknown.
func (m Model) etaText() string {
	ic, ok := m.opts.Evaluator.(ImageCounter)
	if !ok || !m.eval.running || m.eval.limit != 0 || m.eval.rate <= 0 {
		return ""
	}
	total := ic.Images()
	if total <= 0 {
		return ""
	}
	left := float64(total)/m.eval.rate - m.opts.Clock.Now().Sub(m.eval.started).Seconds()
	return fmt.Sprintf("≈ %d s to full sub-val", max(1, int(math.Round(left))))
}

// evalLabel is the status line's entry for the running evaluation.
func (m Model) evalLabel() string {
	if eta := m.etaText(); eta != "" {
		return "eval " + imagesText(m.eval.limit) + " · " + eta
	}
	return "eval " + imagesText(m.eval.limit)
}

func etaTick(gen int) tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return etaTickMsg{gen} })
}

func (m *Model) onETATick(msg etaTickMsg) tea.Cmd {
	if msg.gen != m.eval.gen || m.etaText() == "" {
		return nil // another evaluation, or this one is over
	}
	m.status.start(jobEval, m.evalLabel())
	return etaTick(msg.gen)
}

func (m *Model) onEval(msg evalResultMsg) tea.Cmd {
	if msg.err == nil && m.remember(msg.key, msg.arch, msg.est, "editor") {
		m.refreshPlot()
	}
	if msg.gen != m.eval.gen {
		return nil // an edit superseded it
	}
	m.eval.running = false
	m.status.finish(jobEval)
	if msg.err == nil && msg.seconds >= minTimed && msg.est.Images > 0 {
		m.eval.rate = float64(msg.est.Images) / msg.seconds
	}
	if msg.err != nil {
		if !errors.Is(msg.err, context.Canceled) {
			m.eval.err = oneLine(msg.err)
			m.status.fail("evaluation: " + m.eval.err)
		}
		return nil
	}
	// Refine unless the cache already holds a final estimate (an earlier, superseded
	// evaluation of this very architecture may have delivered one meanwhile).
	if !m.eval.cache[m.currentKey()].Final {
		return m.startEval(0)
	}
	if m.eval.cancel != nil {
		m.eval.cancel()
		m.eval.cancel = nil
	}
	return nil
}

// remember caches an estimate, keeping the better-founded of two, and puts final ones in
// the history. It reports whether the history changed; the caller then redraws the plot,
// once per batch of results.
func (m *Model) remember(k evalKey, a model.Arch, est Estimate, source string) bool {
	if old, ok := m.eval.cache[k]; ok && (old.Final && !est.Final || !old.Final && !est.Final && old.Images > est.Images) {
		return false
	}
	m.eval.cache[k] = est
	if !est.Final {
		return false
	}
	macs, params := profiler.Count(a, m.opts.Input)
	return m.hist.add(point{key: k.arch, arch: a, source: source, macs: macs, params: params, est: est, bn: k.bn})
}

func (m *Model) refreshPlot() {
	m.plot.SetData(m.hist.points, m.rates, m.currentKey())
	m.search.SetFront(m.plot.Front())
}

func (m *Model) toggleBN() tea.Cmd {
	m.bnRecal = !m.bnRecal
	m.refreshPlot()
	if m.bnRecal {
		m.status.info("BN statistics are recalibrated for each sub-network")
	} else {
		m.status.info("BN uses the supernet's statistics")
	}
	return m.evaluate()
}

func (m *Model) measure() tea.Cmd {
	k, a, t, ctx := m.keyOf(m.arch), m.arch.Clone(), m.opts.Throughput, m.ctx
	m.measuring = k
	m.status.start(jobThroughput, "measuring throughput")
	return func() tea.Msg {
		r, err := t.Measure(ctx, a)
		return throughputMsg{key: k, rate: r, err: err}
	}
}

func (m *Model) onThroughput(msg throughputMsg) {
	m.measuring = ""
	m.status.finish(jobThroughput)
	if msg.err != nil {
		if !errors.Is(msg.err, context.Canceled) {
			m.status.fail("throughput: " + oneLine(msg.err))
		}
		return
	}
	m.rates[msg.key] = msg.rate
	m.refreshPlot()
	m.status.info(fmt.Sprintf("throughput %.1f img/s (spread %.0f%% over repeats)", msg.rate.ImagesPerSec, 100*msg.rate.Spread))
}

// Panes and help.

func (m *Model) focusTo(p pane) {
	m.editor.Blur()
	m.plot.Blur()
	m.search.Blur()
	m.focus = p
	switch p {
	case paneEditor:
		m.editor.Focus()
	case panePlot:
		m.plot.Focus()
		m.side = p
	case paneSearch:
		m.search.Focus()
		m.side = p
	}
}

func (m *Model) focusNext() tea.Cmd { m.focusTo((m.focus + 1) % paneCount); return nil }
func (m *Model) focusPrev() tea.Cmd { m.focusTo((m.focus + paneCount - 1) % paneCount); return nil }
func (m *Model) toggleHelp() tea.Cmd {
	m.showHelp = !m.showHelp
	return nil
}

// back is esc: drop the plot selection, else return to the editor, else clear the message.
func (m *Model) back() tea.Cmd {
	switch {
	case m.focus == panePlot && m.plot.HasSelection():
		m.plot.ClearSelection()
	case m.focus != paneEditor:
		m.focusTo(paneEditor)
	default:
		m.status.clearMessage()
	}
	return nil
}

func (m *Model) requestQuit() tea.Cmd {
	if m.search.active() {
		m.confirmQuit = true
		return nil
	}
	m.cancel()
	return tea.Quit
}

// Trade-off plot.

// loadPoint loads a point of the plot into the editor.
func (m *Model) loadPoint(p point) tea.Cmd {
	if p.bn != m.bnRecal {
		m.bnRecal = p.bn // show the estimate the point was plotted with
	}
	return m.setArch(p.arch.Clone(), fmt.Sprintf("loaded %s MACs, %.2f%% (%s)", siCount(p.macs), p.est.Top1, p.source))
}

// Clipboard.

func (m *Model) yank() tea.Cmd {
	text := m.arch.String()
	m.lastYank = text
	m.status.info("network_def yanked (P pastes it)")
	if m.opts.CopyText == nil {
		return nil
	}
	copyText := m.opts.CopyText
	return func() tea.Msg { return clipboardMsg{err: copyText(text)} }
}

// Search.

// openPrompt asks a question in the footer, offering the likely answer.
func (m *Model) openPrompt(k promptKind) tea.Cmd {
	switch k {
	case promptPaste:
		m.prompt = newPrompt(k, "network_def>", m.lastYank, m.width)
	case promptStart:
		m.prompt = newPrompt(k, "start search · max MACs or % of largest [generations]>",
			fmt.Sprintf("%s %d", budgetText(m.macs, m.maxMACs), m.opts.Generations), m.width)
	case promptBudget:
		b := m.search.budget
		m.prompt = newPrompt(k, "new budget · max MACs or % of largest [generations]>",
			fmt.Sprintf("%s %d", budgetText(b.MaxMACs, m.maxMACs), b.Generations), m.width)
	case promptExport:
		m.prompt = newPrompt(k, "export to folder>", m.lastDir, m.width)
	}
	return nil
}

func (m *Model) startSearch(b Budget) tea.Cmd {
	if m.focus == paneEditor {
		m.side = paneSearch // the right column shows the search started from the editor
	}
	run := m.search.starting(b)
	m.status.start(jobSearch, m.search.JobLabel())
	s, ctx := m.opts.Searcher, m.ctx
	return func() tea.Msg {
		ch, err := s.Start(ctx, b)
		return searchStartedMsg{run: run, budget: b, events: ch, err: err}
	}
}

func (m *Model) onSearchStarted(msg searchStartedMsg) tea.Cmd {
	if msg.run != m.search.run {
		return nil
	}
	// The search pane has taken the message already (broadcast).
	if msg.err != nil {
		m.status.finish(jobSearch)
		m.status.fail("search: " + oneLine(msg.err))
		return nil
	}
	m.events = msg.events
	m.status.start(jobSearch, m.search.JobLabel())
	m.status.info("search started")
	if m.quitting {
		return tea.Batch(m.control(opStop, Budget{}), waitSearch(msg.run, msg.events))
	}
	return waitSearch(msg.run, msg.events)
}

func (m *Model) onSearchBatch(msg searchBatchMsg) tea.Cmd {
	if msg.run != m.search.run {
		return nil
	}
	changed := false
	for _, ev := range msg.events {
		if ev.Kind != SearchEvaluated || len(ev.Arch.Layers) == 0 {
			continue
		}
		k := m.keyOf(ev.Arch)
		if _, measured := m.rates[k]; ev.ImagesPerSec > 0 && !measured {
			m.rates[k] = Rate{ImagesPerSec: ev.ImagesPerSec}
			changed = true
		}
		changed = m.remember(evalKey{k, ev.RecalibratedBN}, ev.Arch, ev.Estimate, "search") || changed
	}
	if changed {
		m.refreshPlot() // and the search pane's front size with it
	}
	if m.search.active() {
		m.status.start(jobSearch, m.search.JobLabel())
	}
	return waitSearch(msg.run, m.events)
}

func (m *Model) onSearchDone(msg searchDoneMsg) tea.Cmd {
	if msg.run != m.search.run {
		return nil
	}
	m.events = nil
	m.status.finish(jobSearch)
	what := "finished"
	if m.search.stopped {
		what = "stopped"
	}
	switch best := m.search.stats.bestNow; {
	case m.search.state == searchFailed:
		m.status.fail("search failed: " + m.search.lastNotice)
	case !math.IsNaN(best):
		m.status.info(fmt.Sprintf("search %s: best in budget %.2f%% after %d evaluations", what, best, m.search.done))
	default:
		m.status.info(fmt.Sprintf("search %s after %d evaluations, none within the budget", what, m.search.done))
	}
	if m.quitting {
		return tea.Quit
	}
	return nil
}

// control sends one command to the running search.
func (m *Model) control(op searchOp, b Budget) tea.Cmd {
	s, run, a, macs := m.opts.Searcher, m.search.run, m.arch.Clone(), m.macs
	if op == opStop {
		if !m.search.active() {
			return nil
		}
		m.search.stopping()
		m.status.start(jobSearch, m.search.JobLabel())
	}
	return func() tea.Msg {
		var err error
		switch op {
		case opPause:
			err = s.Pause()
		case opResume:
			err = s.Resume()
		case opStop:
			err = s.Stop()
		case opInject:
			err = s.Inject(a)
		case opBudget:
			err = s.SetBudget(b)
		}
		return searchControlMsg{run: run, op: op, budget: b, macs: macs, err: err}
	}
}

func (m *Model) onSearchControl(msg searchControlMsg) {
	if msg.run != m.search.run {
		return
	}
	if msg.err != nil {
		m.status.fail(msg.op.String() + ": " + oneLine(msg.err))
		return
	}
	switch msg.op { // the search pane has taken the message already (broadcast)
	case opPause:
		m.status.info("search paused (p resumes)")
	case opResume:
		m.status.info("search resumed")
	case opInject:
		if limit := m.search.budget.MaxMACs; limit > 0 && msg.macs > limit {
			// The search scores it, but it can neither be the best nor breed.
			m.status.info(fmt.Sprintf("injected %s MACs > %s budget: scored, never best", siCount(msg.macs), siCount(limit)))
		} else {
			m.status.info("current architecture injected into the search")
		}
	case opBudget:
		m.status.info("search budget changed")
	case opStop:
		// The search may have ended before its answer came; the end's message stays then.
		if m.search.state == searchStopping {
			m.status.info("stopping the search…")
		}
	}
	if m.search.active() {
		m.status.start(jobSearch, m.search.JobLabel())
	}
}

// Export.

func (m *Model) export(dir string) tea.Cmd {
	m.lastDir = dir
	j := exportJob{
		dir:      dir,
		exporter: m.opts.Exporter,
		rec: SubnetRecord{Arch: m.arch.Clone(), Checkpoint: m.opts.CheckpointName, Input: m.opts.Input,
			MACs: m.macs, Params: m.params, Estimate: m.eval.cache[m.currentKey()], BNRecalibrated: m.bnRecal,
			Rate: m.rates[m.keyOf(m.arch)]},
		pts:         slices.Clone(m.hist.points),
		rates:       maps.Clone(m.rates),
		front:       slices.Clone(m.plot.front),
		current:     m.currentKey(),
		xThroughput: m.plot.xThroughput,
		title:       strings.TrimSpace(m.opts.Space.Name + " " + m.opts.CheckpointName),
	}
	m.status.start(jobExport, "exporting to "+dir)
	return j.cmd(m.ctx)
}

func (m *Model) onExport(msg exportDoneMsg) {
	m.status.finish(jobExport)
	if msg.err != nil {
		m.status.fail(oneLine(msg.err))
		return
	}
	note := fmt.Sprintf("exported %d files to %s", len(msg.files), msg.dir)
	if m.opts.Exporter == nil {
		note += " (plot and history only: no sub-network exporter)"
	}
	m.status.info(note)
}

// submitPrompt acts on the open prompt's text; on bad input the prompt stays open and says
// what is wrong.
func (m *Model) submitPrompt() tea.Cmd {
	text := strings.TrimSpace(m.prompt.input.Value())
	switch m.prompt.kind {
	case promptPaste:
		a, err := model.ParseArchAny(text)
		if err == nil {
			a, err = m.opts.Space.Fit(a)
		}
		if err != nil {
			m.status.fail(oneLine(err))
			return nil
		}
		m.prompt = prompt{}
		m.status.clearMessage()
		return m.setArch(a, "pasted network_def")
	case promptStart, promptBudget:
		b, why := parseBudget(text, m.opts.Generations, m.maxMACs)
		if why != "" {
			m.status.fail(why)
			return nil
		}
		kind := m.prompt.kind
		m.prompt = prompt{}
		if kind == promptStart {
			return m.startSearch(b)
		}
		return m.control(opBudget, b)
	case promptExport:
		if text == "" {
			m.status.fail("name a folder to export to")
			return nil
		}
		m.prompt = prompt{}
		return m.export(text)
	}
	m.prompt = prompt{}
	return nil
}

// oneLine keeps the first line of an error, for the one-line status.
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

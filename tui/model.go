// Package tui is resnas's explorer: edit a sub-network of the supernet and watch its MACs,
// parameters and accuracy estimate follow, compare every evaluated architecture on a
// trade-off plot, steer an evolutionary search, and export what you pick.
//
// It follows the Elm architecture of Bubble Tea: Update alone changes state and never
// blocks; evaluations, measurements, searches and exports run in tea.Cmds and come back as
// messages (style.md §3). Only main imports this package; it passes the engines in through
// Options (services.go).
package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
)

type pane int

const (
	paneEditor pane = iota
	panePlot
	paneSearch
	paneCount
)

func (p pane) String() string {
	return [...]string{"Architecture", "Trade-off", "Search"}[p]
}

// Layout constants.
const (
	metricsLines  = 7  // lines of figures above the editor rows
	stackMinBody  = 30 // body rows from which plot and search are both shown
	narrowWidth   = 72 // below this, only the focused pane is shown
	minLeftWidth  = 40
	maxLeftWidth  = 54
	defaultQuick  = 256
	defaultGens   = 20
	defaultExport = "resnas-export"
)

// Model is the explorer's root: layout, focus, routing and the state the panes share. The
// panes (editor, plot, search) are bubbles with their own Update and key table; the root
// gives every pane the background messages and the focused one the keys, and applies what
// their keys request (messages.go).
type Model struct {
	opts   Options
	st     styles
	ctx    context.Context
	cancel context.CancelFunc

	width, height int
	focus         pane
	side          pane // plot or search: the right column when only one fits
	showHelp      bool
	prompt        prompt
	confirmQuit   bool
	quitting      bool // stopping the search, then quitting
	forceQuit     bool

	arch       model.Arch
	undo, redo []model.Arch
	prev       model.Arch // the architecture before the last change; zero Layers when none
	macs       int64
	params     int64
	maxMACs    int64
	maxParams  int64
	prevMACs   int64
	prevParams int64

	editor editor
	plot   plot
	search searchPane
	status statusLine

	eval      evalState
	pred      predState
	cmp       compareState // the current architecture against the previous one and the selection
	hist      history
	rates     map[string]Rate
	measuring string // key of the architecture being measured; "" when none
	bnRecal   bool
	events    <-chan SearchEvent
	lastDir   string // export folder offered next
	lastYank  string // network_def offered by P
}

// evalKey identifies one estimate: an architecture in one BN mode.
type evalKey = histKey

type evalState struct {
	gen     int
	cancel  context.CancelFunc
	running bool
	limit   int // images asked of the running evaluation; 0 = all
	cache   map[evalKey]Estimate
	err     string
	rate    float64   // images/s of the last timed evaluation; 0: not known
	started time.Time // when the running evaluation started, by the Clock
}

// predState is what the predictor said last: of the current architecture, and of itself.
type predState struct {
	arch      string // keyOf the architecture predicted
	mean, std float64
	ok        bool
	status    string // Predictor.Status
}

// New builds the explorer. Options.Space must be set.
func New(opts Options) Model {
	if opts.Space == nil {
		panic("tui: Options.Space is nil")
	}
	if opts.Input == (model.Input{}) {
		opts.Input = opts.Space.Input
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.QuickImages <= 0 {
		opts.QuickImages = defaultQuick
	}
	if opts.Generations <= 0 {
		opts.Generations = defaultGens
	}
	if opts.ExportDir == "" {
		opts.ExportDir = defaultExport
	}
	parent := opts.Context
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	st := newStyles()
	m := Model{
		opts:    opts,
		st:      st,
		ctx:     ctx,
		cancel:  cancel,
		side:    panePlot,
		plot:    plot{st: st},
		search:  newSearchPane(st, opts.Input, opts.Clock, opts.Searcher != nil),
		status:  statusLine{st: st},
		eval:    evalState{cache: map[evalKey]Estimate{}},
		hist:    newHistory(),
		rates:   map[string]Rate{},
		lastDir: opts.ExportDir,
	}
	largest := opts.Space.Max()
	m.maxMACs, m.maxParams = profiler.Count(largest, opts.Input)
	m.arch = largest
	if len(opts.Initial.Layers) > 0 {
		a, err := opts.Space.Fit(opts.Initial)
		if err != nil {
			m.status.fail("initial architecture: " + err.Error() + "; showing the largest")
		} else {
			m.arch = a
		}
	}
	m.editor = newEditor(st, opts.Space, opts.Input, m.arch)
	m.editor.SetPresets(fittingPresets(opts), opts.Seed)
	m.editor.Focus()
	m.recost()
	m.repredict()
	return m
}

// fittingPresets lists the reference architectures that belong to the space, then the
// caller's that do.
func fittingPresets(opts Options) []Preset {
	ps := opts.Space.Presets()
	for _, p := range opts.Presets {
		if fit, err := opts.Space.Fit(p.Arch); err == nil {
			ps = append(ps, Preset{Name: p.Name, Arch: fit})
		}
	}
	return ps
}

// Arch is the architecture in the editor.
func (m Model) Arch() model.Arch { return m.arch.Clone() }

// SearchActive reports whether a search was still running when the program ended.
func (m Model) SearchActive() bool { return m.search.active() }

// SearchOutcome says how the last search ended: "" when none started, else "finished",
// "stopped", "failed" or, if the program ended first, "running". main uses it to tell the
// user that a journal can resume the search.
func (m Model) SearchOutcome() string {
	switch {
	case m.search.run == 0:
		return ""
	case m.search.active():
		return "running"
	case m.search.state == searchFailed:
		return "failed"
	case m.search.stopped:
		return "stopped"
	}
	return "finished"
}

// Filter is for tea.WithFilter: a tea.QuitMsg from outside (SIGTERM) while a search runs
// becomes a request to stop the search first, so its journal is flushed before the program
// ends (bubbletea examples/prevent-quit).
func Filter(tm tea.Model, msg tea.Msg) tea.Msg {
	if _, ok := msg.(tea.QuitMsg); !ok {
		return msg
	}
	m, ok := tm.(Model)
	if !ok || m.forceQuit || !m.search.active() {
		return msg
	}
	return stopAndQuitMsg{}
}

// stopAndQuitMsg asks to stop the search and quit once it has ended.
type stopAndQuitMsg struct{}

// Init starts the first evaluation.
func (m Model) Init() tea.Cmd {
	return func() tea.Msg { return initMsg{} }
}

// initMsg lets Update start the first evaluation, since Init cannot change the model.
type initMsg struct{}

// Update applies one message. It never blocks.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	var paneCmd tea.Cmd
	if _, ok := msg.(tea.KeyMsg); !ok {
		paneCmd = m.broadcast(msg)
	}
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case initMsg:
		cmd = tea.Batch(m.evaluate(), m.startPredictor())
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
	case tea.KeyMsg:
		cmd = m.handleKey(msg)
	case evalResultMsg:
		cmd = tea.Batch(m.observeEval(msg), m.onEval(msg))
	case etaTickMsg:
		cmd = m.onETATick(msg)
	case throughputMsg:
		m.onThroughput(msg)
	case searchStartedMsg:
		cmd = m.onSearchStarted(msg)
	case searchBatchMsg:
		cmd = tea.Batch(m.observeSearch(msg), m.onSearchBatch(msg))
	case searchDoneMsg:
		cmd = m.onSearchDone(msg)
	case searchControlMsg:
		m.onSearchControl(msg)
	case predictorStartedMsg:
		m.onPredictorStarted(msg)
	case predictorNoticeMsg:
		m.refreshPrediction()
		cmd = waitPredictor(m.ctx, m.opts.Predictor)
	case predictorObservedMsg:
		m.refreshPrediction()
	case exportDoneMsg:
		m.onExport(msg)
	case clipboardMsg:
		if msg.err != nil {
			m.status.fail("clipboard: " + oneLine(msg.err) + " (P still pastes it here)")
		} else {
			m.status.info("network_def copied to the clipboard")
		}
	case stopAndQuitMsg:
		m.quitting = true
		cmd = m.control(opStop, Budget{})
	}
	m.recompare() // after any message: estimates, the architecture or the selection may have changed
	return tea.Batch(paneCmd, cmd)
}

// broadcast gives a background message to every pane, focused or not (style.md §3), before
// the root reads what they made of it.
func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	var cmds [paneCount]tea.Cmd
	m.editor, cmds[paneEditor] = m.editor.Update(msg)
	m.plot, cmds[panePlot] = m.plot.Update(msg)
	m.search, cmds[paneSearch] = m.search.Update(msg)
	return tea.Batch(append(cmds[:], m.takeRequests())...)
}

// updateFocused gives a key to the focused pane, then applies what it requested.
func (m *Model) updateFocused(msg tea.KeyMsg) tea.Cmd {
	var cmd tea.Cmd
	switch m.focus {
	case paneEditor:
		m.editor, cmd = m.editor.Update(msg)
	case panePlot:
		m.plot, cmd = m.plot.Update(msg)
		m.search.SetFront(m.plot.Front()) // the axis may have changed
	case paneSearch:
		m.search, cmd = m.search.Update(msg)
	}
	return tea.Batch(cmd, m.takeRequests())
}

// takeRequests empties the panes' outboxes and applies each request, in order.
func (m *Model) takeRequests() tea.Cmd {
	var reqs []tea.Msg
	reqs = append(reqs, m.editor.take()...)
	reqs = append(reqs, m.plot.take()...)
	reqs = append(reqs, m.search.take()...)
	var cmds []tea.Cmd
	for _, req := range reqs {
		cmds = append(cmds, m.apply(req))
	}
	return tea.Batch(cmds...)
}

// apply carries out one pane's request.
func (m *Model) apply(req tea.Msg) tea.Cmd {
	switch req := req.(type) {
	case failMsg:
		m.status.fail(req.why)
	case editMsg:
		m.status.clearMessage()
		return m.setArch(req.arch, "")
	case setArchMsg:
		return m.setArch(req.arch, req.note)
	case loadPointMsg:
		return m.loadPoint(req.p)
	case promptMsg:
		return m.openPrompt(req.kind)
	case searchOpMsg:
		return m.control(req.op, Budget{})
	}
	return nil
}

func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	yes, no, force := confirmKeys()
	if key.Matches(msg, force) && (m.quitting || m.confirmQuit) {
		m.forceQuit = true // a second ctrl+c does not wait for the search
		m.cancel()
		return tea.Quit
	}
	if m.confirmQuit {
		switch {
		case key.Matches(msg, yes):
			m.confirmQuit, m.quitting = false, true
			m.status.info("stopping the search, then quitting (ctrl+c again: quit now)")
			return m.control(opStop, Budget{})
		case key.Matches(msg, no):
			m.confirmQuit = false
			m.status.clearMessage()
		}
		return nil
	}
	if m.prompt.open() {
		if found, _, cmd := dispatch(promptKeys(), m, msg); found {
			return cmd
		}
		var cmd tea.Cmd
		m.prompt, cmd = m.prompt.Update(msg)
		return cmd
	}
	if m.showHelp {
		closeHelp, quit := helpModeKeys()
		switch {
		case key.Matches(msg, closeHelp):
			m.showHelp = false
		case key.Matches(msg, quit):
			return m.requestQuit()
		}
		return nil
	}
	if msg.Paste {
		// A network_def pasted into the screen opens the paste prompt with it.
		m.prompt = newPrompt(promptPaste, "network_def>", string(msg.Runes), m.width)
		return nil
	}
	// The focused pane's keys first; it says why when one cannot act.
	if _, ok := bindsKey(m.paneGroups(m.focus), msg); ok {
		return m.updateFocused(msg)
	}
	if found, why, cmd := dispatch(rootKeys(m.focus), m, msg); found {
		if why != "" {
			m.status.fail(why)
		}
		return cmd
	}
	if why := m.elsewhere(m.focus, msg); why != "" {
		m.status.fail(why)
	}
	return nil
}

func (m *Model) layout() {
	if m.prompt.open() {
		m.prompt.SetWidth(m.width)
	}
	bodyH := max(0, m.height-3)
	if m.width < narrowWidth {
		m.editor.SetSize(m.width-2, max(0, bodyH-2-metricsLines-1))
		m.plot.SetSize(m.width-2, max(0, bodyH-2))
		m.search.SetSize(m.width-2, max(0, bodyH-2))
		return
	}
	leftW := m.leftWidth()
	rightW := m.width - leftW
	m.editor.SetSize(leftW-2, max(0, bodyH-2-metricsLines-1))
	if bodyH >= stackMinBody {
		plotH := bodyH * 3 / 5
		m.plot.SetSize(rightW-2, plotH-2)
		m.search.SetSize(rightW-2, bodyH-plotH-2)
		return
	}
	m.plot.SetSize(rightW-2, bodyH-2)
	m.search.SetSize(rightW-2, bodyH-2)
}

func (m Model) leftWidth() int { return max(minLeftWidth, min(maxLeftWidth, m.width*5/12)) }

// View draws the screen: title, panes, footer (help or prompt) and status line.
func (m Model) View() string {
	if m.width == 0 || m.height == 0 {
		return "Loading…"
	}
	bodyH := max(0, m.height-3)
	var body string
	switch {
	case m.showHelp:
		body = m.helpView(m.width, bodyH)
	case m.width < narrowWidth:
		body = m.paneView(m.focus, m.width, bodyH)
	default:
		leftW := m.leftWidth()
		rightW := m.width - leftW
		var right string
		if bodyH >= stackMinBody {
			plotH := bodyH * 3 / 5
			right = m.paneView(panePlot, rightW, plotH) + "\n" + m.paneView(paneSearch, rightW, bodyH-plotH)
		} else {
			right = m.paneView(m.side, rightW, bodyH)
		}
		body = lipgloss.JoinHorizontal(lipgloss.Top, m.paneView(paneEditor, leftW, bodyH), right)
	}
	return strings.Join([]string{m.titleView(), body, m.bottomView(), m.status.View(m.width)}, "\n")
}

func (m Model) paneView(p pane, w, h int) string {
	switch p {
	case paneEditor:
		content := m.metricsView(w-2) + "\n" + m.st.dim.Render(strings.Repeat("─", max(0, w-2))) + "\n" + m.editor.View()
		return box("Architecture", content, w, h, m.focus == paneEditor)
	case panePlot:
		return box(m.plot.Title(), m.plot.View(), w, h, m.focus == panePlot)
	default:
		return box("Search", m.search.View(), w, h, m.focus == paneSearch)
	}
}

func (m Model) titleView() string {
	left := m.st.title.Render("resnas") + " · " + m.opts.Space.Name
	if m.opts.CheckpointName != "" {
		left += " · " + m.opts.CheckpointName
	}
	left += fmt.Sprintf(" · %dpx", m.opts.Input.Size)
	if m.opts.Compute != "" {
		left += " · " + m.opts.Compute
	}
	return spread(left, m.titleKeys(), m.width)
}

// titleKeys are the keys named in the title bar: the prompt's while one is open (tab and ?
// type into it then), else how to move and get help.
func (m Model) titleKeys() string {
	if !m.prompt.open() {
		return "tab: pane · ?: help"
	}
	var ks []string
	for _, g := range groupsOf(promptKeys(), m) {
		for _, k := range g.keys {
			if k.why == "" {
				ks = append(ks, k.Help().Key+": "+k.Help().Desc)
			}
		}
	}
	return strings.Join(ks, " · ")
}

func (m Model) bottomView() string {
	switch {
	case m.confirmQuit:
		yes, no, force := confirmKeys()
		h := help.New()
		return padRight(m.st.err.Render("A search is running.")+" Stop it and quit?  "+h.ShortHelpView([]key.Binding{yes, no, force}), m.width)
	case m.prompt.open():
		return m.prompt.View(m.width)
	}
	return m.footerView()
}

// metricsView shows MACs and parameters with their change against the largest and the
// previous architecture, the accuracy estimate, its paired comparison with the previous
// architecture and the plot's selection, the BN mode and the throughput.
func (m Model) metricsView(w int) string {
	prevM, prevP := "—", "—"
	if len(m.prev.Layers) > 0 {
		prevM, prevP = relDelta(m.macs, m.prevMACs), relDelta(m.params, m.prevParams)
	}
	lines := []string{
		fmt.Sprintf("MACs   %-6s max %-7s prev %s", siCount(m.macs), relDelta(m.macs, m.maxMACs), prevM),
		fmt.Sprintf("params %-6s max %-7s prev %s", siCount(m.params), relDelta(m.params, m.maxParams), prevP),
		"top-1  " + m.estimateText(w-len("top-1  ")),
		m.prevText(w),
		pairText("vs sel", m.cmp.sel.pairing, w),
	}
	bn := "BN     supernet statistics"
	if m.bnRecal {
		bn = "BN     recalibrated"
	}
	lines = append(lines, bn, "speed  "+m.rateText())
	for i := range lines {
		lines[i] = padRight(lines[i], w)
	}
	return strings.Join(lines, "\n")
}

// estimateText is the top-1 line in width w: the measured estimate, or while none is known
// and one is being measured, the predictor's guess, marked as such.
func (m Model) estimateText(w int) string {
	if m.opts.Evaluator == nil {
		return "— (no evaluator)"
	}
	est, ok := m.eval.cache[m.currentKey()]
	switch {
	case m.eval.err != "":
		return m.st.err.Render("✗ " + m.eval.err)
	case !ok && m.eval.running:
		if p, ok := m.predictedText(w); ok {
			return p
		}
		return fmt.Sprintf("evaluating %s…", imagesText(m.eval.limit))
	case !ok:
		return "—"
	}
	s := fmt.Sprintf("%.2f%% ±%.2f · %d img", est.Top1, est.CI95, est.Images)
	if !est.Final {
		s += " · refining…"
	}
	return s
}

// predictedText is the predicted top-1 of the current architecture while it is evaluated,
// in width w if it can be: "~74.7% ±1.2 predicted · evaluating…". The predictor learns
// top-1 with the BN as trained, so nothing is predicted for recalibrated BN; nor before it
// knows enough (ok false).
func (m Model) predictedText(w int) (string, bool) {
	if m.opts.Predictor == nil || !m.pred.ok || m.bnRecal || m.pred.arch != m.keyOf(m.arch) {
		return "", false
	}
	// ± is a 95% half-width, as the measured estimate's is.
	p := fmt.Sprintf("~%.1f%% ±%.1f predicted", m.pred.mean, 1.96*m.pred.std)
	return m.st.dim.Render(fitFirst([]string{p + " · evaluating…", p + " · eval…", p}, w)), true
}

func imagesText(limit int) string {
	if limit <= 0 {
		return "all images"
	}
	return fmt.Sprintf("%d images", limit)
}

func (m Model) rateText() string {
	k := m.keyOf(m.arch)
	switch {
	case m.measuring == k:
		return "measuring…"
	case m.rates[k].ImagesPerSec > 0:
		r := m.rates[k]
		return fmt.Sprintf("%.1f img/s · spread %.0f%%", r.ImagesPerSec, 100*r.Spread)
	case m.opts.Throughput == nil:
		return "— (no meter)"
	}
	return "— (t measures)"
}

func (m Model) currentKey() evalKey { return evalKey{m.keyOf(m.arch), m.bnRecal} }

// keyOf names a network for the caches and the history. A skipped block has no weights, so
// its heads and MLP fields are set to the space's canonical placeholder (the smallest
// choices, as supernet.Space builds them): networks that differ only there are one network.
func (m Model) keyOf(a model.Arch) string {
	c := a.Clone()
	for i, l := range c.Layers {
		if l.Type != model.TypeBlock || l.Exists || i >= len(m.opts.Space.Layers) {
			continue
		}
		lc := m.opts.Space.Layers[i]
		c.Layers[i].Heads, c.Layers[i].MLP = slices.Min(lc.Heads), slices.Min(lc.MLP)
	}
	return c.String()
}

// recost recomputes the figures that follow the architecture; it is plain arithmetic.
func (m *Model) recost() {
	m.macs, m.params = profiler.Count(m.arch, m.opts.Input)
	if len(m.prev.Layers) > 0 {
		m.prevMACs, m.prevParams = profiler.Count(m.prev, m.opts.Input)
	}
	m.refreshPlot()
}

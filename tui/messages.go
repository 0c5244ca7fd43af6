package tui

import (
	tea "github.com/charmbracelet/bubbletea"
	"github.com/resnas/resnas/model"
)

// Every message the explorer's Cmds return, then the requests the panes make of the root.
// Results of background work carry the
// generation or run they belong to, so Update can drop what an edit or a restart superseded
// (style.md §3 "Every result carries a generation").

// evalResultMsg is the outcome of one Evaluate call.
type evalResultMsg struct {
	gen  int     // m.eval.gen when the evaluation started
	key  evalKey // which architecture and BN mode it scored
	arch model.Arch
	est  Estimate
	err  error
	// seconds is how long Evaluate took by the explorer's Clock (0 under a fixed one).
	seconds float64
}

// etaTickMsg asks for the status line's time to a full estimate to be redrawn, while
// evaluation gen refines.
type etaTickMsg struct{ gen int }

// throughputMsg is the outcome of one Measure call.
type throughputMsg struct {
	key  string // Arch.String() of the measured architecture
	rate Rate
	err  error
}

// searchStartedMsg answers Searcher.Start.
type searchStartedMsg struct {
	run    int
	budget Budget
	events <-chan SearchEvent
	err    error
}

// searchBatchMsg carries the events of run `run` that were waiting, oldest first (at most
// maxEventsPerBatch; waitSearch in searchpane.go gathers them).
type searchBatchMsg struct {
	run    int
	events []SearchEvent
}

// searchEventMsg carries one event of search run `run`.
type searchEventMsg struct {
	run int
	ev  SearchEvent
}

// searchDoneMsg: the events channel of run `run` closed.
type searchDoneMsg struct{ run int }

// searchControlMsg answers Pause, Resume, Stop, Inject or SetBudget.
type searchControlMsg struct {
	run    int
	op     searchOp
	budget Budget // for opBudget
	macs   int64  // for opInject: MACs of the injected architecture
	err    error
}

// exportDoneMsg answers an export.
type exportDoneMsg struct {
	dir   string
	files []string
	err   error
}

// clipboardMsg answers Options.CopyText.
type clipboardMsg struct{ err error }

// Requests: what a pane's keys ask of the root, when acting needs state the panes share
// (the current architecture and its undo history, the services, the status line, the
// prompt). A pane's Update puts them in its outbox; the root takes them right after, in the
// same Update, and applies them (as a parent reads bubbles filepicker's DidSelectFile after
// its Update). Going through a tea.Cmd instead would run them in goroutines, in any order
// and after keys already queued: a held-down + would then lose edits.

// outbox holds a pane's requests until the root takes them.
type outbox struct{ reqs []tea.Msg }

func (o *outbox) send(req tea.Msg) { o.reqs = append(o.reqs, req) }

// take empties the outbox.
func (o *outbox) take() []tea.Msg {
	reqs := o.reqs
	o.reqs = nil
	return reqs
}

// failMsg: a key could not act; the status line says why.
type failMsg struct{ why string }

// editMsg: the editor changed one field of the architecture.
type editMsg struct{ arch model.Arch }

// setArchMsg: load a whole architecture (a preset, a random one); note says which.
type setArchMsg struct {
	arch model.Arch
	note string
}

// loadPointMsg: load a point of the trade-off plot, in the BN mode it was plotted with.
type loadPointMsg struct{ p point }

// promptMsg: open the prompt of this kind.
type promptMsg struct{ kind promptKind }

// searchOpMsg: steer the running search.
type searchOpMsg struct{ op searchOp }

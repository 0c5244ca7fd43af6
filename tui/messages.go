package tui

import (
	"github.com/resnas/resnas/model"
)

// Every message the explorer's Cmds return. Results of background work carry the
// generation or run they belong to, so Update can drop what an edit or a restart superseded
// (style.md §3 "Every result carries a generation").

// evalResultMsg is the outcome of one Evaluate call.
type evalResultMsg struct {
	gen  int     // m.eval.gen when the evaluation started
	key  evalKey // which architecture and BN mode it scored
	arch model.Arch
	est  Estimate
	err  error
}

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

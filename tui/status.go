package tui

import (
	"slices"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// The status line lists running jobs, each added when it starts and removed when it ends
// (lazygit pkg/gui/status/status_manager.go), then the latest message.

type jobID int

const (
	jobEval jobID = iota
	jobThroughput
	jobSearch
	jobExport
)

type job struct {
	id    jobID
	label string
}

type statusLine struct {
	st    styles
	jobs  []job
	msg   string
	isErr bool
	aside string // right-aligned when the jobs and the message leave room: the predictor's status
}

// start adds job id, or relabels it if it runs already.
func (s *statusLine) start(id jobID, label string) {
	if i := slices.IndexFunc(s.jobs, func(j job) bool { return j.id == id }); i >= 0 {
		s.jobs[i].label = label
		return
	}
	s.jobs = append(s.jobs, job{id, label})
}

// finish removes job id.
func (s *statusLine) finish(id jobID) {
	s.jobs = slices.DeleteFunc(s.jobs, func(j job) bool { return j.id == id })
}

func (s statusLine) running(id jobID) bool {
	return slices.ContainsFunc(s.jobs, func(j job) bool { return j.id == id })
}

func (s *statusLine) info(msg string) { s.msg, s.isErr = msg, false }
func (s *statusLine) fail(msg string) { s.msg, s.isErr = msg, true }
func (s *statusLine) clearMessage()   { s.msg, s.isErr = "", false }

func (s statusLine) View(w int) string {
	var b strings.Builder
	if len(s.jobs) == 0 {
		b.WriteString("idle")
	}
	for i, j := range s.jobs {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString("[" + j.label + "]")
	}
	if s.msg != "" {
		b.WriteString(" │ ")
		if s.isErr {
			b.WriteString(s.st.err.Render("✗ " + s.msg))
		} else {
			b.WriteString(s.msg)
		}
	}
	left := b.String()
	if s.aside != "" && lipgloss.Width(left)+2+lipgloss.Width(s.aside) <= w {
		return spread(left, s.aside, w)
	}
	return padRight(left, w)
}

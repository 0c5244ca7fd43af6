package tui_test

import (
	"context"
	"fmt"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/resnas/resnas/internal/gemm/backend"
	"github.com/resnas/resnas/tui"
	"github.com/resnas/resnas/workbench"
)

// How main wires the engines into the explorer: a workbench.Session serves as evaluator,
// throughput meter and exporter, its LiveSearch runs the searches, and its Predictions
// predict top-1 from what was measured. It is compiled with the tests, so it stays true to
// the APIs, but not run: it opens a terminal.
func Example_wiring() {
	ctx := context.Background()                           // main's signal.NotifyContext
	l, err := workbench.Load("", workbench.LoadOptions{}) // the shipped checkpoint
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	set, err := workbench.OpenData("", "") // its sub-val
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer set.Close()
	sel, err := backend.Open(backend.Options{Device: "cpu"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer sel.Close()
	s, err := workbench.NewSession(l, set, sel, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	search := s.LiveSearch("resnas-search.jsonl")
	opts := tui.Options{
		Space: l.Space, Input: l.Input,
		Evaluator: s, Throughput: s, Exporter: s, Searcher: search,
		Predictor:      s.Predictions(search.JournalBase(), 0), // learns from the journals there too
		CheckpointName: l.Label(), Compute: workbench.ComputeLabel(sel),
		Context: ctx,
	}
	p := tea.NewProgram(tui.New(opts), tea.WithAltScreen(), tea.WithContext(ctx), tea.WithFilter(tui.Filter))
	final, err := p.Run()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	if journal, _, ok := search.Started(); ok && final.(tui.Model).SearchOutcome() == "stopped" {
		fmt.Fprintf(os.Stderr, "search stopped: resnas search --journal %s resumes it\n", journal)
	}
}

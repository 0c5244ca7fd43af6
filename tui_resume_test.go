package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/resnas/resnas/tui"
)

// TestTUIBudgetChangeResumes runs the explorer as main wires it, on a random-weight
// checkpoint and tiny shards: start a search, pause it, change its budget, quit. The command
// printed on quit must resume the search that ran. (It used to name a journal that was never
// written: the budget change renamed it.)
func TestTUIBudgetChangeResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a search in the explorer, then resumes it from the command line")
	}
	w := newTinyWorld(t)
	dir := t.TempDir()
	f := tuiFlags{data: filepath.Join(w.train, "sub-val"), journal: filepath.Join(dir, "explorer.jsonl"), exportDir: filepath.Join(dir, "export")}
	f.compute = computeFlags{checkpoint: w.ckpt, device: "cpu", patch: 14, threads: 1}
	var stderr bytes.Buffer
	s, err := f.compute.session(f.data, env{stderr: &stderr, getenv: os.Getenv})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Data.Close()
	defer s.Backend.Close()
	search := s.LiveSearch(f.journal)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tm := teatest.NewTestModel(t, tui.New(explorerOptions(ctx, s, search, s.Loaded.Space.Max(), f.exportDir)),
		teatest.WithInitialTermSize(120, 40))
	waitFor := func(what string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(what)) },
			teatest.WithDuration(30*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	}
	clearAndType := func(s string) {
		tm.Send(tea.KeyMsg{Type: tea.KeyCtrlU}) // the prompt comes filled with a suggestion
		tm.Type(s)
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	}
	tm.Type("s")
	waitFor("start search")
	clearAndType("50% 12")
	// Pause only once the journal holds an evaluation: the resume must have something to
	// replay (the plot's own "evaluated" text does not say the search got that far).
	deadline := time.Now().Add(60 * time.Second)
	for {
		if j, _, ok := search.Started(); ok {
			if b, _ := os.ReadFile(j); bytes.Contains(b, []byte(`"kind":"eval"`)) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the explorer's search wrote no evaluation to its journal in 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyTab}) // editor → plot
	tm.Send(tea.KeyMsg{Type: tea.KeyTab}) // plot → search
	tm.Type("p")
	waitFor("paused")
	tm.Type("b")
	waitFor("new budget")
	clearAndType("40% 12")
	waitFor("budget")
	tm.Type("q")
	waitFor("stop the search")
	tm.Type("y")
	final, ok := tm.FinalModel(t, teatest.WithFinalTimeout(30*time.Second)).(tui.Model)
	if !ok {
		t.Fatal("the final model is not a tui.Model")
	}
	var hint bytes.Buffer
	printResumeHint(&hint, final, search, f)
	cmdline, found := strings.CutPrefix(strings.TrimSpace(hint.String()), "search stopped; resume it with: resnas ")
	if !found {
		t.Fatalf("outcome %q, hint %q: want a resume command", final.SearchOutcome(), hint.String())
	}
	args := strings.Fields(cmdline)
	journal := args[slices.Index(args, "--journal")+1]
	if _, err := os.Stat(journal); err != nil {
		t.Fatalf("the hint names journal %s, which was not written: %v (hint %q)", journal, err, cmdline)
	}
	code, _, errs := runCmd(t, args...)
	if code != 0 || !strings.Contains(errs, "resuming "+journal) || strings.Contains(errs, ": 0 evaluations replayed") {
		t.Fatalf("resnas %s: exit %d, stderr:\n%s", cmdline, code, errs)
	}
}

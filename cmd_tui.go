package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/mattn/go-isatty"

	"github.com/resnas/resnas/distributed"
	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/tui"
	"github.com/resnas/resnas/workbench"
)

// tuiFlags are resnas tui's flags, parsed.
type tuiFlags struct {
	compute   computeFlags
	data      string
	journal   string
	exportDir string
	logFile   string
	workers   workerFlags
}

func parseTUIFlags(args []string, e env) (tuiFlags, error) {
	var f tuiFlags
	fs := newFlags("tui")
	f.compute.register(fs, true)
	fs.StringVar(&f.data, "data", "", "shards to evaluate on (default with the shipped checkpoint: its sub-val)")
	fs.StringVar(&f.journal, "journal", "resnas-search.jsonl", "journal of searches started in the explorer")
	fs.StringVar(&f.exportDir, "export-dir", "resnas-export", "folder offered for exports")
	fs.StringVar(&f.logFile, "log", "", "write debug logs to this file")
	f.workers.register(fs)
	if err := parseFlags(fs, args, e); err != nil {
		return f, err
	}
	return f, f.workers.check()
}

func cmdTUI(ctx context.Context, args []string, e env) error {
	f, err := parseTUIFlags(args, e)
	if err != nil {
		return err
	}
	// Bad flags and files are reported before the missing terminal: they are what to fix first.
	s, err := f.compute.session(f.data, e)
	if err != nil {
		return err
	}
	defer s.Data.Close()
	defer s.Backend.Close()
	if out, ok := e.stdout.(*os.File); !ok || !isatty.IsTerminal(out.Fd()) {
		return fmt.Errorf("the explorer needs a terminal; for scripting use the subcommands (resnas help)")
	}
	initial := s.Loaded.Space.Max()
	if f.compute.arch != "" {
		if initial, err = s.Loaded.ResolveArch(f.compute.arch); err != nil {
			return err
		}
	}
	if f.logFile != "" {
		lf, err := tea.LogToFile(f.logFile, "resnas")
		if err != nil {
			return err
		}
		defer lf.Close()
	}
	var ev evolution.Evaluator // in this process unless worker flags say otherwise
	if f.workers.distributed() {
		c, err := startExplorerWorkers(ctx, f, s, e)
		if err != nil {
			return err
		}
		defer c.Close()
		ev = c.Dispatcher
	}
	search := s.LiveSearchOn(f.journal, ev)
	opts := explorerOptions(ctx, s, search, initial, f.exportDir)
	popts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx), tea.WithFilter(tui.Filter),
		tea.WithInput(e.stdin), tea.WithOutput(e.stdout)}
	final, err := tea.NewProgram(tui.New(opts), popts...).Run()
	if err != nil && ctx.Err() == nil {
		return err
	}
	if m, ok := final.(tui.Model); ok {
		printResumeHint(e.stderr, m, search, f)
	}
	return nil
}

// explorerOptions wires a session into the explorer: the session evaluates, measures and
// exports, and search runs the searches started there.
func explorerOptions(ctx context.Context, s *workbench.Session, search *workbench.LiveSearch, initial model.Arch, exportDir string) tui.Options {
	return tui.Options{
		Space: s.Loaded.Space, Input: s.Loaded.Input, Initial: initial,
		Evaluator: s, Throughput: s, Exporter: s, Searcher: search,
		Predictor:      s.Predictions(search.JournalBase(), 0), // predicted top-1 while an edit is measured
		Generations:    evolution.DefaultOptions().Generations,
		Seed:           uint64(time.Now().UnixNano()), // r gives a different random architecture each session
		CheckpointName: s.Loaded.Label(),
		Compute:        workbench.ComputeLabel(s.Backend),
		ExportDir:      exportDir,
		Context:        ctx,
	}
}

// printResumeHint says how to resume a search the explorer left unfinished: the journal it
// wrote and the budget it started with (the journal replays later budget changes).
func printResumeHint(w io.Writer, m tui.Model, search *workbench.LiveSearch, f tuiFlags) {
	if o := m.SearchOutcome(); o != "stopped" && o != "running" {
		return
	}
	journal, b, ok := search.Started()
	if !ok {
		return
	}
	fmt.Fprintf(w, "search stopped; resume it with: %s\n", resumeCommand(journal, b, f))
}

func resumeCommand(journal string, b workbench.Budget, f tuiFlags) string {
	cmd := fmt.Sprintf("resnas search --generations %d --journal %s", b.Generations, journal)
	if b.MaxMACs > 0 {
		cmd += fmt.Sprintf(" --max-macs %d", b.MaxMACs)
	}
	if f.compute.checkpoint != "" {
		cmd += " --checkpoint " + f.compute.checkpoint + " --data " + f.data
	}
	return cmd
}

// startExplorerWorkers starts the cluster the explorer's searches evaluate on. The workers'
// own output would garble the explorer's screen, so it goes to the --log file, or nowhere.
func startExplorerWorkers(ctx context.Context, f tuiFlags, s *workbench.Session, e env) (*distributed.Cluster, error) {
	o, err := f.workers.clusterOptions(s, 0, false, f.compute, f.data, f.journal, e) // as the explorer scores
	if err != nil {
		return nil, err
	}
	if f.logFile != "" {
		lf, err := os.OpenFile(f.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("--log: %w", err)
		}
		o.WorkerLog = lf
	}
	// Before the explorer starts, notices go to stderr; after, the search pane lists workers.
	o.Notify = func(string) {}
	fmt.Fprintf(e.stderr, "resnas: starting the workers…\n")
	return distributed.StartCluster(ctx, o)
}

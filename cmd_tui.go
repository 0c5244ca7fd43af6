package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/mattn/go-isatty"

	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/internal/gemm/backend"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/tui"
)

func cmdTUI(ctx context.Context, args []string, e env) error {
	fs := newFlags("tui")
	var cf computeFlags
	cf.register(fs, true)
	dataDir := fs.String("data", "", "shards to evaluate on (default with the shipped checkpoint: its sub-val)")
	journal := fs.String("journal", "resnas-search.jsonl", "journal of searches started in the explorer")
	exportDir := fs.String("export-dir", "resnas-export", "folder offered for exports")
	logFile := fs.String("log", "", "write debug logs to this file")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	// Bad flags and files are reported before the missing terminal: they are what to fix first.
	l, set, sel, err := cf.loadWithData(*dataDir, e)
	if err != nil {
		return err
	}
	defer set.Close()
	defer sel.Close()
	if f, ok := e.stdout.(*os.File); !ok || !isatty.IsTerminal(f.Fd()) {
		return fmt.Errorf("the explorer needs a terminal; for scripting use the subcommands (resnas help)")
	}
	s, err := newSession(l, set, sel, cf.threads)
	if err != nil {
		return err
	}
	initial := l.space.Max()
	if cf.arch != "" {
		if initial, err = l.resolveArch(cf.arch); err != nil {
			return err
		}
	}
	if *logFile != "" {
		f, err := tea.LogToFile(*logFile, "resnas")
		if err != nil {
			return err
		}
		defer f.Close()
	}
	var presets []tui.Preset
	for _, name := range model.PresetNames() {
		if a, ok := model.Preset(name); ok && l.space.Contains(a) == nil {
			presets = append(presets, tui.Preset{Name: name, Arch: a})
		}
	}
	// The explorer names each search's journal; the last one is what a stopped search resumes from.
	var lastJournal string
	var lastBudget tui.Budget
	opts := tui.Options{
		Space: l.space, Input: l.input, Initial: initial, Presets: presets,
		Evaluator: tui.EvaluatorFunc(func(ctx context.Context, req tui.EvalRequest) (tui.Estimate, error) {
			r, err := s.evaluator(req.RecalibrateBN).Evaluate(ctx, req.Arch, req.Limit, nil)
			return tui.Estimate{Top1: 100 * r.Top1, CI95: 100 * r.CI95, Images: r.Images, Final: r.Final}, err
		}),
		Throughput: tui.ThroughputFunc(func(ctx context.Context, a model.Arch) (tui.Rate, error) {
			tp, err := s.throughput(ctx, a, 64)
			return tui.Rate{ImagesPerSec: tp.ImagesPerSec, Spread: tp.Spread}, err
		}),
		Searcher: &tui.EvolutionSearcher{Config: func(b tui.Budget) evolution.Config {
			o := evolution.DefaultOptions()
			o.Generations, o.Input = b.Generations, l.input
			if b.MaxMACs > 0 {
				o.Constraints = evolution.MACsWindow(b.MaxMACs, evolution.ReferenceWindowRatio)
			}
			lastJournal, lastBudget = searchJournal(*journal, b), b
			// The same scoring record as resnas search writes, so either can resume the other's
			// journal and neither mixes scores of other settings into it.
			scoring := map[string]string{"limit": "0", "recalibrate_bn": "false", "weights": l.ck.Source}
			return evolution.Config{Space: l.space, Options: o, Journal: lastJournal,
				Evaluator: s.fitness(0, false), Checkpoint: l.ck.SHA256, Data: s.dataHash(),
				Meta: map[string]string{"gemm": sel.Name}, Scoring: scoring}
		}},
		Exporter: tui.ExporterFunc(func(ctx context.Context, dir string, rec tui.SubnetRecord) ([]string, error) {
			metrics := map[string]any{
				"network_def": rec.Arch.String(), "compact": rec.Arch.Compact().String(),
				"macs": rec.MACs, "params": rec.Params, "input": l.input,
				"checkpoint": l.name, "sha256": l.ck.SHA256, "data": set.Manifest.Split,
				"top1": rec.Estimate.Top1, "top1_ci95": rec.Estimate.CI95, "images": rec.Estimate.Images,
				"bn_recalibrated": rec.BNRecalibrated,
			}
			if rec.Rate.ImagesPerSec > 0 {
				metrics["images_per_sec"] = rec.Rate.ImagesPerSec
				metrics["gemm"] = sel.Name
				metrics["device"] = sel.Device
			}
			return exportSubnet(l, rec.Arch, dir, metrics)
		}),
		Generations:    evolution.DefaultOptions().Generations,
		Seed:           uint64(time.Now().UnixNano()), // r gives a different random architecture each session
		CheckpointName: checkpointLabel(l),
		Compute:        computeLabel(sel),
		ExportDir:      *exportDir,
		Context:        ctx,
	}
	popts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx), tea.WithFilter(tui.Filter),
		tea.WithInput(e.stdin), tea.WithOutput(e.stdout)}
	final, err := tea.NewProgram(tui.New(opts), popts...).Run()
	if err != nil && ctx.Err() == nil {
		return err
	}
	if m, ok := final.(tui.Model); ok && (m.SearchOutcome() == "stopped" || m.SearchOutcome() == "running") {
		resume := fmt.Sprintf("resnas search --generations %d --journal %s", lastBudget.Generations, lastJournal)
		if lastBudget.MaxMACs > 0 {
			resume += fmt.Sprintf(" --max-macs %d", lastBudget.MaxMACs)
		}
		if cf.checkpoint != "" {
			resume += " --checkpoint " + cf.checkpoint + " --data " + *dataDir
		}
		fmt.Fprintf(e.stderr, "search stopped; resume it with: %s\n", resume)
	}
	return nil
}

// searchJournal gives each search started in the explorer its own journal next to base, so
// a new budget never collides with an earlier search's header.
func searchJournal(base string, b tui.Budget) string {
	ext := filepath.Ext(base)
	return fmt.Sprintf("%s-%dmacs-%dgen-%s%s", base[:len(base)-len(ext)], b.MaxMACs, b.Generations, time.Now().Format("20060102-150405"), ext)
}

func checkpointLabel(l *loaded) string {
	if l.name == "default" {
		return fmt.Sprintf("default (%s, %.1fM MACs max)", l.space.Name, float64(profiler.MACs(l.space.Max(), l.input))/1e6)
	}
	return filepath.Base(l.name)
}

// computeLabel names where the explorer's sub-networks run: "cpu/openblas", "gpu/NVIDIA H100".
func computeLabel(sel backend.Selected) string {
	if sel.CUDA != nil {
		return "gpu/" + sel.CUDA.Info().Name
	}
	return "cpu/" + sel.Name
}

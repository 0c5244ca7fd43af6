package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
)

func cmdSearch(ctx context.Context, args []string, e env) error {
	fs := newFlags("search")
	var cf computeFlags
	cf.register(withoutArch{fs}, true)
	dataDir := fs.String("data", "", "shards to evaluate on (default with the shipped checkpoint: its sub-val)")
	maxMACs := fs.String("max-macs", "", "MACs budget: a number, 8.5M, or a percentage of the largest sub-network (50%)")
	minRatio := fs.Float64("min-macs-ratio", evolution.ReferenceWindowRatio, "lower end of the MACs window as a fraction of --max-macs (the reference uses 0.975)")
	maxParams := fs.Int64("max-params", 0, "parameter budget (0: none)")
	minTP := fs.Float64("min-throughput", 0, "minimum measured images/s on this machine (0: none)")
	tpBatch := fs.Int("throughput-batch", 64, "batch size of throughput measurements")
	d := evolution.DefaultOptions()
	fs.IntVar(&d.Generations, "generations", d.Generations, "generations, the random first one included")
	fs.IntVar(&d.Population, "population", d.Population, "random architectures of generation 0")
	fs.IntVar(&d.Parents, "parents", d.Parents, "parents: the top of the whole history")
	fs.IntVar(&d.Mutations, "mutations", d.Mutations, "mutants per generation")
	fs.IntVar(&d.Crossovers, "crossovers", d.Crossovers, "crossovers per generation")
	fs.Float64Var(&d.MutationProb, "mutate-prob", d.MutationProb, "per-gene mutation probability")
	fs.Uint64Var(&d.Seed, "seed", d.Seed, "random seed")
	limit := fs.Int("limit", 0, "evaluate each candidate on at most N images (0: all)")
	recal := fs.Bool("recalibrate-bn", false, "recalibrate the stem BN statistics before evaluating")
	journal := fs.String("journal", "", "append-only journal; rerunning with the same journal resumes")
	export := fs.String("export", "", "write the whole history as CSV")
	summary := fs.String("summary", "", "write summary.txt in the reference format (Iter, Acc, Network_def)")
	jsonl := fs.String("jsonl", "", "write the whole history as JSONL")
	asJSON := fs.Bool("json", false, "print a JSON summary at the end (progress goes to stderr)")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if *journal == "" {
		return usagef("--journal FILE is required (it makes the search resumable)")
	}
	if err := checkSearchFlags(d, *limit, *minRatio, *maxParams, *minTP, *tpBatch); err != nil {
		return err
	}
	// The outputs are written after the search: a path that cannot be written must fail now.
	if err := checkDistinctOutputs(outputPath{"--journal", *journal}, outputPath{"--export", *export},
		outputPath{"--summary", *summary}, outputPath{"--jsonl", *jsonl}); err != nil {
		return err
	}
	if st, err := os.Stat(*journal); err == nil && st.IsDir() {
		return fmt.Errorf("--journal %s is a directory: give a file path", *journal)
	} else if errors.Is(err, os.ErrNotExist) {
		if err := checkFileCreatable("--journal", *journal); err != nil {
			return err
		}
	}
	for _, o := range []struct{ flag, path string }{{"--export", *export}, {"--summary", *summary}, {"--jsonl", *jsonl}} {
		if err := checkFileCreatable(o.flag, o.path); err != nil {
			return err
		}
	}
	l, set, sel, err := cf.loadWithData(*dataDir, e)
	if err != nil {
		return err
	}
	defer set.Close()
	defer sel.Close()
	s, err := newSession(l, set, sel, cf.threads)
	if err != nil {
		return err
	}
	largest := profiler.MACs(l.space.Max(), l.input)
	budget, err := parseMACs(*maxMACs, largest)
	if err != nil {
		return err
	}
	if budget > 0 {
		d.Constraints = evolution.MACsWindow(budget, *minRatio)
	}
	d.Constraints.MaxParams, d.Constraints.MinThroughput = *maxParams, *minTP
	d.Input = l.input
	if err := checkBudgetsFit(l, d.Constraints); err != nil {
		return err
	}
	// A limit of at least the whole set evaluates every image, as 0 does: one recorded value.
	if *limit >= set.Len() {
		*limit = 0
	}
	// Every setting that changes a candidate's score is compared when a journal is resumed;
	// the GEMM backend only moves float rounding, so a search may move between machines.
	scoring := map[string]string{"limit": fmt.Sprint(*limit), "recalibrate_bn": fmt.Sprint(*recal), "weights": l.ck.Source}
	if *minTP > 0 {
		scoring["throughput_batch"] = fmt.Sprint(*tpBatch)
	}
	cfg := evolution.Config{
		Space: l.space, Evaluator: s.fitness(*limit, *recal), Options: d, Journal: *journal,
		Checkpoint: l.ck.SHA256, Data: s.dataHash(),
		Meta: map[string]string{"gemm": sel.Name}, Scoring: scoring,
	}
	if *minTP > 0 {
		cfg.Throughput = evolution.ThroughputFunc(func(ctx context.Context, a model.Arch) (float64, error) {
			tp, err := s.throughput(ctx, a, *tpBatch)
			return tp.ImagesPerSec, err
		})
	}
	search, err := evolution.New(cfg)
	if err != nil {
		return err
	}
	resumed := search.Resumed()
	if resumed > 0 {
		fmt.Fprintf(e.stderr, "search: resuming %s: %d evaluations replayed from the journal\n", *journal, resumed)
	}
	start := time.Now()
	if err := search.Start(ctx); err != nil {
		return err
	}
	total := d.Evaluations()
	prog := newProgressLine(e.stderr, "search")
	prog.skip(resumed)
	for ev := range search.Events() {
		switch ev.Kind {
		case evolution.EventEvaluated:
			if ev.Replayed {
				continue // already counted by skip; replaying takes no time worth showing
			}
			r := ev.Record
			prog.update(r.Index+1, total, fmt.Sprintf("gen %d  last %.2f%% at %.2fM MACs", r.Generation, r.Top1, float64(r.MACs)/1e6))
		case evolution.EventGeneration:
			g := ev.Summary
			prog.done()
			rate := fmt.Sprintf("%.1f evals/min", g.EvalsPerMinute)
			if g.Total <= resumed {
				rate = "replayed"
			}
			fmt.Fprintf(e.stderr, "generation %d: best %.2f%% (%.2fM MACs)  median %.2f%%  front %d  %d evaluated  %s\n",
				g.Generation, g.Best.Top1, float64(g.Best.MACs)/1e6, g.Median, g.FrontSize, g.Total, rate)
		case evolution.EventWarning:
			fmt.Fprintf(e.stderr, "search: warning: %s\n", ev.Message)
		}
	}
	prog.done()
	runErr := search.Wait()
	recs := search.Records(0)
	// Exports are written even after an interruption: they describe what the journal holds.
	for _, w := range []struct {
		path  string
		write func(string, []evolution.Record) error
	}{{*export, evolution.WriteCSV}, {*summary, evolution.WriteSummary}, {*jsonl, evolution.WriteJSONL}} {
		if w.path != "" {
			if err := w.write(w.path, recs); err != nil {
				return err
			}
		}
	}
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) || ctx.Err() != nil {
			fmt.Fprintf(e.stderr, "search: interrupted after %d evaluations; rerun the same command to resume from %s\n", len(recs), *journal)
		}
		return runErr
	}
	front := evolution.FrontOf(recs)
	var best evolution.Record
	for _, r := range recs {
		if r.Top1 > best.Top1 || best.NetworkDef == "" {
			best = r
		}
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]any{
			"evaluations": len(recs), "seconds": time.Since(start).Seconds(), "best": best, "front": front,
			"journal": *journal, "max_macs": budget,
		})
	}
	fmt.Fprintf(e.stdout, "best %.2f%% top-1, %.2fM MACs, %.3fM params after %d evaluations\n%s\n",
		best.Top1, float64(best.MACs)/1e6, float64(best.Params)/1e6, len(recs), best.NetworkDef)
	return nil
}

// withoutArch registers the compute flags but --arch: a search generates its own
// architectures, and a flag it accepted but ignored would mislead.
type withoutArch struct{ *flag.FlagSet }

func (f withoutArch) StringVar(p *string, name, value, usage string) {
	if name != "arch" {
		f.FlagSet.StringVar(p, name, value, usage)
	}
}

// checkSearchFlags refuses settings the search cannot run with, naming the flag (the
// evolution package's own checks speak of options, not flags).
func checkSearchFlags(o evolution.Options, limit int, minRatio float64, maxParams int64, minTP float64, tpBatch int) error {
	switch {
	case o.Generations < 1:
		return usagef("--generations must be at least 1, not %d", o.Generations)
	case o.Population < 1:
		return usagef("--population must be at least 1, not %d", o.Population)
	case o.Generations > 1 && o.Parents < 1:
		return usagef("--parents must be at least 1 when --generations is above 1, not %d", o.Parents)
	case o.Mutations < 0:
		return usagef("--mutations must not be negative, not %d", o.Mutations)
	case o.Crossovers < 0:
		return usagef("--crossovers must not be negative, not %d", o.Crossovers)
	case o.Generations > 1 && o.Mutations+o.Crossovers < 1:
		return usagef("--mutations plus --crossovers must be at least 1 when --generations is above 1 (each generation needs a child)")
	case !(o.MutationProb >= 0 && o.MutationProb <= 1):
		return usagef("--mutate-prob must be in [0, 1], not %g", o.MutationProb)
	case limit < 0:
		return usagef("--limit must not be negative, not %d (0 evaluates every image)", limit)
	case !(minRatio >= 0 && minRatio <= 1):
		return usagef("--min-macs-ratio must be in [0, 1], not %g (0: no lower bound)", minRatio)
	case maxParams < 0:
		return usagef("--max-params must not be negative, not %d (0: no bound)", maxParams)
	case !(minTP >= 0) || math.IsInf(minTP, 0):
		return usagef("--min-throughput must be a non-negative number of images/s, not %g (0: no bound)", minTP)
	case minTP > 0 && tpBatch < 1:
		return usagef("--throughput-batch must be at least 1, not %d", tpBatch)
	}
	return nil
}

// checkBudgetsFit refuses budgets no sub-network of l's space meets, naming the flag to change.
func checkBudgetsFit(l *loaded, c evolution.Constraints) error {
	small, large := l.space.Min(), l.space.Max()
	if m := profiler.MACs(small, l.input); c.MaxMACs > 0 && m > c.MaxMACs {
		return usagef("--max-macs %d is below the smallest sub-network of space %s (%d MACs): raise it", c.MaxMACs, l.space.Name, m)
	}
	if m := profiler.MACs(large, l.input); c.MinMACs > m {
		return usagef("--max-macs %d puts the window's lower end (%d MACs) above the largest sub-network of space %s (%d MACs): lower --max-macs or --min-macs-ratio", c.MaxMACs, c.MinMACs, l.space.Name, m)
	}
	if p := profiler.Params(small, l.input); c.MaxParams > 0 && p > c.MaxParams {
		return usagef("--max-params %d is below the smallest sub-network of space %s (%d params): raise it", c.MaxParams, l.space.Name, p)
	}
	return nil
}

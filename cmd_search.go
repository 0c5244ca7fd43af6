package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/resnas/resnas/data"
	"github.com/resnas/resnas/evaluate"
	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/workbench"
)

// maxPrescreen bounds --prescreen: breeding goes through the constraints' redraws for every
// candidate, so a typo such as 4000 would stall each generation for minutes.
const maxPrescreen = 64

// searchFlags are resnas search's flags, parsed.
type searchFlags struct {
	compute                computeFlags
	data                   string
	maxMACs                string
	minRatio               float64
	maxParams              int64
	minThroughput          float64
	throughputBatch        int
	options                evolution.Options // generations, population, … (Constraints are built later)
	limit                  int
	recalibrate            bool
	journal                string
	export, summary, jsonl string
	test                   string // held-out shards the best is scored on at the end
	asJSON                 bool
	workers                workerFlags
	kappa                  float64 // --prescreen-kappa, copied into options when --prescreen is on
	kappaSet               bool    // --prescreen-kappa was given
}

func parseSearchFlags(args []string, e env) (searchFlags, error) {
	var f searchFlags
	fs := newFlags("search")
	f.compute.register(withoutArch{fs}, true)
	fs.StringVar(&f.data, "data", "", "shards to evaluate on (default with the shipped checkpoint: its sub-val)")
	fs.StringVar(&f.maxMACs, "max-macs", "", "MACs budget: a number, 8.5M, or a percentage of the largest sub-network (50%)")
	fs.Float64Var(&f.minRatio, "min-macs-ratio", evolution.ReferenceWindowRatio, "lower end of the MACs window as a fraction of --max-macs (the reference uses 0.975)")
	fs.Int64Var(&f.maxParams, "max-params", 0, "parameter budget (0: none)")
	fs.Float64Var(&f.minThroughput, "min-throughput", 0, "minimum measured images/s on this machine (0: none)")
	fs.IntVar(&f.throughputBatch, "throughput-batch", 64, "batch size of throughput measurements")
	d := evolution.DefaultOptions()
	fs.IntVar(&d.Generations, "generations", d.Generations, "generations, the random first one included")
	fs.IntVar(&d.Population, "population", d.Population, "random architectures of generation 0")
	fs.IntVar(&d.Parents, "parents", d.Parents, "parents: the top of the whole history")
	fs.IntVar(&d.Mutations, "mutations", d.Mutations, "mutants per generation")
	fs.IntVar(&d.Crossovers, "crossovers", d.Crossovers, "crossovers per generation")
	fs.Float64Var(&d.MutationProb, "mutate-prob", d.MutationProb, "per-gene mutation probability")
	fs.Uint64Var(&d.Seed, "seed", d.Seed, "random seed")
	fs.IntVar(&d.Prescreen, "prescreen", 0, "breed K× the offspring of every generation after the first and measure only the usual number, the best by the predictor's upper confidence bound (0: off; 1 only records predictions)")
	fs.Float64Var(&f.kappa, "prescreen-kappa", evolution.DefaultPrescreenKappa, "with --prescreen: rank by predicted mean + κ·std")
	fs.StringVar(&d.Strategy, "strategy", evolution.StrategyEvolution, "evolution, or random: the baseline that draws as many candidates at random under the same constraints")
	fs.StringVar(&f.test, "test", "", "held-out shards (e.g. the test split) to score the best on at the end, data the search never selected on")
	fs.IntVar(&f.limit, "limit", 0, "evaluate each candidate on at most N images (0: all)")
	fs.BoolVar(&f.recalibrate, "recalibrate-bn", false, "recalibrate the stem BN statistics before evaluating")
	fs.StringVar(&f.journal, "journal", "", "append-only journal; rerunning with the same journal resumes")
	fs.StringVar(&f.export, "export", "", "write the whole history as CSV")
	fs.StringVar(&f.summary, "summary", "", "write summary.txt in the reference format (Iter, Acc, Network_def)")
	fs.StringVar(&f.jsonl, "jsonl", "", "write the whole history as JSONL")
	fs.BoolVar(&f.asJSON, "json", false, "print a JSON summary at the end (progress goes to stderr)")
	f.workers.register(fs)
	err := parseFlags(fs, args, e)
	fs.Visit(func(fl *flag.Flag) { f.kappaSet = f.kappaSet || fl.Name == "prescreen-kappa" })
	if d.Prescreen > 0 {
		d.PrescreenKappa = f.kappa // recorded in the journal only where it matters
	}
	f.options = d
	return f, err
}

// check refuses settings the search cannot run with, naming the flag (the evolution
// package's own checks speak of options, not flags), and output paths that could not be
// written when the search is done.
func (f searchFlags) check() error {
	o := f.options
	switch {
	case f.journal == "":
		return usagef("--journal FILE is required (it makes the search resumable)")
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
	case o.Strategy != evolution.StrategyEvolution && o.Strategy != evolution.StrategyRandom:
		return usagef("--strategy must be %s or %s, not %q", evolution.StrategyEvolution, evolution.StrategyRandom, o.Strategy)
	case !(o.MutationProb >= 0 && o.MutationProb <= 1):
		return usagef("--mutate-prob must be in [0, 1], not %g", o.MutationProb)
	case o.Prescreen < 0 || o.Prescreen > maxPrescreen:
		return usagef("--prescreen must be in [0, %d], not %d (0: off; each generation breeds K× its offspring)", maxPrescreen, o.Prescreen)
	case f.kappaSet && o.Prescreen == 0:
		return usagef("--prescreen-kappa applies to --prescreen K only: add --prescreen, or leave it out")
	case !(f.kappa >= 0) || math.IsInf(f.kappa, 0):
		return usagef("--prescreen-kappa must be a non-negative number, not %g", f.kappa)
	case f.limit < 0:
		return usagef("--limit must not be negative, not %d (0 evaluates every image)", f.limit)
	case !(f.minRatio >= 0 && f.minRatio <= 1):
		return usagef("--min-macs-ratio must be in [0, 1], not %g (0: no lower bound)", f.minRatio)
	case f.maxParams < 0:
		return usagef("--max-params must not be negative, not %d (0: no bound)", f.maxParams)
	case !(f.minThroughput >= 0) || math.IsInf(f.minThroughput, 0):
		return usagef("--min-throughput must be a non-negative number of images/s, not %g (0: no bound)", f.minThroughput)
	case f.minThroughput > 0 && f.throughputBatch < 1:
		return usagef("--throughput-batch must be at least 1, not %d", f.throughputBatch)
	}
	if err := f.workers.check(); err != nil {
		return err
	}
	// The outputs are written after the search: a path that cannot be written must fail now.
	if err := checkDistinctOutputs(outputPath{"--journal", f.journal}, outputPath{"--export", f.export},
		outputPath{"--summary", f.summary}, outputPath{"--jsonl", f.jsonl}); err != nil {
		return err
	}
	if st, err := os.Stat(f.journal); err == nil && st.IsDir() {
		return fmt.Errorf("--journal %s is a directory: give a file path", f.journal)
	} else if errors.Is(err, os.ErrNotExist) {
		if err := checkFileCreatable("--journal", f.journal); err != nil {
			return err
		}
	}
	for _, o := range []outputPath{{"--export", f.export}, {"--summary", f.summary}, {"--jsonl", f.jsonl}} {
		if err := checkFileCreatable(o.flag, o.path); err != nil {
			return err
		}
	}
	return nil
}

// constraints turns the budget flags into the search's constraints for s's space, refusing
// budgets no sub-network meets.
func (f searchFlags) constraints(l *workbench.Loaded) (evolution.Constraints, error) {
	var c evolution.Constraints
	small, large := l.Space.Min(), l.Space.Max()
	largest := profiler.MACs(large, l.Input)
	budget, err := profiler.ParseMACs(f.maxMACs, largest)
	if err != nil {
		return c, usagef("--max-macs: %v", err)
	}
	if budget > 0 {
		c = evolution.MACsWindow(budget, f.minRatio)
	}
	c.MaxParams, c.MinThroughput = f.maxParams, f.minThroughput
	if m := profiler.MACs(small, l.Input); c.MaxMACs > 0 && m > c.MaxMACs {
		return c, usagef("--max-macs %d is below the smallest sub-network of space %s (%d MACs): raise it", c.MaxMACs, l.Space.Name, m)
	}
	if c.MinMACs > largest {
		return c, usagef("--max-macs %d puts the window's lower end (%d MACs) above the largest sub-network of space %s (%d MACs): lower --max-macs or --min-macs-ratio", c.MaxMACs, c.MinMACs, l.Space.Name, largest)
	}
	if p := profiler.Params(small, l.Input); c.MaxParams > 0 && p > c.MaxParams {
		return c, usagef("--max-params %d is below the smallest sub-network of space %s (%d params): raise it", c.MaxParams, l.Space.Name, p)
	}
	return c, nil
}

func cmdSearch(ctx context.Context, args []string, e env) error {
	f, err := parseSearchFlags(args, e)
	if err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	s, err := f.compute.session(f.data, e)
	if err != nil {
		return err
	}
	defer s.Data.Close()
	defer s.Backend.Close()
	if f.options.Constraints, err = f.constraints(s.Loaded); err != nil {
		return err
	}
	var test *evaluate.Evaluator // opened before the search, so a bad --test fails first
	if f.test != "" {
		set, err := data.Open(f.test, data.OpenOptions{})
		if err != nil {
			return fmt.Errorf("--test: %w", err)
		}
		defer set.Close()
		if test, err = s.EvaluatorOn(set, f.recalibrate); err != nil {
			return fmt.Errorf("--test %s: %w", f.test, err)
		}
	}
	cfg := s.SearchConfig(workbench.SearchSpec{Options: f.options, Journal: f.journal,
		Limit: f.limit, RecalibrateBN: f.recalibrate, ThroughputBatch: f.throughputBatch})
	if f.workers.distributed() {
		// Checked first, so a journal of another search is refused before any worker starts.
		if _, err := evolution.New(cfg); err != nil {
			return err
		}
		ev, stop, err := startWorkers(ctx, f, s, e)
		if err != nil {
			return err
		}
		defer stop()
		cfg.Evaluator = ev
	}
	search, err := evolution.New(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	runErr := runSearch(ctx, search, f.journal, e.stderr)
	recs := search.Records(0)
	// Exports are written even after an interruption: they describe what the journal holds.
	for _, w := range []struct {
		path  string
		write func(string, []evolution.Record) error
	}{{f.export, evolution.WriteCSV}, {f.summary, evolution.WriteSummary}, {f.jsonl, evolution.WriteJSONL}} {
		if w.path != "" {
			if err := w.write(w.path, recs); err != nil {
				return err
			}
		}
	}
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) || ctx.Err() != nil {
			fmt.Fprintf(e.stderr, "search: interrupted after %d evaluations; rerun the same command to resume from %s\n", len(recs), f.journal)
		}
		return runErr
	}
	var pred *workbench.SearchPredictor
	if f.options.Prescreen > 0 {
		if pred, err = workbench.SummarizePredictor(s.Loaded.Space, s.Loaded.Input, f.options.Seed, recs); err != nil {
			return err
		}
	}
	return reportSearch(ctx, e.stdout, f, recs, test, pred, time.Since(start))
}

// runSearch runs search to its end, showing progress on w; the error is the search's.
func runSearch(ctx context.Context, search *evolution.Search, journal string, w io.Writer) error {
	resumed := search.Resumed()
	if resumed > 0 {
		fmt.Fprintf(w, "search: resuming %s: %d evaluations replayed from the journal\n", journal, resumed)
	}
	if err := search.Start(ctx); err != nil {
		return err
	}
	total := search.Options().Evaluations()
	prog := newProgressLine(w, "search")
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
			pre := ""
			if p := g.Predictor; p != nil {
				pre = fmt.Sprintf("  prescreened %d of %d (%s, CV τ %s on %d)", p.Kept, p.Bred, p.Family, fmtTau(p.Tau), p.Points)
			}
			fmt.Fprintf(w, "generation %d: best %.2f%% (%.2fM MACs)  median %.2f%%  front %d  %d evaluated  %s%s\n",
				g.Generation, g.Best.Top1, float64(g.Best.MACs)/1e6, g.Median, g.FrontSize, g.Total, rate, pre)
		case evolution.EventWarning:
			fmt.Fprintf(w, "search: warning: %s\n", ev.Message)
		}
	}
	prog.done()
	return search.Wait()
}

// testScore is the best's accuracy on the held-out --test shards.
type testScore struct {
	Top1   float64 `json:"top1"` // percent
	CI95   float64 `json:"top1_ci95"`
	Images int     `json:"images"`
	Data   string  `json:"data"`
}

// reportSearch prints the best architecture, the candidates tied with it and, with --test,
// its held-out accuracy; with --json the summary with the front.
func reportSearch(ctx context.Context, w io.Writer, f searchFlags, recs []evolution.Record, test *evaluate.Evaluator, pred *workbench.SearchPredictor, took time.Duration) error {
	best := evolution.Best(recs)
	tied, perImage := evolution.TiedWith(recs, best)
	var held *testScore
	if test != nil && best.NetworkDef != "" {
		r, err := test.Evaluate(ctx, best.Arch, 0, nil)
		if err != nil {
			return fmt.Errorf("--test %s: %w", f.test, err)
		}
		held = &testScore{Top1: 100 * r.Top1, CI95: 100 * r.CI95, Images: r.Images, Data: f.test}
	}
	if f.asJSON {
		out := map[string]any{
			"evaluations": len(recs), "seconds": took.Seconds(), "best": best, "front": evolution.FrontOf(recs),
			"journal": f.journal, "max_macs": f.options.Constraints.MaxMACs, "strategy": f.options.Strategy,
		}
		if perImage {
			out["tied"] = tied
			if tied == nil {
				out["tied"] = []evolution.Tie{}
			}
		}
		if held != nil {
			out["test"] = held
		}
		if pred != nil {
			out["prescreen"] = f.options.Prescreen
			out["predictor"] = pred
		}
		return json.NewEncoder(w).Encode(out)
	}
	fmt.Fprintf(w, "best %.2f%% top-1, %.2fM MACs, %.3fM params after %d evaluations\n%s\n",
		best.Top1, float64(best.MACs)/1e6, float64(best.Params)/1e6, len(recs), best.NetworkDef)
	switch {
	case !perImage:
		fmt.Fprintln(w, "no per-image results in this journal (an older resnas wrote it): ties with the best are unknown")
	case len(tied) == 0:
		fmt.Fprintln(w, "no other candidate is statistically tied with it (95% paired interval)")
	default:
		c := tied[0]
		fmt.Fprintf(w, "%d other candidates are statistically tied with it (95%% paired interval includes 0); the cheapest: %.2f%% at %.2fM MACs (best − it %+.2f pts [%+.2f, %+.2f], p = %s), record %d\n",
			len(tied), c.Top1, float64(c.MACs)/1e6, c.Diff, c.CI95[0], c.CI95[1], formatP(c.P), c.Index)
	}
	if held != nil {
		fmt.Fprintf(w, "held-out %s: %.2f%% ± %.2f top-1 on %d images\n", f.test, held.Top1, held.CI95, held.Images)
	}
	if pred != nil {
		fmt.Fprintf(w, "predictor: %s on %d architectures, %d-fold CV: τ %s, MAE %.3f pts, %.0f%% inside ±1.96σ; top 10%%: τ %s, MAE %.3f pts\n",
			pred.Family, pred.Points, pred.Folds, fmtTau(pred.CV.Tau), pred.CV.MAE, 100*pred.CV.Coverage, fmtTau(pred.CVTop.Tau), pred.CVTop.MAE)
		if o := pred.Online; o != nil {
			fmt.Fprintf(w, "predicted before measuring, the %d prescreened candidates: τ %s, MAE %.3f pts, %.0f%% inside ±1.96σ\n",
				o.N, fmtTau(o.Tau), o.MAE, 100*o.Coverage)
		}
	}
	return nil
}

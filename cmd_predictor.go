package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/resnas/resnas/data"
	"github.com/resnas/resnas/predict"
	"github.com/resnas/resnas/workbench"
)

// predictorFlags are resnas predictor's flags, parsed.
type predictorFlags struct {
	compute    computeFlags
	data       string
	journals   archList // repeated --journal
	family     string
	folds      int
	seed       uint64
	trainFirst int
	asJSON     bool
}

func parsePredictorFlags(args []string, e env) (predictorFlags, error) {
	var f predictorFlags
	fs := newFlags("predictor")
	f.compute.register(withoutArch{fs}, false)
	fs.StringVar(&f.data, "data", "", "the shards the journals' searches evaluated on (default with the shipped checkpoint: its sub-val)")
	fs.Var(&f.journals, "journal", "a search journal of this checkpoint and data; repeat for several")
	fs.StringVar(&f.family, "family", "", "ridge, gp or ridge+gp (default: the best by cross-validated Kendall τ)")
	fs.IntVar(&f.folds, "folds", predict.DefaultFolds, "cross-validation folds")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of the folds and the GP's subsets")
	fs.IntVar(&f.trainFirst, "train-first", 0, "also train on the first N distinct architectures (journal order) and score on the rest (0: cross-validation only)")
	fs.BoolVar(&f.asJSON, "json", false, "print JSON")
	if err := parseFlags(fs, args, e); err != nil {
		return f, err
	}
	switch {
	case len(f.journals) == 0:
		return f, usagef("--journal FILE is required (a search journal of this checkpoint; repeat for several)")
	case f.folds < 2:
		return f, usagef("--folds must be at least 2, not %d", f.folds)
	case f.trainFirst < 0:
		return f, usagef("--train-first must not be negative, not %d", f.trainFirst)
	case f.family != predict.FamilyAuto && !slices.Contains(predict.Families(), f.family):
		return f, usagef("--family must be ridge, gp or ridge+gp, not %q (omit it to choose by cross-validation)", f.family)
	}
	return f, nil
}

func cmdPredictor(ctx context.Context, args []string, e env) error {
	f, err := parsePredictorFlags(args, e)
	if err != nil {
		return err
	}
	l, err := f.compute.load()
	if err != nil {
		return err
	}
	// The journals name their data by the manifest's digest: the images themselves are not read.
	var m *data.Manifest
	switch {
	case f.data != "":
		if m, err = data.ReadManifest(f.data); err != nil {
			return fmt.Errorf("--data: %w", err)
		}
	case f.compute.checkpoint == "":
		set, err := workbench.OpenData("", "") // the shipped sub-val
		if err != nil {
			return err
		}
		m = set.Manifest
		set.Close()
	default:
		return usagef("--data DIR is required with --checkpoint: the shards the journals' searches evaluated on")
	}
	dataHash := workbench.ManifestHash(m)
	rep, err := workbench.TrainPredictor(l, dataHash, f.journals, workbench.PredictorOptions{Seed: f.seed, Family: f.family,
		Folds: f.folds, TrainFirst: f.trainFirst, Warn: func(w string) { fmt.Fprintf(e.stderr, "predictor: warning: %s\n", w) }})
	if err != nil {
		return err
	}
	if f.asJSON {
		return json.NewEncoder(e.stdout).Encode(rep)
	}
	writePredictorReport(e.stdout, rep)
	return nil
}

func writePredictorReport(w io.Writer, rep workbench.PredictorReport) {
	fmt.Fprintf(w, "predictor: %d distinct architectures (%d evaluations) from %d journals; %d-fold cross-validation, each point predicted by a model that never saw it\n",
		rep.Points, rep.Records, len(rep.Journals), rep.Families[0].Folds)
	fmt.Fprintln(w, "family           τ      MAE  in ±1.96σ   top 10%: τ, MAE, in ±1.96σ")
	for i, q := range rep.Families {
		mark := ""
		if i == 0 {
			mark = "  ← chosen"
		}
		fmt.Fprintf(w, "%-9s %8s %8.3f %9.0f%%   %s, %.3f, %.0f%% (n %d)%s\n", q.Family, fmtTau(q.All.Tau), q.All.MAE, 100*q.All.Coverage,
			fmtTau(q.Top.Tau), q.Top.MAE, 100*q.Top.Coverage, q.Top.N, mark)
	}
	if h := rep.Holdout; h != nil {
		fmt.Fprintf(w, "held out: %s trained on the first %d, scored on the next %d: τ %s, MAE %.3f pts, %.0f%% inside ±1.96σ; top 10%% (n %d): τ %s, MAE %.3f pts, %.0f%% inside\n",
			h.Family, h.Train, h.Test, fmtTau(h.All.Tau), h.All.MAE, 100*h.All.Coverage, h.Top.N, fmtTau(h.Top.Tau), h.Top.MAE, 100*h.Top.Coverage)
	}
}

// fmtTau prints τ with three decimals, "n/a" where undefined (constant values).
func fmtTau(t float64) string {
	if math.IsNaN(t) {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", t)
}

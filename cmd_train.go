package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/data"
	"github.com/resnas/resnas/internal/gemm/backend"
	"github.com/resnas/resnas/supernet"
	sntrain "github.com/resnas/resnas/supernet/train"
)

// trainFlags are resnas train's command line: the recipe flags go straight into opts, the
// rest say where data, output and state are and how to report.
type trainFlags struct {
	space, dataDir, out, stateDir string
	resume, restart, keepState    bool
	half, asJSON                  bool
	threads                       int
	valImages                     int             // sub-val images scored after each epoch; 0: all
	valScored                     int             // what that came to on the data given
	opts                          sntrain.Options // the recipe, from DefaultOptions and flags
	command                       string          // recorded in the output's provenance
}

// cmdTrain is resnas train: flags (parseTrainFlags), their checks (validate), the data and
// GEMM backend the trainer runs on, the run (runTraining) and the output (finish).
func cmdTrain(ctx context.Context, args []string, e env) error {
	f, err := parseTrainFlags(args, e)
	if err != nil {
		return err
	}
	sp, err := f.validate()
	if err != nil {
		return err
	}
	train, val, err := openTrainData(f.dataDir, sp)
	if err != nil {
		return err
	}
	defer train.Close()
	defer val.Close()
	sel, err := backend.Open(backend.Options{Device: "cpu", Threads: f.threads, Backend: e.getenv("RESNAS_GEMM")})
	if err != nil {
		return err
	}
	defer sel.Close()
	d := f.opts
	m := train.Manifest
	d.Space, d.Train, d.Val, d.Gemm, d.Workers = *sp, train, val, sel.Backend, f.threads
	if f.valImages > 0 && f.valImages < val.Len() {
		// A prefix of a build is a seeded random sample (data.Set.Slice): the per-epoch
		// curve stays comparable while the time goes to training.
		if d.Val, err = val.Slice(0, f.valImages); err != nil {
			return err
		}
	}
	f.valScored = d.Val.Len()
	d.Dir, d.Resume = f.stateDir, f.resume
	d.Mean, d.Std, d.Command = m.Mean, m.Std, f.command
	if f.restart {
		if err := os.Remove(f.statePath()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("--restart: %v", err)
		}
	}
	start := time.Now()
	res, last, err := runTraining(ctx, d, f, e, start)
	if err != nil {
		return err
	}
	return f.finish(res, last, e, start)
}

// parseTrainFlags reads resnas train's flags.
func parseTrainFlags(args []string, e env) (*trainFlags, error) {
	f := &trainFlags{opts: sntrain.DefaultOptions(), command: "resnas train " + strings.Join(args, " ")}
	d := &f.opts
	fs := newFlags("train")
	fs.StringVar(&f.space, "space", "fmnist-wide", "search space to train (resnas spaces lists them; the shipped default is fmnist-wide)")
	fs.StringVar(&f.dataDir, "data", "", "shard directory of a train build (holding sub-train/ and sub-val/)")
	fs.StringVar(&f.out, "out", "", "trained supernet to write (.safetensors)")
	fs.StringVar(&f.stateDir, "state", "", "directory for the per-epoch training state (default: OUT with its extension replaced by .state, e.g. sn.state for sn.safetensors); removed after a successful run unless --keep-state")
	fs.BoolVar(&f.resume, "resume", false, "continue from the last complete epoch in the state directory")
	fs.BoolVar(&f.restart, "restart", false, "discard the state of an interrupted run and train from epoch 1")
	fs.BoolVar(&f.keepState, "keep-state", false, "keep the state directory after a successful run (it holds the weights and optimizer moments, several times the output's size)")
	fs.BoolVar(&f.half, "float16", false, "store the trained weights as float16")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads (default: all cores)")
	fs.IntVar(&f.valImages, "val-images", 0, "sub-val images the largest and smallest sub-networks are scored on after each epoch (0: all; a prefix is a seeded random sample)")
	fs.IntVar(&d.Epochs, "epochs", d.Epochs, "epochs")
	fs.IntVar(&d.BatchSize, "batch", d.BatchSize, "images per step")
	fs.IntVar(&d.ExamplesPerArch, "examples-per-arch", d.ExamplesPerArch, "images per sampled sub-network (batch/this sub-networks per step)")
	fs.IntVar(&d.ChannelWarmupEpochs, "channel-warmup", d.ChannelWarmupEpochs, "epochs over which smaller choices are phased in (and rewiring runs)")
	fs.Float64Var(&d.LR, "lr", d.LR, "peak learning rate")
	fs.IntVar(&d.LRWarmupEpochs, "lr-warmup", d.LRWarmupEpochs, "linear learning-rate warm-up epochs")
	fs.Float64Var(&d.WeightDecay, "wd", d.WeightDecay, "AdamW weight decay")
	fs.Float64Var(&d.LabelSmoothing, "smoothing", d.LabelSmoothing, "label smoothing")
	fs.Float64Var(&d.DropPath, "drop-path", d.DropPath, "largest drop-path rate")
	fs.Float64Var(&d.EraseProb, "erase", d.EraseProb, "random-erasing probability")
	fs.Uint64Var(&d.Seed, "seed", d.Seed, "random seed (data order, augmentation, architecture draws)")
	fs.BoolVar(&d.Sandwich, "sandwich", d.Sandwich, "train the largest and smallest sub-networks in every batch (not in the reference)")
	fs.IntVar(&d.LargestGroups, "largest-groups", d.LargestGroups, "with --sandwich, how many of each batch's sub-networks are the largest (more trains it on more images per step)")
	fs.BoolVar(&f.asJSON, "json", false, "print a JSON summary at the end (progress goes to stderr)")
	if err := parseFlags(fs, args, e); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *trainFlags) statePath() string { return filepath.Join(f.stateDir, sntrain.StateFile) }

// validate checks the flags before any data is read, fills in the default --state, and
// returns the search space: the outputs are written only after epochs of work, so a path
// that cannot be written fails now.
func (f *trainFlags) validate() (*supernet.Space, error) {
	d := f.opts
	if f.dataDir == "" || f.out == "" {
		return nil, usagef("--data and --out are required")
	}
	if d.Epochs <= 0 || d.BatchSize <= 0 || d.ExamplesPerArch <= 0 || d.BatchSize%d.ExamplesPerArch != 0 {
		return nil, usagef("--epochs and --batch must be > 0 and --batch a multiple of --examples-per-arch")
	}
	if f.valImages < 0 {
		return nil, usagef("--val-images %d: want 0 (all sub-val images) or a positive count", f.valImages)
	}
	if f.resume && f.restart {
		return nil, usagef("--resume and --restart exclude each other: continue the interrupted run or start over")
	}
	stateGiven := f.stateDir != ""
	if !stateGiven {
		f.stateDir = strings.TrimSuffix(f.out, filepath.Ext(f.out)) + ".state"
	}
	if err := checkDistinctOutputs(outputPath{"--out", f.out}, outputPath{"--state", f.stateDir}); err != nil {
		if !stateGiven {
			return nil, usagef("--out %s is also its state directory (OUT with .state for its extension): name --out e.g. %s, or pass --state DIR",
				f.out, strings.TrimSuffix(f.out, filepath.Ext(f.out))+".safetensors")
		}
		return nil, err
	}
	if err := checkTrainData(f.dataDir); err != nil {
		return nil, err
	}
	if st, err := os.Stat(f.out); err == nil && st.IsDir() {
		return nil, fmt.Errorf("--out %s is a directory: give a file path such as %s", f.out, filepath.Join(f.out, "supernet.safetensors"))
	}
	if err := checkDirCreatable("--out", f.out, filepath.Dir(f.out)); err != nil {
		return nil, err
	}
	if err := checkDirCreatable("--state", f.stateDir, f.stateDir); err != nil {
		return nil, err
	}
	if err := checkEarlierState(f.statePath(), f.resume, f.restart); err != nil {
		return nil, err
	}
	sp, err := supernet.Lookup(f.space)
	if err != nil {
		return nil, usageError{Msg: err.Error()}
	}
	return sp, nil
}

// openTrainData opens the sub-train and sub-val shards of a train build and checks that
// they fit space sp.
func openTrainData(dir string, sp *supernet.Space) (train, val *data.Set, err error) {
	// Training draws images in a random order across shards: keep their pages resident.
	train, err = data.Open(filepath.Join(dir, data.SplitSubTrain), data.OpenOptions{RandomAccess: true})
	if err != nil {
		return nil, nil, err
	}
	val, err = data.Open(filepath.Join(dir, data.SplitSubVal), data.OpenOptions{})
	if err != nil {
		train.Close()
		return nil, nil, err
	}
	m := train.Manifest
	switch {
	case m.ImageSize != sp.Input.Size || m.Channels != sp.Input.Channels:
		err = fmt.Errorf("%s: images are %d×%d×%d, but space %s needs %d×%d×%d", dir, m.Channels, m.ImageSize, m.ImageSize, sp.Name, sp.Input.Channels, sp.Input.Size, sp.Input.Size)
	case m.Classes != sp.Classes:
		err = fmt.Errorf("%s: %d classes, but space %s has %d", dir, m.Classes, sp.Name, sp.Classes)
	}
	if err != nil {
		train.Close()
		val.Close()
		return nil, nil, err
	}
	return train, val, nil
}

// runTraining runs the trainer with a progress line and a summary line per epoch on stderr;
// it returns the last epoch's report. When interrupted it says what the state holds.
func runTraining(ctx context.Context, d sntrain.Options, f *trainFlags, e env, start time.Time) (sntrain.Result, sntrain.Progress, error) {
	prog := newProgressLine(e.stderr, "train")
	var last sntrain.Progress
	res, err := sntrain.Run(ctx, d, func(p sntrain.Progress) {
		if p.EpochDone {
			prog.done()
			fmt.Fprintf(e.stderr, "epoch %d/%d  loss %.4f  sub-val top-1 (%d images) largest %.2f%% smallest %.2f%%  (%s)\n",
				p.Epoch+1, p.Epochs, p.Loss, f.valScored, p.ValTop1Largest, p.ValTop1Smallest, time.Since(start).Round(time.Second))
			last = p
			return
		}
		done := p.Epoch*p.Steps + p.Step
		prog.update(done, p.Epochs*p.Steps, fmt.Sprintf("epoch %d/%d step %d/%d %.0f img/s loss %.4f lr %.2g", p.Epoch+1, p.Epochs, p.Step, p.Steps, p.ImagesPerSec, p.Loss, p.LR))
	})
	prog.done()
	if err != nil && ctx.Err() != nil {
		reportInterrupted(e, f.statePath(), f.stateDir)
	}
	return res, last, err
}

// reportInterrupted says how an interrupted run goes on.
func reportInterrupted(e env, statePath, stateDir string) {
	if info, serr := sntrain.ReadStateInfo(statePath); serr == nil {
		// The epoch's summary line may not have been printed (the interrupt can land
		// in its validation pass), so say which epoch the state holds.
		fmt.Fprintf(e.stderr, "train: interrupted with epoch %d of %d saved; continue with the same command plus --resume (state in %s)\n",
			info.Epoch, info.Epochs, stateDir)
	} else if _, serr := os.Stat(statePath); serr == nil {
		fmt.Fprintf(e.stderr, "train: interrupted; continue with the same command plus --resume (state in %s)\n", stateDir)
	} else {
		fmt.Fprintln(e.stderr, "train: interrupted before the first epoch ended; nothing to resume")
	}
}

// finish saves the trained supernet to --out (atomically), removes the state unless
// --keep-state, and reports.
func (f *trainFlags) finish(res sntrain.Result, last sntrain.Progress, e env, start time.Time) error {
	res.Meta.Provenance.Source = f.dataDir
	if err := os.MkdirAll(filepath.Dir(f.out), 0o755); err != nil {
		return fmt.Errorf("--out: %w", err) // the path error names the folder
	}
	if err := checkpoints.Save(f.out, res.Weights, res.Meta, checkpoints.SaveOptions{Float16: f.half}); err != nil {
		return err
	}
	epochs := f.opts.Epochs
	summary := map[string]any{"out": f.out, "epochs": epochs, "seconds": time.Since(start).Seconds(),
		"subval_top1_largest": last.ValTop1Largest, "subval_top1_smallest": last.ValTop1Smallest,
		"subval_images": f.valScored}
	if f.keepState {
		summary["state"] = f.stateDir
	} else {
		removeTrainState(f.stateDir)
	}
	if f.asJSON {
		return json.NewEncoder(e.stdout).Encode(summary)
	}
	fmt.Fprintf(e.stdout, "wrote %s (%s, %s)\n", f.out, plural(epochs, "epoch"), time.Since(start).Round(time.Second))
	return nil
}

// checkEarlierState refuses to start over silently on the state of an interrupted run: it
// holds hours of training that --resume continues.
func checkEarlierState(path string, resume, restart bool) error {
	_, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && resume:
		return fmt.Errorf("--resume: no training state %s (start without --resume, or pass the --state of the interrupted run)", path)
	case errors.Is(err, os.ErrNotExist) || restart:
		return nil
	case err != nil:
		return fmt.Errorf("--state: %v", err)
	case resume:
		return nil
	}
	info, err := sntrain.ReadStateInfo(path)
	if err != nil {
		return fmt.Errorf("%v, where this run keeps its training state: start over with --restart (which replaces it) or choose another --state", err)
	}
	if info.Epochs > 0 && info.Epoch >= info.Epochs {
		// Kept by --keep-state: more --epochs with --resume trains further.
		return fmt.Errorf("%s holds the state of a finished run (%d of %d epochs): train further with --resume and more --epochs, or start over with --restart (or delete %s)", path, info.Epoch, info.Epochs, filepath.Dir(path))
	}
	of := ""
	if info.Epochs > 0 {
		of = fmt.Sprintf(" of %d", info.Epochs)
	}
	return fmt.Errorf("%s holds an interrupted run (epoch %d%s done): continue it with --resume, or start over with --restart (or delete %s)", path, info.Epoch, of, filepath.Dir(path))
}

// removeTrainState deletes what training wrote in dir once --out holds the result; dir itself
// goes only when nothing else is in it (it may be a directory the user named with --state).
func removeTrainState(dir string) {
	os.Remove(filepath.Join(dir, sntrain.StateFile))
	os.Remove(filepath.Join(dir, oldWeightsFile))
	os.Remove(dir)
}

// oldWeightsFile is where earlier versions' trainer also wrote the finished weights in the
// state directory; removed with the state so such a directory still goes.
const oldWeightsFile = "supernet.safetensors"

// checkTrainData says what is wrong with a --data that is not a training build: missing, a
// file, or the test split's shards (which have no sub-train).
func checkTrainData(dir string) error {
	hint := "build one with resnas shards build --split train --out DIR"
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("--data %s does not exist: %s", dir, hint)
	case err != nil:
		return fmt.Errorf("--data %s: %v", dir, err)
	case !st.IsDir():
		return fmt.Errorf("--data %s is not a shards folder: %s", dir, hint)
	}
	if _, err := os.Stat(filepath.Join(dir, data.SplitSubTrain)); err == nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, data.ManifestFile)); err == nil {
		return fmt.Errorf("--data %s holds test shards, which have no %s split: %s", dir, data.SplitSubTrain, hint)
	}
	return fmt.Errorf("--data %s has no %s shards: %s", dir, data.SplitSubTrain, hint)
}

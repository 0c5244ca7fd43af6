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

func cmdTrain(ctx context.Context, args []string, e env) error {
	fs := newFlags("train")
	d := sntrain.DefaultOptions()
	space := fs.String("space", "fmnist", "search space to train (resnas spaces lists them)")
	dataDir := fs.String("data", "", "shard directory of a train build (holding sub-train/ and sub-val/)")
	out := fs.String("out", "", "trained supernet to write (.safetensors)")
	stateDir := fs.String("state", "", "directory for the per-epoch training state (default: OUT with its extension replaced by .state, e.g. sn.state for sn.safetensors); removed after a successful run unless --keep-state")
	resume := fs.Bool("resume", false, "continue from the last complete epoch in the state directory")
	restart := fs.Bool("restart", false, "discard the state of an interrupted run and train from epoch 1")
	keepState := fs.Bool("keep-state", false, "keep the state directory after a successful run (it holds the weights and optimizer moments, several times the output's size)")
	half := fs.Bool("float16", false, "store the trained weights as float16")
	threads := fs.Int("threads", 0, "CPU threads (default: all cores)")
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
	asJSON := fs.Bool("json", false, "print a JSON summary at the end (progress goes to stderr)")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if *dataDir == "" || *out == "" {
		return usagef("--data and --out are required")
	}
	if d.Epochs <= 0 || d.BatchSize <= 0 || d.ExamplesPerArch <= 0 || d.BatchSize%d.ExamplesPerArch != 0 {
		return usagef("--epochs and --batch must be > 0 and --batch a multiple of --examples-per-arch")
	}
	if *resume && *restart {
		return usagef("--resume and --restart exclude each other: continue the interrupted run or start over")
	}
	stateGiven := *stateDir != ""
	if !stateGiven {
		*stateDir = strings.TrimSuffix(*out, filepath.Ext(*out)) + ".state"
	}
	if err := checkDistinctOutputs(outputPath{"--out", *out}, outputPath{"--state", *stateDir}); err != nil {
		if !stateGiven {
			return usagef("--out %s is also its state directory (OUT with .state for its extension): name --out e.g. %s, or pass --state DIR",
				*out, strings.TrimSuffix(*out, filepath.Ext(*out))+".safetensors")
		}
		return err
	}
	if err := checkTrainData(*dataDir); err != nil {
		return err
	}
	// Both are written only after epochs of work: a path that cannot be written fails now.
	if st, err := os.Stat(*out); err == nil && st.IsDir() {
		return fmt.Errorf("--out %s is a directory: give a file path such as %s", *out, filepath.Join(*out, "supernet.safetensors"))
	}
	if err := checkDirCreatable("--out", *out, filepath.Dir(*out)); err != nil {
		return err
	}
	if err := checkDirCreatable("--state", *stateDir, *stateDir); err != nil {
		return err
	}
	statePath := filepath.Join(*stateDir, sntrain.StateFile)
	if err := checkEarlierState(statePath, *resume, *restart); err != nil {
		return err
	}
	sp, err := supernet.Lookup(*space)
	if err != nil {
		return usageError{err.Error()}
	}
	train, err := data.Open(filepath.Join(*dataDir, data.SplitSubTrain), data.OpenOptions{})
	if err != nil {
		return err
	}
	defer train.Close()
	val, err := data.Open(filepath.Join(*dataDir, data.SplitSubVal), data.OpenOptions{})
	if err != nil {
		return err
	}
	defer val.Close()
	m := train.Manifest
	if m.ImageSize != sp.Input.Size || m.Channels != sp.Input.Channels {
		return fmt.Errorf("%s: images are %d×%d×%d, but space %s needs %d×%d×%d", *dataDir, m.Channels, m.ImageSize, m.ImageSize, sp.Name, sp.Input.Channels, sp.Input.Size, sp.Input.Size)
	}
	if m.Classes != sp.Classes {
		return fmt.Errorf("%s: %d classes, but space %s has %d", *dataDir, m.Classes, sp.Name, sp.Classes)
	}
	sel, err := backend.Open(backend.Options{Device: "cpu", Threads: *threads, Backend: e.getenv("RESNAS_GEMM")})
	if err != nil {
		return err
	}
	defer sel.Close()
	d.Space, d.Train, d.Val, d.Gemm, d.Workers = *sp, train, val, sel.Backend, *threads
	d.Dir, d.Resume = *stateDir, *resume
	d.Mean, d.Std, d.Command = m.Mean, m.Std, "resnas train "+strings.Join(args, " ")
	if *restart {
		if err := os.Remove(statePath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("--restart: %v", err)
		}
	}
	start := time.Now()
	prog := newProgressLine(e.stderr, "train")
	var last sntrain.Progress
	res, err := sntrain.Run(ctx, d, func(p sntrain.Progress) {
		if p.EpochDone {
			prog.done()
			fmt.Fprintf(e.stderr, "epoch %d/%d  loss %.4f  sub-val top-1 largest %.2f%% smallest %.2f%%  (%s)\n",
				p.Epoch+1, p.Epochs, p.Loss, p.ValTop1Largest, p.ValTop1Smallest, time.Since(start).Round(time.Second))
			last = p
			return
		}
		done := p.Epoch*p.Steps + p.Step
		prog.update(done, p.Epochs*p.Steps, fmt.Sprintf("epoch %d/%d step %d/%d %.0f img/s loss %.4f lr %.2g", p.Epoch+1, p.Epochs, p.Step, p.Steps, p.ImagesPerSec, p.Loss, p.LR))
	})
	prog.done()
	if err != nil {
		if ctx.Err() != nil {
			if info, serr := sntrain.ReadStateInfo(statePath); serr == nil {
				// The epoch's summary line may not have been printed (the interrupt can land
				// in its validation pass), so say which epoch the state holds.
				fmt.Fprintf(e.stderr, "train: interrupted with epoch %d of %d saved; continue with the same command plus --resume (state in %s)\n",
					info.Epoch, info.Epochs, *stateDir)
			} else if _, serr := os.Stat(statePath); serr == nil {
				fmt.Fprintf(e.stderr, "train: interrupted; continue with the same command plus --resume (state in %s)\n", *stateDir)
			} else {
				fmt.Fprintln(e.stderr, "train: interrupted before the first epoch ended; nothing to resume")
			}
		}
		return err
	}
	// The trainer returns the finished supernet with its metadata; --out gets them atomically.
	res.Meta.Provenance.Source = *dataDir
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("--out %s: %v", *out, rootCause(err))
	}
	if err := checkpoints.Save(*out, res.Weights, res.Meta, checkpoints.SaveOptions{Float16: *half}); err != nil {
		return err
	}
	summary := map[string]any{"out": *out, "epochs": d.Epochs, "seconds": time.Since(start).Seconds(),
		"subval_top1_largest": last.ValTop1Largest, "subval_top1_smallest": last.ValTop1Smallest}
	if *keepState {
		summary["state"] = *stateDir
	} else {
		removeTrainState(*stateDir)
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(summary)
	}
	fmt.Fprintf(e.stdout, "wrote %s (%s, %s)\n", *out, plural(d.Epochs, "epoch"), time.Since(start).Round(time.Second))
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

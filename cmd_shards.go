package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/data"
)

func cmdShards(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "build" {
		return usagef("want the subcommand build")
	}
	fs := newFlags("shards build")
	from := fs.String("from", "", "IDX directory (Fashion-MNIST/MNIST, gz or raw) or image-folder tree (a subfolder per class)")
	out := fs.String("out", "", "directory to create")
	split := fs.String("split", "train", "train (writes sub-train/ and sub-val/) or test")
	holdout := fs.Int("holdout-per-class", data.DefaultHoldoutPerClass, "train images per class held out as sub-val")
	shardSize := fs.Int("shard-size", 0, "images per shard (0: about 32 MiB of pixels)")
	seed := fs.Uint64("seed", 0, "seed of the hold-out choice and image order")
	size := fs.Int("img", 0, "stored image side (0: 32 for 28-px IDX, 224 for folders)")
	overwrite := fs.Bool("overwrite", false, "replace an existing output of an earlier build")
	limit := fs.Int("limit", 0, "--split test only (a train build refuses it): keep the first N images of the seeded order, a random sample (0: all)")
	files := fs.String("files", "", "build exactly the images this list names (the reference's sub_val_files.pickle, or class/file lines), as one set")
	skipBad := fs.Bool("skip-bad", false, "image folders: leave out files that cannot be decoded, listing them in the manifest (default: stop at the first, naming it)")
	asJSON := fs.Bool("json", false, "print the manifest as JSON")
	if err := parseFlags(fs, args[1:], e); err != nil {
		return err
	}
	if *from == "" || *out == "" {
		return usagef("--from and --out are required")
	}
	if *split != "train" && *split != "test" {
		return usagef("--split must be train or test, not %q", *split)
	}
	var list map[string][]string
	if *files != "" {
		splitSet := false
		fs.Visit(func(f *flag.Flag) { splitSet = splitSet || f.Name == "split" })
		if splitSet && *split != "test" {
			return usagef("--files builds exactly the listed images as one set: leave --split out (or give --split test)")
		}
		if *limit > 0 {
			return usagef("--files and --limit exclude each other: the list says which images to take")
		}
		*split = "test"
		var err error
		if list, err = checkpoints.ReadFileList(*files); err != nil {
			return fmt.Errorf("--files: %w", err)
		}
	}
	for _, f := range []struct {
		name  string
		value int
	}{{"--limit", *limit}, {"--holdout-per-class", *holdout}, {"--shard-size", *shardSize}, {"--img", *size}} {
		if f.value < 0 {
			return usagef("%s must not be negative, not %d (0 takes the default)", f.name, f.value)
		}
	}
	// Sub-val holds out a fixed number of images per class from the whole train set; a
	// sample of it would change both splits, so only test builds take a limit.
	if *limit > 0 && *split == "train" {
		return usagef("--limit applies to --split test only: a train build uses every image (shrink the source instead)")
	}
	// The build writes next to OUT and renames; make sure that place exists.
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(*out)), 0o755); err != nil {
		return err
	}
	prog := newProgressLine(e.stderr, "shards")
	m, err := data.Build(ctx, data.BuildOptions{From: *from, Out: *out, Split: *split, HoldoutPerClass: *holdout, ShardSize: *shardSize, Seed: *seed, ImageSize: *size, Overwrite: *overwrite, Limit: *limit, Files: list, SkipBad: *skipBad},
		func(done, total int) { prog.update(done, total, fmt.Sprintf("images, %.1f/s", prog.rate(done))) })
	prog.done()
	if err != nil {
		return err
	}
	// A train build writes two splits; Build returns sub-train's manifest, sub-val's is on disk.
	splits := []builtSplit{{Dir: *out, Manifest: m}}
	if *split == "train" {
		splits[0].Dir = filepath.Join(*out, data.SplitSubTrain)
		dir := filepath.Join(*out, data.SplitSubVal)
		val, err := data.ReadManifest(dir)
		if err != nil {
			return err
		}
		splits = append(splits, builtSplit{Dir: dir, Manifest: val})
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"out": *out, "splits": splits})
	}
	for _, s := range splits {
		fmt.Fprintf(e.stdout, "%s: %s of %d×%d×%d in %s (%s)\n", s.Dir, plural(s.Count, "image"), s.Channels, s.ImageSize, s.ImageSize, plural(len(s.Shards), "shard"), s.Split)
	}
	if n := len(m.Skipped); n > 0 {
		fmt.Fprintf(e.stderr, "%s left out as unreadable (listed under \"skipped\" in %s), the first: %s: %s\n", plural(n, "file"), data.ManifestFile, m.Skipped[0].Path, m.Skipped[0].Reason)
	}
	return nil
}

// builtSplit is one split a build wrote: its directory and manifest, for the report.
type builtSplit struct {
	Dir string `json:"dir"`
	*data.Manifest
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

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
	limit := fs.Int("limit", 0, "test split only: keep the first N images of the seeded order, a random sample (0: all)")
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
	// The build writes next to OUT and renames; make sure that place exists.
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(*out)), 0o755); err != nil {
		return err
	}
	prog := newProgressLine(e.stderr, "shards")
	m, err := data.Build(ctx, data.BuildOptions{From: *from, Out: *out, Split: *split, HoldoutPerClass: *holdout, ShardSize: *shardSize, Seed: *seed, ImageSize: *size, Overwrite: *overwrite, Limit: *limit},
		func(done, total int) { prog.update(done, total, "images") })
	prog.done()
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(m)
	}
	fmt.Fprintf(e.stdout, "%s: %d images of %d×%d×%d in %d shards (%s)\n", *out, m.Count, m.Channels, m.ImageSize, m.ImageSize, len(m.Shards), m.Split)
	return nil
}

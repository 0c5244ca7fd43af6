package data

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/resnas/resnas/internal/atomicfile"
)

// Defaults of BuildOptions.
const (
	DefaultHoldoutPerClass = 500
	// defaultShardBytes sets the default images per shard: about this many pixel bytes.
	defaultShardBytes = 32 << 20
)

// BuildOptions say what Build converts and how.
type BuildOptions struct {
	// From is an MNIST-style IDX directory (train-images-idx3-ubyte[.gz],
	// train-labels-idx1-ubyte[.gz], t10k-…) or an image-folder tree (one subfolder of
	// JPEG/PNG files per class).
	From string
	// Out is the directory to create. For Split "test" it holds the test shards; for "train"
	// it holds sub-train/ and sub-val/.
	Out string
	// Split is "train" (split into sub-train and sub-val) or "test".
	Split string
	// HoldoutPerClass is the number of train images per class put in sub-val; 0 means
	// DefaultHoldoutPerClass. Ignored for "test".
	HoldoutPerClass int
	// ShardSize is the number of images per shard; 0 means about 32 MiB of pixels.
	ShardSize int
	// Seed drives the hold-out choice and the stored image order.
	Seed uint64
	// ImageSize is the stored side S; 0 means natural: IDX sides rounded up to a multiple of
	// 16 by zero-padding (28 → 32), 224 for image folders.
	ImageSize int
	// Channels is 1 or 3; 0 means natural: 1 for IDX, 3 for image folders.
	Channels int
	// ClassNames replaces the class names (one per class). Default: Fashion-MNIST's names when
	// From's path says "fashion", label numbers for other IDX data, folder names otherwise.
	ClassNames []string
	// Mean and Std replace the per-channel normalisation (0..1 scale). Default: computed over
	// the IDX train images at the stored size; ImageNet's values for image folders.
	Mean, Std []float64
	// Files, for an image folder, selects exactly these images: class folder → file names
	// (checkpoints.ReadFileList reads the reference's sub_val_files.pickle). Classes keep the
	// numbers of all the tree's class folders in name order, as torchvision's ImageFolder
	// gives them; a listed file that is missing is an error naming it. Use with Split "test".
	Files map[string][]string
	// Overwrite replaces an existing Out that holds an earlier build.
	Overwrite bool
	// Limit keeps only the first Limit images of a test split's seeded order, a random sample
	// (for small shards to ship); 0 keeps all. Train builds ignore it.
	Limit int
	// SkipBad leaves out image-folder files that cannot be decoded, listing each in the
	// manifest's Skipped (path and reason), instead of stopping at the first with an error
	// naming it. Every image is then decoded twice: a checking pass first, so the splits are
	// planned over the readable images only.
	SkipBad bool
}

// source is a dataset being converted: images at the final geometry, with labels.
type source interface {
	Len() int
	Label(i int) int
	// Decode writes image i as C·H·W bytes into dst. It may run on several goroutines at once.
	Decode(i int, dst []byte) error
}

// splitPlan is one output split: the source images in their stored order.
type splitPlan struct {
	name  string // SplitTest, SplitSubTrain or SplitSubVal
	dir   string // relative to Out
	items []int
}

// Build converts opts.From into shards under opts.Out, calling progress (if not nil) with the
// images written so far. Out appears whole or not at all: the build runs in a temporary
// directory beside it, renamed into place at the end and removed on error or cancellation.
// It returns the manifest of the test split, or of sub-train for a train build (sub-val's is
// in Out/sub-val; see ReadManifest).
func Build(ctx context.Context, opts BuildOptions, progress func(done, total int)) (*Manifest, error) {
	if err := checkBuildOptions(&opts); err != nil {
		return nil, err
	}
	if err := checkOut(opts.Out, opts.Overwrite); err != nil {
		return nil, err
	}

	var src source
	var base *Manifest
	var err error
	if findIDX(opts.From, "train", "images-idx3-ubyte") != "" || findIDX(opts.From, "t10k", "images-idx3-ubyte") != "" {
		if opts.Files != nil {
			return nil, fmt.Errorf("%s: a file list selects images of an image-folder tree, and this is an IDX directory", opts.From)
		}
		src, base, err = openIDX(&opts)
	} else {
		src, base, err = openFolder(&opts)
	}
	if err != nil {
		return nil, err
	}
	if fsrc, ok := src.(*folderSource); ok && opts.SkipBad {
		if base.Skipped, err = fsrc.dropUnreadable(ctx, opts.From); err != nil {
			return nil, fmt.Errorf("building %s: %w", opts.Out, err)
		}
		if fsrc.Len() == 0 && len(base.Skipped) == 0 {
			return nil, fmt.Errorf("%s: no images to build", opts.From)
		}
		if fsrc.Len() == 0 {
			first := base.Skipped[0]
			return nil, fmt.Errorf("%s: none of the %d images could be decoded (the first, %s: %s)", opts.From, len(base.Skipped), first.Path, first.Reason)
		}
	}
	base.Format, base.Version, base.Seed = ManifestFormat, ManifestVersion, opts.Seed
	base.Classes = len(base.ClassNames)
	base.LabelBytes = labelBytesFor(base.Classes)
	if len(base.Mean) != base.Channels || len(base.Std) != base.Channels {
		return nil, fmt.Errorf("mean/std: %d/%d values for %d channels (give one value per channel)", len(base.Mean), len(base.Std), base.Channels)
	}

	plans, err := planSplits(src, base, &opts)
	if err != nil {
		return nil, err
	}
	shardSize := opts.ShardSize
	if shardSize == 0 {
		shardSize = max(1, defaultShardBytes/base.ImageBytes())
	}

	tmp, err := os.MkdirTemp(filepath.Dir(opts.Out), "."+filepath.Base(opts.Out)+".tmp-")
	if err != nil {
		return nil, err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()

	total, written := 0, 0
	for _, p := range plans {
		total += len(p.items)
	}
	report := func(n int) {
		written += n
		if progress != nil {
			progress(written, total)
		}
	}
	report(0)
	var first *Manifest
	for _, p := range plans {
		m := *base
		m.Split = p.name
		if p.name != SplitTest {
			m.HoldoutPerClass = opts.HoldoutPerClass
		}
		dir := filepath.Join(tmp, p.dir)
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return nil, err
		}
		if err := writeSplit(ctx, src, &m, p.items, dir, shardSize, report); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("building %s: %w", opts.Out, ctx.Err())
			}
			return nil, err
		}
		if first == nil {
			first = &m
		}
	}

	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	atomicfile.SyncDir(tmp)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("building %s: %w", opts.Out, err)
	}
	if err := atomicfile.ReplaceDir(tmp, opts.Out); err != nil {
		return nil, err
	}
	done = true
	return first, nil
}

// checkBuildOptions checks and defaults opts before any file is read.
func checkBuildOptions(o *BuildOptions) error {
	switch {
	case o.From == "":
		return errors.New("build: no source directory (give an IDX directory or an image-folder tree)")
	case o.Out == "":
		return errors.New("build: no output directory (give where to write the shards)")
	case o.Split != "train" && o.Split != SplitTest:
		return fmt.Errorf("build: split %q, want train or test", o.Split)
	case o.Files != nil && o.Split != SplitTest:
		return errors.New("build: a file list selects exactly its images, one set: use split test")
	case o.HoldoutPerClass < 0:
		return fmt.Errorf("build: hold-out per class %d, want ≥ 0 (0 = %d)", o.HoldoutPerClass, DefaultHoldoutPerClass)
	case o.ShardSize < 0:
		return fmt.Errorf("build: shard size %d, want ≥ 0 images (0 = about 32 MiB per shard)", o.ShardSize)
	case o.ImageSize < 0 || o.ImageSize > 4096:
		return fmt.Errorf("build: image size %d, want 0..4096 (0 = natural)", o.ImageSize)
	case o.Channels != 0 && o.Channels != 1 && o.Channels != 3:
		return fmt.Errorf("build: channels %d, want 1 or 3 (0 = natural)", o.Channels)
	case (o.Mean == nil) != (o.Std == nil):
		return errors.New("build: mean and std must be given together")
	}
	for c, s := range o.Std {
		if !(s > 0) {
			return fmt.Errorf("build: std of channel %d is %v, want > 0", c, s)
		}
	}
	if o.HoldoutPerClass == 0 {
		o.HoldoutPerClass = DefaultHoldoutPerClass
	}
	fi, err := os.Stat(o.From)
	if err != nil {
		return fmt.Errorf("build: source: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("build: source %s is not a directory (give an IDX directory or an image-folder tree)", o.From)
	}
	return nil
}

// checkOut refuses an existing output unless overwrite is set and it is an earlier build, so
// a mistyped --out never deletes someone's directory.
func checkOut(out string, overwrite bool) error {
	if _, err := os.Lstat(out); errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if !overwrite {
		return fmt.Errorf("%s: already exists (remove it, choose another output, or overwrite it)", out)
	}
	for _, m := range []string{ManifestFile, filepath.Join(SplitSubVal, ManifestFile), filepath.Join(SplitSubTrain, ManifestFile)} {
		if _, err := os.Stat(filepath.Join(out, m)); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%s: exists and is not a shard directory, so it will not be overwritten (remove it yourself or choose another output)", out)
}

// planSplits chooses each split's images and their stored order. For a train build, sub-val
// takes HoldoutPerClass images of each class chosen by a seeded shuffle of that class's
// images in source order (as the reference's build_subset.py does per folder); every stored
// order is a seeded shuffle too, so any prefix of a split is a random sample.
func planSplits(src source, m *Manifest, o *BuildOptions) ([]splitPlan, error) {
	rng := newShuffler(o.Seed)
	if o.Split == SplitTest {
		all := make([]int, src.Len())
		for i := range all {
			all[i] = i
		}
		rng.shuffle(all)
		if o.Limit > 0 && o.Limit < len(all) {
			all = all[:o.Limit]
		}
		return []splitPlan{{name: SplitTest, dir: ".", items: all}}, nil
	}
	byClass := make([][]int, m.Classes)
	for i := 0; i < src.Len(); i++ {
		l := src.Label(i)
		byClass[l] = append(byClass[l], i)
	}
	var val, train []int
	for c, items := range byClass {
		if len(items) <= o.HoldoutPerClass {
			return nil, fmt.Errorf("%s: class %q has %d images; holding out %d per class would leave none for sub-train (lower the hold-out per class)",
				o.From, m.ClassNames[c], len(items), o.HoldoutPerClass)
		}
		rng.shuffle(items)
		val = append(val, items[:o.HoldoutPerClass]...)
		train = append(train, items[o.HoldoutPerClass:]...)
	}
	rng.shuffle(val)
	rng.shuffle(train)
	return []splitPlan{
		{name: SplitSubTrain, dir: SplitSubTrain, items: train},
		{name: SplitSubVal, dir: SplitSubVal, items: val},
	}, nil
}

// shuffler is a seeded Fisher–Yates shuffle over PCG-DXSM, whose output is fixed by its
// definition, so a seed picks the same split with every Go release.
type shuffler struct{ pcg *rand.PCG }

func newShuffler(seed uint64) shuffler { return shuffler{rand.NewPCG(seed, 0x9e3779b97f4a7c15)} }

// intn is uniform in [0, n), by Lemire's multiply-and-reject.
func (s shuffler) intn(n int) int {
	bound := uint64(n)
	threshold := -bound % bound
	for {
		hi, lo := bits.Mul64(s.pcg.Uint64(), bound)
		if lo >= threshold {
			return int(hi)
		}
	}
}

func (s shuffler) shuffle(a []int) {
	for i := len(a) - 1; i > 0; i-- {
		j := s.intn(i + 1)
		a[i], a[j] = a[j], a[i]
	}
}

// writeSplit writes the shards and manifest.json of one split into dir, filling m's counts
// and shard list, and calls report with the number of images written after each chunk.
func writeSplit(ctx context.Context, src source, m *Manifest, items []int, dir string, shardSize int, report func(n int)) error {
	m.Count = len(items)
	m.ClassCounts = make([]int, m.Classes)
	for _, i := range items {
		m.ClassCounts[src.Label(i)]++
	}
	m.Shards = nil
	imgBytes := m.ImageBytes()
	chunk := min(max(1, (4<<20)/imgBytes), 1024, shardSize)
	buf := make([]byte, chunk*imgBytes)
	for k := 0; k*shardSize < len(items); k++ {
		part := items[k*shardSize : min((k+1)*shardSize, len(items))]
		info, err := writeShard(ctx, src, m, part, filepath.Join(dir, shardName(m.Split, k)), buf, chunk, report)
		if err != nil {
			return err
		}
		m.Shards = append(m.Shards, info)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileSync(filepath.Join(dir, ManifestFile), append(b, '\n'))
}

// writeShard writes one shard file: header, labels, then pixels decoded chunk by chunk.
func writeShard(ctx context.Context, src source, m *Manifest, items []int, name string, buf []byte, chunk int, report func(n int)) (ShardInfo, error) {
	f, err := os.Create(name)
	if err != nil {
		return ShardInfo{}, err
	}
	defer f.Close()
	sum := sha256.New()
	bw := bufio.NewWriterSize(f, 1<<20)
	w := io.MultiWriter(bw, sum)

	h := shardHeader{ShardVersion, uint32(len(items)), uint32(m.Channels), uint32(m.ImageSize), uint32(m.ImageSize), uint32(m.LabelBytes)}
	labels := make([]byte, len(items)*m.LabelBytes)
	for j, i := range items {
		if m.LabelBytes == 1 {
			labels[j] = uint8(src.Label(i))
		} else {
			binary.LittleEndian.PutUint16(labels[2*j:], uint16(src.Label(i)))
		}
	}
	if _, err := w.Write(h.encode()); err != nil {
		return ShardInfo{}, err
	}
	if _, err := w.Write(labels); err != nil {
		return ShardInfo{}, err
	}
	imgBytes := m.ImageBytes()
	for start := 0; start < len(items); start += chunk {
		part := items[start:min(start+chunk, len(items))]
		pix := buf[:len(part)*imgBytes]
		if err := decodeParallel(ctx, src, part, pix, imgBytes); err != nil {
			return ShardInfo{}, err
		}
		if _, err := w.Write(pix); err != nil {
			return ShardInfo{}, err
		}
		report(len(part))
	}
	if err := bw.Flush(); err != nil {
		return ShardInfo{}, err
	}
	if err := f.Sync(); err != nil {
		return ShardInfo{}, err
	}
	if err := f.Close(); err != nil {
		return ShardInfo{}, err
	}
	return ShardInfo{File: filepath.Base(name), SHA256: hex.EncodeToString(sum.Sum(nil)), Count: len(items)}, nil
}

// decodeParallel decodes items into consecutive imgBytes slots of dst on GOMAXPROCS workers,
// stopping at the first error or when ctx is cancelled.
func decodeParallel(ctx context.Context, src source, items []int, dst []byte, imgBytes int) error {
	workers := min(runtime.GOMAXPROCS(0), len(items))
	var next atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				j := int(next.Add(1)) - 1
				if j >= len(items) {
					return
				}
				if err := src.Decode(items[j], dst[j*imgBytes:(j+1)*imgBytes]); err != nil {
					errs[w] = err
					next.Store(int64(len(items))) // tell the others to stop
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// writeFileSync writes a file and syncs it, so a renamed build directory is complete.
func writeFileSync(name string, b []byte) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

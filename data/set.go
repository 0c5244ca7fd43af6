package data

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync/atomic"
)

// OpenOptions tune Open.
type OpenOptions struct {
	// SkipVerify skips the sha256 check of every shard (it reads each file once). The structure
	// (header, sizes, labels) is still checked.
	SkipVerify bool
	// NoMmap reads the shards into memory instead of mapping them, for filesystems where a
	// mapping could fault later (network mounts).
	NoMmap bool
	// RandomAccess keeps mapped shards' pages resident as reading moves between shards.
	// Evaluation reads shard after shard and hands each one's pages back when it moves on;
	// training reads images in a random order across all shards, where that would drop and
	// fault back in a whole shard on almost every image (measured 6× slower per image).
	RandomAccess bool
}

// Set is one opened split: a read-only sequence of images and labels spread over shards.
// Its methods may be called from several goroutines at once; Close may not.
type Set struct {
	// Manifest describes the whole split, also for a view made by Slice.
	Manifest *Manifest

	st       *store
	owner    bool // Open's result, which Close releases; views share st
	start, n int  // this view is images [start, start+n) of the split
	// lut[c*256+p] is pixel value p of channel c normalised: (p - 255·mean)/(255·std), as the
	// reference's PrefetchLoader does on uint8 input.
	lut []float32
}

// store holds the shard bytes shared by a Set and its views.
type store struct {
	labels, pixels [][]byte // per shard
	starts         []int    // starts[k] is the split index of shard k's first image; last = Count
	unmaps         []func() error
	// mapped[k] is shard k's whole mapping, nil when it was read into memory. Batch releases
	// a shard's pages when reading moves on to another, so evaluating a set in order keeps
	// about one shard resident however large the set (releasePages).
	mapped       [][]byte
	last         atomic.Int64 // shard Batch read last, -1 before any
	randomAccess bool         // OpenOptions.RandomAccess: never release
}

// Open opens the split stored in dir (a directory holding manifest.json and its shards),
// mapping the shards read-only where the platform allows and checking them.
func Open(dir string, opts OpenOptions) (*Set, error) {
	mb, err := readManifestFile(dir)
	if err != nil {
		return nil, err
	}
	load := func(name string) ([]byte, func() error, error) {
		return loadShard(filepath.Join(dir, name), opts.NoMmap)
	}
	set, err := openWith(dir, mb, load, opts.SkipVerify)
	if err == nil {
		set.st.randomAccess = opts.RandomAccess
	}
	return set, err
}

// OpenFS opens the split stored in dir of fsys, for example shards embedded in the binary with
// embed.FS. Shards are read into memory (there is nothing to map) and checked.
func OpenFS(fsys fs.FS, dir string) (*Set, error) {
	mb, err := fs.ReadFile(fsys, path.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, noManifestError(dir, func(name string) bool {
			_, err := fs.Stat(fsys, path.Join(dir, name))
			return err == nil
		})
	}
	if err != nil {
		return nil, err
	}
	load := func(name string) ([]byte, func() error, error) {
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		return b, nil, err
	}
	return openWith(dir, mb, load, false)
}

// ReadManifest reads and checks dir/manifest.json without opening the shards.
func ReadManifest(dir string) (*Manifest, error) {
	mb, err := readManifestFile(dir)
	if err != nil {
		return nil, err
	}
	return parseManifest(mb, filepath.Join(dir, ManifestFile))
}

// readManifestFile reads dir/manifest.json, explaining a missing one.
func readManifestFile(dir string) ([]byte, error) {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a shards folder (build one with resnas shards build)", dir)
	}
	mb, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, noManifestError(dir, func(name string) bool {
			_, err := os.Stat(filepath.Join(dir, name))
			return err == nil
		})
	}
	return mb, err
}

// noManifestError explains a directory without manifest.json; a train build's top directory
// gets pointed at its two splits.
func noManifestError(dir string, exists func(name string) bool) error {
	if !exists(".") {
		return fmt.Errorf("%s: no such directory (build one with resnas shards build)", dir)
	}
	if exists(path.Join(SplitSubVal, ManifestFile)) || exists(path.Join(SplitSubTrain, ManifestFile)) {
		return fmt.Errorf("%s: no manifest.json (it holds a train build: open %s or %s)", dir,
			filepath.Join(dir, SplitSubVal), filepath.Join(dir, SplitSubTrain))
	}
	return fmt.Errorf("%s: no manifest.json (not a resnas shard directory; build one with resnas shards build)", dir)
}

// loadShard maps (or reads) one shard file.
func loadShard(name string, noMmap bool) ([]byte, func() error, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !noMmap {
		if b, unmap, ok := mapFile(f, fi.Size()); ok {
			return b, unmap, nil
		}
	}
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil, nil
}

// openWith parses the manifest bytes, loads and checks every shard, and builds the Set. On
// error every mapping made so far is released.
func openWith(dir string, manifestBytes []byte, load func(name string) ([]byte, func() error, error), skipVerify bool) (_ *Set, err error) {
	m, err := parseManifest(manifestBytes, filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	st := &store{starts: make([]int, 0, len(m.Shards)+1)}
	st.last.Store(-1)
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	next := 0
	for _, s := range m.Shards {
		b, unmap, err := load(s.File)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: shard %s: missing (listed in manifest.json; %s)", dir, s.File, rebuildHint)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: shard %s: %w", dir, s.File, err)
		}
		if unmap != nil {
			st.unmaps = append(st.unmaps, unmap)
		}
		labels, pixels, err := checkShard(b, m, s, dir)
		if err != nil {
			return nil, err
		}
		if !skipVerify {
			sum := sha256.Sum256(b)
			if hex.EncodeToString(sum[:]) != s.SHA256 {
				return nil, fmt.Errorf("%s: shard %s: sha256 mismatch (file corrupted; %s)", dir, s.File, rebuildHint)
			}
		}
		var mapped []byte
		if unmap != nil {
			mapped = b
			releasePages(b) // the check read every page: hand them back until a batch needs them
		}
		st.mapped = append(st.mapped, mapped)
		if err := checkLabels(labels, m, s, dir); err != nil {
			return nil, err
		}
		st.labels = append(st.labels, labels)
		st.pixels = append(st.pixels, pixels)
		st.starts = append(st.starts, next)
		next += s.Count
	}
	st.starts = append(st.starts, next)

	lut := make([]float32, m.Channels*256)
	for c := 0; c < m.Channels; c++ {
		for p := 0; p < 256; p++ {
			lut[c*256+p] = float32((float64(p) - 255*m.Mean[c]) / (255 * m.Std[c]))
		}
	}
	return &Set{Manifest: m, st: st, owner: true, n: m.Count, lut: lut}, nil
}

func (st *store) close() error {
	var first error
	for _, unmap := range st.unmaps {
		if err := unmap(); err != nil && first == nil {
			first = err
		}
	}
	// Dropping the slices turns use-after-Close into an index panic instead of a fault.
	st.labels, st.pixels, st.unmaps = nil, nil, nil
	return first
}

// Close releases the shards. Views made by Slice share them: close only the Set that Open
// returned, after its views are no longer used. Closing a view does nothing.
func (s *Set) Close() error {
	if !s.owner {
		return nil
	}
	return s.st.close()
}

// Len is the number of images in this set (or view).
func (s *Set) Len() int { return s.n }

// Shape is the geometry of one image: channels, height, width.
func (s *Set) Shape() (c, h, w int) {
	return s.Manifest.Channels, s.Manifest.ImageSize, s.Manifest.ImageSize
}

// locate maps index i of this view to a shard and the image's place in it.
func (s *Set) locate(i int) (shard, j int) {
	if i < 0 || i >= s.n {
		panic("data: image index out of range")
	}
	g := s.start + i
	k := sort.SearchInts(s.st.starts, g+1) - 1
	return k, g - s.st.starts[k]
}

// Image returns image i as C·H·W bytes in CHW order. The bytes belong to the set (they may be
// a read-only mapping): do not modify them or use them after Close.
func (s *Set) Image(i int) []uint8 {
	k, j := s.locate(i)
	n := s.Manifest.ImageBytes()
	return s.st.pixels[k][j*n : (j+1)*n : (j+1)*n]
}

// Label returns the class index of image i.
func (s *Set) Label(i int) int {
	k, j := s.locate(i)
	return decodeLabel(s.st.labels[k], s.Manifest.LabelBytes, j)
}

// Batch writes images idx[0], idx[1], … normalised with the manifest's mean and std into dst
// as float32 NCHW, and their labels into labels (unless labels is nil). It does not allocate.
// dst must hold len(idx)·C·H·W values and labels len(idx).
func (s *Set) Batch(idx []int, dst []float32, labels []int) {
	n := s.Manifest.ImageBytes()
	if len(dst) < len(idx)*n {
		panic("data: Batch: dst shorter than len(idx)·C·H·W")
	}
	if labels != nil && len(labels) < len(idx) {
		panic("data: Batch: labels shorter than idx")
	}
	hw := s.Manifest.ImageSize * s.Manifest.ImageSize
	cur := -1 // shard of the previous image of this batch
	for b, i := range idx {
		k, j := s.locate(i)
		img := s.st.pixels[k][j*n : (j+1)*n]
		out := dst[b*n : (b+1)*n]
		for c := 0; c < s.Manifest.Channels; c++ {
			lut := s.lut[c*256 : (c+1)*256 : (c+1)*256]
			o := out[c*hw : (c+1)*hw]
			for p, v := range img[c*hw : (c+1)*hw] {
				o[p] = lut[v]
			}
		}
		if labels != nil {
			labels[b] = decodeLabel(s.st.labels[k], s.Manifest.LabelBytes, j)
		}
		if s.st.randomAccess || k == cur {
			continue // shard-release bookkeeping only where the batch moves to another shard
		}
		cur = k
		if prev := s.st.last.Swap(int64(k)); prev >= 0 && prev != int64(k) && s.st.mapped[prev] != nil {
			releasePages(s.st.mapped[prev])
		}
	}
}

// Slice returns a view of images [start, start+n) of s, sharing its shards. Since builds store
// images in a seeded random order, a prefix is a random sample: Slice(0, 1000) gives a quick
// first estimate that is the same on every run.
func (s *Set) Slice(start, n int) (*Set, error) {
	if start < 0 || n < 0 || start+n > s.n {
		return nil, fmt.Errorf("slice [%d, %d) is outside the %d images of this %s set (use a start and count within it)", start, start+n, s.n, s.Manifest.Split)
	}
	v := *s
	v.owner, v.start, v.n = false, s.start+start, n
	return &v, nil
}

// Package data builds and reads resnas shard sets: preprocessed uint8 images at their final
// size, split into checksummed, memory-mappable shard files described by a JSON manifest
// (see FORMAT.md). Build turns Fashion-MNIST/MNIST IDX files or an image-folder tree into
// shards; Open and OpenFS read them back and produce normalised float32 batches.
package data

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// On-disk constants (FORMAT.md).
const (
	ShardMagic      = "RSNASHRD"
	ShardVersion    = 1
	ShardHeaderSize = 32 // magic[8], version, count, channels, height, width, label bytes (uint32 LE each)

	ManifestFile    = "manifest.json"
	ManifestFormat  = "resnas-shards"
	ManifestVersion = 1
)

// Split names as they appear in manifests and shard file names.
const (
	SplitTest     = "test"
	SplitSubTrain = "sub-train"
	SplitSubVal   = "sub-val"
)

// rebuildHint ends every error about a damaged shard set.
const rebuildHint = "rebuild with resnas shards build"

// ShardInfo describes one shard file of a split.
type ShardInfo struct {
	File   string `json:"file"`   // base name inside the split directory
	SHA256 string `json:"sha256"` // hex digest of the whole file
	Count  int    `json:"count"`  // images in this shard
}

// Manifest is manifest.json: everything needed to read and normalise a split.
type Manifest struct {
	Format          string      `json:"format"`  // ManifestFormat
	Version         int         `json:"version"` // ManifestVersion
	Split           string      `json:"split"`   // SplitTest, SplitSubTrain or SplitSubVal
	Source          string      `json:"source"`  // what the images were built from
	Seed            uint64      `json:"seed"`    // seed of the hold-out choice and the image order
	HoldoutPerClass int         `json:"holdout_per_class,omitempty"`
	Classes         int         `json:"classes"`
	ClassNames      []string    `json:"class_names"`
	ClassCounts     []int       `json:"class_counts"` // images per class in this split
	ImageSize       int         `json:"image_size"`   // H = W, pixels
	Channels        int         `json:"channels"`
	LabelBytes      int         `json:"label_bytes"` // 1 (uint8) or 2 (uint16 little-endian)
	Mean            []float64   `json:"mean"`        // per channel, on the 0..1 scale
	Std             []float64   `json:"std"`         // per channel, on the 0..1 scale
	Count           int         `json:"count"`       // total images, the sum of the shard counts
	Shards          []ShardInfo `json:"shards"`
	// Skipped lists the source files a build with SkipBad left out, in source order.
	Skipped []SkippedFile `json:"skipped,omitempty"`
}

// SkippedFile is an image a build could not decode and left out.
type SkippedFile struct {
	Path   string `json:"path"`   // relative to the source directory, slash-separated
	Reason string `json:"reason"` // the decoding error
}

// ImageBytes is the size of one image, C·H·W bytes.
func (m *Manifest) ImageBytes() int { return m.Channels * m.ImageSize * m.ImageSize }

// shardFileSize is the exact size of a shard of count images.
func (m *Manifest) shardFileSize(count int) int64 {
	return ShardHeaderSize + int64(count)*int64(m.LabelBytes+m.ImageBytes())
}

// labelBytesFor picks the narrowest label width that holds every class index.
func labelBytesFor(classes int) int {
	if classes <= 256 {
		return 1
	}
	return 2
}

// shardName is the file name of shard k of a split: "sub-val-00001.bin".
func shardName(split string, k int) string { return fmt.Sprintf("%s-%05d.bin", split, k) }

// validate checks the manifest's own consistency; where names the file in errors.
func (m *Manifest) validate(where string) error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%s: %s: %s (%s)", where, field, fmt.Sprintf(format, args...), rebuildHint)
	}
	switch {
	case m.Format != ManifestFormat:
		return bad("format", "%q, want %q", m.Format, ManifestFormat)
	case m.Version != ManifestVersion:
		return fmt.Errorf("%s: version: %d, this resnas reads version %d (rebuild the shards with this resnas, or upgrade resnas)", where, m.Version, ManifestVersion)
	case m.Classes <= 0 || m.Classes > 65536:
		return bad("classes", "%d, want 1..65536", m.Classes)
	case len(m.ClassNames) != m.Classes:
		return bad("class_names", "%d names for %d classes", len(m.ClassNames), m.Classes)
	case len(m.ClassCounts) != m.Classes:
		return bad("class_counts", "%d counts for %d classes", len(m.ClassCounts), m.Classes)
	case m.ImageSize <= 0 || m.ImageSize > 1<<14:
		return bad("image_size", "%d, want 1..16384", m.ImageSize)
	case m.Channels <= 0 || m.Channels > 4:
		return bad("channels", "%d, want 1..4", m.Channels)
	case m.LabelBytes != labelBytesFor(m.Classes):
		return bad("label_bytes", "%d, want %d for %d classes", m.LabelBytes, labelBytesFor(m.Classes), m.Classes)
	case len(m.Mean) != m.Channels || len(m.Std) != m.Channels:
		return bad("mean/std", "%d/%d values for %d channels", len(m.Mean), len(m.Std), m.Channels)
	case len(m.Shards) == 0:
		return bad("shards", "none listed")
	}
	for c, s := range m.Std {
		if !(s > 0) {
			return bad("std", "channel %d is %v, want > 0", c, s)
		}
	}
	total, perClass := 0, 0
	for _, n := range m.ClassCounts {
		perClass += n
	}
	for k, s := range m.Shards {
		// A name with a path in it could make Open read outside the directory.
		if s.File == "" || s.File != path.Base(s.File) || strings.ContainsAny(s.File, `/\`) || s.File == "." || s.File == ".." {
			return bad(fmt.Sprintf("shards[%d].file", k), "%q is not a plain file name", s.File)
		}
		if s.Count <= 0 {
			return bad(fmt.Sprintf("shards[%d].count", k), "%d, want > 0", s.Count)
		}
		if len(s.SHA256) != 64 {
			return bad(fmt.Sprintf("shards[%d].sha256", k), "%q is not a hex sha256", s.SHA256)
		}
		total += s.Count
	}
	if total != m.Count {
		return bad("count", "%d, but the shards hold %d", m.Count, total)
	}
	if perClass != m.Count {
		return bad("class_counts", "sum %d, want count %d", perClass, m.Count)
	}
	return nil
}

// parseManifest decodes and validates manifest.json; where names it in errors.
func parseManifest(b []byte, where string) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %v (%s)", where, err, rebuildHint)
	}
	if err := m.validate(where); err != nil {
		return nil, err
	}
	return &m, nil
}

// shardHeader is the fixed 32-byte start of a shard file.
type shardHeader struct {
	Version, Count, Channels, Height, Width, LabelBytes uint32
}

func (h shardHeader) encode() []byte {
	b := make([]byte, ShardHeaderSize)
	copy(b, ShardMagic)
	for i, v := range []uint32{h.Version, h.Count, h.Channels, h.Height, h.Width, h.LabelBytes} {
		binary.LittleEndian.PutUint32(b[8+4*i:], v)
	}
	return b
}

// checkShard checks a whole shard file's structure against the manifest entry and returns its
// label and pixel sections. Checks run from the cheapest, most specific to the least, so that
// a truncated file says "truncated" rather than "sha256 mismatch".
func checkShard(b []byte, m *Manifest, s ShardInfo, where string) (labels, pixels []byte, err error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: shard %s: %s (%s)", where, s.File, fmt.Sprintf(format, args...), rebuildHint)
	}
	if len(b) < ShardHeaderSize {
		return nil, nil, bad("truncated: %d bytes, shorter than the %d-byte header", len(b), ShardHeaderSize)
	}
	if string(b[:8]) != ShardMagic {
		return nil, nil, bad("not a resnas shard: magic %q, want %q", b[:8], ShardMagic)
	}
	var f [6]uint32
	for i := range f {
		f[i] = binary.LittleEndian.Uint32(b[8+4*i:])
	}
	h := shardHeader{f[0], f[1], f[2], f[3], f[4], f[5]}
	if h.Version != ShardVersion {
		return nil, nil, bad("version %d, this resnas reads version %d", h.Version, ShardVersion)
	}
	want := shardHeader{ShardVersion, uint32(s.Count), uint32(m.Channels), uint32(m.ImageSize), uint32(m.ImageSize), uint32(m.LabelBytes)}
	if h != want {
		return nil, nil, bad("header says %d images of %d×%d×%d with %d-byte labels, manifest says %d of %d×%d×%d with %d-byte labels (shard from another build?)",
			h.Count, h.Channels, h.Height, h.Width, h.LabelBytes, want.Count, want.Channels, want.Height, want.Width, want.LabelBytes)
	}
	if size := m.shardFileSize(s.Count); int64(len(b)) != size {
		what := "truncated"
		if int64(len(b)) > size {
			what = "too long"
		}
		return nil, nil, bad("%s: %d bytes, want %d for %d images", what, len(b), size, s.Count)
	}
	nl := s.Count * m.LabelBytes
	return b[ShardHeaderSize : ShardHeaderSize+nl], b[ShardHeaderSize+nl:], nil
}

// checkLabels rejects a label outside [0, classes), which would make later indexing panic.
func checkLabels(labels []byte, m *Manifest, s ShardInfo, where string) error {
	for i := 0; i < s.Count; i++ {
		if l := decodeLabel(labels, m.LabelBytes, i); l >= m.Classes {
			return fmt.Errorf("%s: shard %s: image %d has label %d, but there are %d classes (%s)", where, s.File, i, l, m.Classes, rebuildHint)
		}
	}
	return nil
}

// decodeLabel reads label i of a label section of width lb bytes.
func decodeLabel(labels []byte, lb, i int) int {
	if lb == 1 {
		return int(labels[i])
	}
	return int(binary.LittleEndian.Uint16(labels[2*i:]))
}

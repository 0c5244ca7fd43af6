// Package checkpoints reads PyTorch torch.save checkpoints of the reference code and reads and
// writes resnas's own format: safetensors with a JSON description in its __metadata__.
//
// Loading never runs code from a file: the pickle inside a torch.save zip is decoded by a
// small unpickler that accepts only the globals a state_dict checkpoint needs.
package checkpoints

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"github.com/resnas/resnas/model"
)

// Where a Checkpoint's weights came from.
const (
	SourceModelEMA    = "model_ema"   // the EMA weights of a training checkpoint
	SourceModel       = "model"       // the model weights of a training checkpoint
	SourceStateDict   = "state_dict"  // a bare state_dict
	SourceSafetensors = "safetensors" // resnas's own format
)

// Options choose what Load reads.
type Options struct {
	// Prefer picks the weights of a training checkpoint holding both: "model_ema",
	// "model", or "" for model_ema when present, else model, as the reference evaluates.
	Prefer string
	// Float16 keeps the weights in float16 (model.Tensor.Half), each tensor rounded as it is
	// read, so loading never holds more than one tensor in float32: half the memory, for
	// inference on the CPU (model.NewNet reads them; a tensor beyond ±65504 stays float32).
	Float16 bool
}

// Checkpoint is a loaded weights file.
type Checkpoint struct {
	Weights model.Weights
	Meta    Meta   // from our format; for a .pth only Provenance.Source and SHA256 are set
	Source  string // SourceModelEMA, SourceModel, SourceStateDict or SourceSafetensors
	SHA256  string // hex digest of the whole file
	Path    string // as given to Load, or the name given to LoadBytes
	Epoch   int    // training epoch a .pth records, -1 when none
	// Args is the reference run's argparse.Namespace decoded into plain values (int, float64,
	// string, bool, nil, []any, map[string]any), for provenance: nothing reads behaviour from it.
	Args map[string]any
}

// Load reads a weights file, telling PyTorch zip from safetensors by content.
func Load(path string, opts Options) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return load(path, f, st.Size(), opts)
}

// LoadBytes reads a weights file held in memory, such as an embedded default; name is used in
// errors and as the Checkpoint's Path.
func LoadBytes(name string, b []byte, opts Options) (*Checkpoint, error) {
	return load(name, bytes.NewReader(b), int64(len(b)), opts)
}

func load(name string, r io.ReaderAt, size int64, opts Options) (*Checkpoint, error) {
	switch opts.Prefer {
	case "", SourceModel, SourceModelEMA:
	default:
		return nil, fmt.Errorf("%s: cannot choose weights %q: want model_ema, model or empty", name, opts.Prefer)
	}
	var head [16]byte
	n, err := r.ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	var ck *Checkpoint
	switch kind := sniff(head[:n], size); kind {
	case kindZip:
		ck, err = loadTorch(name, r, size, opts)
	case kindSafetensors:
		ck, err = loadSafetensorsFrom(name, r, size, opts.Float16)
	case kindLegacy:
		return nil, fmt.Errorf("%s: legacy torch.save format (a bare pickle, from PyTorch < 1.6 or _use_new_zipfile_serialization=False), which resnas does not read: re-save it with a newer PyTorch", name)
	default:
		return nil, fmt.Errorf("%s: %s: want a PyTorch checkpoint (torch.save zip) or a safetensors file", name, kind)
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, io.NewSectionReader(r, 0, size)); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	ck.SHA256 = hex.EncodeToString(sum.Sum(nil))
	ck.Path = name
	if ck.Source != SourceSafetensors {
		ck.Meta.Provenance.Source = name
		ck.Meta.Provenance.SHA256 = ck.SHA256
	}
	return ck, nil
}

// Kinds of file sniff recognises; the others describe what was found instead.
const (
	kindZip         = "zip"
	kindSafetensors = "safetensors"
	kindLegacy      = "pickle"

	// maxSafetensorsHeader is the safetensors reader's limit on the JSON header.
	maxSafetensorsHeader = 100_000_000
)

// sniff names a file's format from its first bytes.
func sniff(head []byte, size int64) string {
	switch {
	case size == 0:
		return "empty file"
	case bytes.HasPrefix(head, []byte("PK")):
		return kindZip
	case len(head) >= 9 && head[8] == '{' && binary.LittleEndian.Uint64(head) <= maxSafetensorsHeader:
		return kindSafetensors // the safetensors reader checks the rest, including truncation
	case len(head) >= 2 && head[0] == 0x80 && head[1] <= 5:
		return kindLegacy
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "gzip data"
	case len(head) < 9:
		return fmt.Sprintf("a file of only %d bytes", size)
	case isText(head):
		return fmt.Sprintf("text starting %q", strings.TrimSpace(string(head)))
	}
	return fmt.Sprintf("unknown data starting % x", head[:8])
}

func isText(b []byte) bool {
	for _, c := range string(b) {
		if c == unicode.ReplacementChar || (c < ' ' && !unicode.IsSpace(c)) {
			return false
		}
	}
	return true
}

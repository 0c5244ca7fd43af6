package train

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nlpodyssey/safetensors"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/internal/atomicfile"
)

// The training state is one safetensors file: every supernet tensor under its reference
// state_dict key (so it is also a weights file), the AdamW moments under
// "optim.exp_avg.<key>" and "optim.exp_avg_sq.<key>", and in __metadata__ the epoch to run
// next, the optimizer step count and the options that fix the random streams. The random
// state itself is a function of (seed, epoch) (trainer.epochRNG), so nothing else is needed
// to continue exactly.
const (
	stateFormat  = "resnas-train-state"
	stateVersion = "1"
	keyExpAvg    = "optim.exp_avg."
	keyExpAvgSq  = "optim.exp_avg_sq."
)

// stateOptions are the options a resumed run must share with the run that wrote the state.
type stateOptions struct {
	Space           string `json:"space"`
	Arch            string `json:"arch"`
	Seed            uint64 `json:"seed"`
	BatchSize       int    `json:"batch_size"`
	ExamplesPerArch int    `json:"examples_per_arch"`
	Train           int    `json:"train_images"`
}

func (t *trainer) stateOptions() stateOptions {
	o := t.opts
	return stateOptions{Space: o.Space.Name, Arch: t.p.maxArch.String(), Seed: o.Seed,
		BatchSize: o.BatchSize, ExamplesPerArch: o.ExamplesPerArch, Train: o.Train.Len()}
}

type f32View struct {
	shape []uint64
	data  []byte
}

func (v f32View) DType() safetensors.DType { return safetensors.F32 }
func (v f32View) Shape() []uint64          { return v.shape }
func (v f32View) Data() []byte             { return v.data }
func (v f32View) DataLen() uint64          { return uint64(len(v.data)) }

func viewOf(shape []int, data []float32) f32View {
	v := f32View{shape: make([]uint64, len(shape)), data: make([]byte, 4*len(data))}
	for i, d := range shape {
		v.shape[i] = uint64(d)
	}
	for i, x := range data {
		binary.LittleEndian.PutUint32(v.data[4*i:], math.Float32bits(x))
	}
	return v
}

// save writes the state atomically (atomicfile: a temporary file in the same directory,
// synced, renamed over path).
func (t *trainer) save(path string) error {
	views := map[string]f32View{}
	for _, p := range t.p.all {
		views[p.key] = viewOf(p.shape, p.w)
		if p.m != nil {
			views[keyExpAvg+p.key] = viewOf(p.shape, p.m)
			views[keyExpAvgSq+p.key] = viewOf(p.shape, p.v)
		}
	}
	opts, err := json.Marshal(t.stateOptions())
	if err != nil {
		return err
	}
	meta := map[string]string{
		"format": stateFormat, "version": stateVersion,
		"epoch": strconv.Itoa(t.epoch), "step": strconv.Itoa(t.step), "options": string(opts),
		"epochs": strconv.Itoa(t.opts.Epochs), // for ReadStateInfo; a resumed run may change it
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFunc(path, func(w io.Writer) error {
		if err := safetensors.SerializeToWriter(views, meta, w); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
}

// load restores a state written by save, checking that it belongs to this run's options.
func (t *trainer) load(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	_, header, err := safetensors.ReadMetadata(b)
	if err != nil {
		return fmt.Errorf("resume: %s: %w (not a training state; start without --resume)", path, err)
	}
	st, err := safetensors.Deserialize(b)
	if err != nil {
		return fmt.Errorf("resume: %s: %w (not a training state; start without --resume)", path, err)
	}
	meta := header.Metadata()
	if meta["format"] != stateFormat || meta["version"] != stateVersion {
		return fmt.Errorf("resume: %s: format %q version %q, want %s %s (not a training state written by this version)", path, meta["format"], meta["version"], stateFormat, stateVersion)
	}
	var saved stateOptions
	if err := json.Unmarshal([]byte(meta["options"]), &saved); err != nil {
		return fmt.Errorf("resume: %s: options: %w", path, err)
	}
	if want := t.stateOptions(); saved != want {
		return fmt.Errorf("resume: %s was written with %+v, this run has %+v (use the same space, seed, batch, examples-per-arch and data)", path, saved, want)
	}
	epoch, err1 := strconv.Atoi(meta["epoch"])
	step, err2 := strconv.Atoi(meta["step"])
	if err1 != nil || err2 != nil || epoch < 0 || step < 0 {
		return fmt.Errorf("resume: %s: bad epoch %q or step %q", path, meta["epoch"], meta["step"])
	}
	read := func(key string, shape []int, dst []float32) error {
		v, ok := st.Tensor(key)
		if !ok {
			return fmt.Errorf("resume: %s: missing %s", path, key)
		}
		if v.DType() != safetensors.F32 || len(v.Shape()) != len(shape) || uint64(len(v.Data())) != 4*uint64(len(dst)) {
			return fmt.Errorf("resume: %s: %s has dtype %v shape %v, want F32 %v", path, key, v.DType(), v.Shape(), shape)
		}
		for i, d := range shape {
			if v.Shape()[i] != uint64(d) {
				return fmt.Errorf("resume: %s: %s has shape %v, want %v", path, key, v.Shape(), shape)
			}
		}
		data := v.Data()
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		return nil
	}
	for _, p := range t.p.all {
		if err := read(p.key, p.shape, p.w); err != nil {
			return err
		}
		if p.m != nil {
			if err := read(keyExpAvg+p.key, p.shape, p.m); err != nil {
				return err
			}
			if err := read(keyExpAvgSq+p.key, p.shape, p.v); err != nil {
				return err
			}
		}
	}
	t.epoch, t.step = epoch, step
	return nil
}

// StateInfo is what a training state file says about the run that wrote it.
type StateInfo struct {
	Epoch  int // complete epochs: the next one to run
	Epochs int // epochs the writing run was asked for; 0 when the state does not record it
}

// ReadStateInfo reads the epoch counts of a state file written by Train from its header
// alone (the file holds every weight and optimizer moment, tens of MB).
func ReadStateInfo(path string) (StateInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return StateInfo{}, err
	}
	defer f.Close()
	var size [8]byte
	if _, err := io.ReadFull(f, size[:]); err != nil {
		return StateInfo{}, fmt.Errorf("%s: not a training state (%v)", path, err)
	}
	n := binary.LittleEndian.Uint64(size[:])
	if n == 0 || n > maxStateHeader {
		return StateInfo{}, fmt.Errorf("%s: not a training state (header of %d bytes)", path, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(f, b); err != nil {
		return StateInfo{}, fmt.Errorf("%s: not a training state (%v)", path, err)
	}
	var h struct {
		Meta map[string]string `json:"__metadata__"`
	}
	if err := json.Unmarshal(b, &h); err != nil || h.Meta["format"] != stateFormat {
		return StateInfo{}, fmt.Errorf("%s: not a training state written by resnas", path)
	}
	var info StateInfo
	if info.Epoch, err = strconv.Atoi(h.Meta["epoch"]); err != nil || info.Epoch < 0 {
		return StateInfo{}, fmt.Errorf("%s: bad epoch %q", path, h.Meta["epoch"])
	}
	info.Epochs, _ = strconv.Atoi(h.Meta["epochs"]) // missing in states of older versions
	return info, nil
}

// maxStateHeader bounds the JSON header ReadStateInfo reads (the real one is tens of KB).
const maxStateHeader = 64 << 20

// result is the supernet's weights in the checkpoints format, with the space, the input
// geometry, the seed and the last validation accuracies in the metadata.
func (t *trainer) result() (Result, error) {
	o := t.opts
	spaceJSON, err := json.Marshal(o.Space)
	if err != nil {
		return Result{}, err
	}
	seed := int64(o.Seed)
	meta := checkpoints.Meta{
		Arch: t.p.maxArch.String(), Space: o.Space.Name, SpaceJSON: spaceJSON,
		Input: o.Space.Input, Classes: o.Space.Classes, Mean: o.Mean, Std: o.Std,
		Provenance: checkpoints.Provenance{Command: o.Command, Seed: &seed, Created: time.Now().UTC()},
	}
	if !math.IsNaN(t.valLargest) {
		meta.Provenance.Accuracy = map[string]float64{"val_top1_largest": t.valLargest, "val_top1_smallest": t.valSmallest}
	}
	return Result{Weights: t.p.weights(), Meta: meta}, nil
}

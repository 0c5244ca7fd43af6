// Package workbench is what the command line and the explorer share: a checkpoint made ready
// to run (Loaded), a session that evaluates its sub-networks on shards (Session), the one
// builder of a search's configuration, the explorer's live search, and sub-network exports.
// It sits below tui and above the domain packages (checkpoints, data, evaluate, evolution,
// model, profiler, supernet), so main only parses flags and wires these together.
package workbench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/checkpoints/shipped"
	"github.com/resnas/resnas/internal/gemm/backend"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/supernet"
)

// UsageError marks an error caused by what the user typed (a flag's value, an argument)
// rather than by the work; the command line answers it with its usage and exit code 2.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// Usagef makes a UsageError.
func Usagef(format string, args ...any) error { return UsageError{fmt.Sprintf(format, args...)} }

// DefaultName is the Name of the shipped checkpoint.
const DefaultName = "default"

// Loaded is a checkpoint made ready to run: its weights, the geometry they were trained at,
// the largest architecture they hold and, when known, the search space.
type Loaded struct {
	Name       string // file path, or DefaultName for the shipped supernet
	Checkpoint *checkpoints.Checkpoint
	Input      model.Input
	Space      *supernet.Space // nil for a checkpoint of no known space
	MaxArch    model.Arch      // valid when HasMax
	HasMax     bool

	gpu *model.DeviceWeights // the weights on the GPU, uploaded on first use
}

// LoadOptions choose what Load reads.
type LoadOptions struct {
	Prefer string // "model", "model_ema" or "" (the reference's choice: model_ema when present)
	Patch  int    // patch size for PyTorch files, which do not record it
	Space  string // search space name, overriding detection
	// Float16 keeps the weights in float16 in memory (checkpoints.Options.Float16): half the
	// memory, CPU inference only.
	Float16 bool
}

// Load reads path, or the shipped default when path is empty.
func Load(path string, opts LoadOptions) (*Loaded, error) {
	var ck *checkpoints.Checkpoint
	var err error
	if path == "" {
		ck, err = shipped.CheckpointWith(checkpoints.Options{Float16: opts.Float16})
		path = DefaultName
	} else {
		ck, err = checkpoints.Load(path, checkpoints.Options{Prefer: opts.Prefer, Float16: opts.Float16})
	}
	if err != nil {
		return nil, err
	}
	l := &Loaded{Name: path, Checkpoint: ck}
	meta := ck.Meta
	if meta.Input.Size > 0 {
		l.Input = meta.Input
	} else if l.Input, err = checkpoints.InferInput(ck.Weights, opts.Patch); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case opts.Space != "" && meta.Space != "" && opts.Space != meta.Space:
		// The recorded space is what the weights were trained in; another would be ignored.
		name := path
		if name == DefaultName {
			name = "the shipped checkpoint"
		}
		return nil, Usagef("--space %s: %s was trained in space %s, which it records; leave --space out", opts.Space, name, meta.Space)
	case meta.Space != "":
		if l.Space, err = supernet.Lookup(meta.Space); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	case opts.Space != "":
		if l.Space, err = supernet.Lookup(opts.Space); err != nil {
			return nil, err
		}
		// max and the sliced sub-networks trust the space, so its largest network must fit.
		if err := supernet.CheckFits(ck.Weights, l.Space, l.Input); err != nil {
			return nil, Usagef("--space %s does not fit %s: %v", opts.Space, path, err)
		}
	default:
		l.Space = supernet.Detect(ck.Weights, l.Input)
	}
	switch {
	case meta.Arch != "":
		if l.MaxArch, err = model.ParseArch(meta.Arch); err != nil {
			return nil, fmt.Errorf("%s: metadata arch: %w", path, err)
		}
		l.HasMax = true
	case l.Space != nil:
		l.MaxArch, l.HasMax = l.Space.Max(), true
	}
	return l, nil
}

// ForArch is a Loaded without weights, for counting an architecture typed as a tuple or a
// preset at the reference geometry.
func ForArch() *Loaded { return &Loaded{Name: "--arch", Input: model.ReferenceInput()} }

// ResolveArch turns an ARCH argument into an architecture of this checkpoint: a network_def
// tuple, a JSON file or JSON text, a preset name, or max/min of the checkpoint's space.
// A compacted def (skipped blocks deleted) is re-expanded against the space.
func (l *Loaded) ResolveArch(spec string) (model.Arch, error) {
	spec = strings.TrimSpace(spec)
	var a model.Arch
	var err error
	switch {
	case spec == "":
		return a, Usagef("--arch is required (a network_def tuple, a preset, max, min, or a JSON file)")
	case spec == "max" || spec == "min":
		if !l.HasMax {
			// Weights that match no space are usually one exported sub-network: its own def works.
			return a, fmt.Errorf("%s: %s needs the supernet's search space, and these weights match none (a sub-network?): pass the network's own network_def as --arch, or --space NAME for a supernet of that space", l.Name, spec)
		}
		if spec == "max" {
			return l.MaxArch.Clone(), nil
		}
		if l.Space == nil {
			return a, fmt.Errorf("%s: min needs the supernet's search space, and these weights match none: pass --space NAME (resnas spaces lists them) or a network_def as --arch", l.Name)
		}
		return l.Space.Min(), nil
	case strings.HasPrefix(spec, "(") || strings.HasPrefix(spec, "{") || strings.HasPrefix(spec, "\"") || strings.HasPrefix(spec, "'"):
		a, err = model.ParseArchAny(spec)
	default:
		if p, ok := model.Preset(spec); ok {
			a = p
		} else if b, rerr := os.ReadFile(spec); rerr == nil {
			a, err = model.ParseArchAny(string(b))
			if err != nil {
				err = fmt.Errorf("%s: %w", spec, err)
			}
		} else {
			return a, Usagef("--arch %q is not a tuple, a preset (%s), max, min, or a readable file", spec, strings.Join(model.PresetNames(), ", "))
		}
	}
	if err != nil {
		return a, err
	}
	if err := a.Validate(); err != nil {
		return a, err
	}
	if l.Space != nil && l.HasMax && len(a.Layers) < len(l.MaxArch.Layers) {
		if a, err = l.Space.Uncompact(a); err != nil {
			return a, err
		}
	}
	return a, nil
}

// Net builds the network for arch on the backend sel, on the GPU when sel has one.
func (l *Loaded) Net(a model.Arch, sel backend.Selected, threads int) (*model.Net, error) {
	if l.Space != nil && !model.MatchesExactly(l.Checkpoint.Weights, a, l.Input) {
		if err := l.Space.Fits(a); err != nil {
			return nil, err
		}
	}
	dw, err := l.DeviceWeights(sel)
	if err != nil {
		return nil, err
	}
	n, err := model.NewNet(l.Checkpoint.Weights, a, l.Input, sel.Backend, model.NetOptions{Threads: threads, Device: dw})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.Name, err)
	}
	return n, nil
}

// DeviceWeights uploads the checkpoint to the GPU the first time a CUDA backend asks, so that
// every sub-network then runs there on views of one copy; nil on the CPU.
func (l *Loaded) DeviceWeights(sel backend.Selected) (*model.DeviceWeights, error) {
	if sel.CUDA == nil {
		return nil, nil
	}
	if l.gpu != nil && l.gpu.Device() == sel.CUDA {
		return l.gpu, nil
	}
	dw, err := model.UploadWeights(sel.CUDA, l.Checkpoint.Weights)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.Name, err)
	}
	l.gpu = dw
	return dw, nil
}

// Label names the checkpoint for titles: the file's base name, or for the shipped default
// its space and size.
func (l *Loaded) Label() string {
	if l.Name == DefaultName && l.Space != nil {
		return fmt.Sprintf("default (%s, %.1fM MACs max)", l.Space.Name, float64(profiler.MACs(l.Space.Max(), l.Input))/1e6)
	}
	return filepath.Base(l.Name)
}

// ComputeLabel names where sub-networks run: "cpu/openblas", "gpu/NVIDIA H100".
func ComputeLabel(sel backend.Selected) string {
	if sel.CUDA != nil {
		return "gpu/" + sel.CUDA.Info().Name
	}
	return "cpu/" + sel.Name
}

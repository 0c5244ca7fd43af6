package main

import (
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/checkpoints/shipped"
	"github.com/resnas/resnas/internal/gemm/backend"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// loaded is a checkpoint made ready to run: its weights, the geometry they were trained at,
// the largest architecture they hold and, when known, the search space.
type loaded struct {
	name    string // file path, or "default" for the shipped supernet
	ck      *checkpoints.Checkpoint
	input   model.Input
	space   *supernet.Space // nil for a checkpoint of no known space
	maxArch model.Arch      // valid when hasMax
	hasMax  bool

	gpu *model.DeviceWeights // the weights on the GPU, uploaded on first use
}

type loadOptions struct {
	prefer string // "model", "model_ema" or "" (the reference's choice: model_ema when present)
	patch  int    // patch size for PyTorch files, which do not record it
	space  string // search space name, overriding detection
}

// loadCheckpoint reads path, or the shipped default when path is empty.
func loadCheckpoint(path string, opts loadOptions) (*loaded, error) {
	var ck *checkpoints.Checkpoint
	var err error
	if path == "" {
		ck, err = shipped.Checkpoint()
		path = "default"
	} else {
		ck, err = checkpoints.Load(path, checkpoints.Options{Prefer: opts.prefer})
	}
	if err != nil {
		return nil, err
	}
	l := &loaded{name: path, ck: ck}
	meta := ck.Meta
	if meta.Input.Size > 0 {
		l.input = meta.Input
	} else if l.input, err = inferInput(ck.Weights, opts.patch); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case opts.space != "" && meta.Space != "" && opts.space != meta.Space:
		// The recorded space is what the weights were trained in; another would be ignored.
		name := path
		if name == "default" {
			name = "the shipped checkpoint"
		}
		return nil, usagef("--space %s: %s was trained in space %s, which it records; leave --space out", opts.space, name, meta.Space)
	case meta.Space != "":
		if l.space, err = supernet.Lookup(meta.Space); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	case opts.space != "":
		if l.space, err = supernet.Lookup(opts.space); err != nil {
			return nil, err
		}
		// max and the sliced sub-networks trust the space, so its largest network must fit.
		if err := checkSpaceFits(ck.Weights, l.space, l.input); err != nil {
			return nil, usagef("--space %s does not fit %s: %v", opts.space, path, err)
		}
	default:
		l.space = detectSpace(ck.Weights, l.input)
	}
	switch {
	case meta.Arch != "":
		if l.maxArch, err = model.ParseArch(meta.Arch); err != nil {
			return nil, fmt.Errorf("%s: metadata arch: %w", path, err)
		}
		l.hasMax = true
	case l.space != nil:
		l.maxArch, l.hasMax = l.space.Max(), true
	}
	return l, nil
}

// inferInput reads the image geometry off a PyTorch state_dict: channels from the first
// convolution, the token grid from the stage-1 position embedding, and the patch size given.
func inferInput(w model.Weights, patch int) (model.Input, error) {
	if patch <= 0 {
		patch = 14
	}
	in := model.Input{Patch: patch}
	pos, ok := w["pos_embed"]
	if !ok || len(pos.Shape) != 3 {
		return in, fmt.Errorf("no pos_embed of shape (1, tokens, C): not a ViT-ResNAS checkpoint")
	}
	g := int(math.Round(math.Sqrt(float64(pos.Shape[1] - 1))))
	if g*g+1 != pos.Shape[1] {
		return in, fmt.Errorf("pos_embed has %d tokens, not 1 + a square grid (distillation models are not supported)", pos.Shape[1])
	}
	in.Size = g * patch
	for _, k := range []string{"patch_embed.conv1.conv.weight", "patch_embed.proj.weight"} {
		if t, ok := w[k]; ok && len(t.Shape) == 4 {
			in.Channels = t.Shape[1]
			return in, nil
		}
	}
	return in, fmt.Errorf("no patch_embed.conv1.conv.weight or patch_embed.proj.weight: not a ViT-ResNAS checkpoint")
}

// detectSpace finds the known search space whose largest architecture the weights hold exactly.
func detectSpace(w model.Weights, in model.Input) *supernet.Space {
	for _, name := range supernet.Names() {
		s, err := supernet.Lookup(name)
		if err != nil || s.Input.Channels != in.Channels {
			continue
		}
		if model.MatchesExactly(w, s.Max(), in) {
			return s
		}
	}
	return nil
}

// checkSpaceFits checks that w holds space s's largest architecture: every tensor it needs
// is there, of the same rank and at least as large (a supernet of a larger space can still
// serve a smaller one by slicing).
func checkSpaceFits(w model.Weights, s *supernet.Space, in model.Input) error {
	if s.Input.Channels != in.Channels {
		return fmt.Errorf("the stem (patch_embed) takes %d-channel images, %s's networks take %d", in.Channels, s.Name, s.Input.Channels)
	}
	for _, p := range model.ParamShapes(s.Max(), in) {
		t, ok := w[p.Key]
		if !ok {
			return fmt.Errorf("no %s, which %s's largest network needs", p.Key, s.Name)
		}
		fits := len(t.Shape) == len(p.Shape)
		for i := 0; fits && i < len(p.Shape); i++ {
			fits = t.Shape[i] >= p.Shape[i]
		}
		if !fits {
			return fmt.Errorf("%s has shape %v, %s's largest network needs %v", p.Key, t.Shape, s.Name, p.Shape)
		}
	}
	return nil
}

// resolveArch turns an ARCH argument into an architecture of this checkpoint: a network_def
// tuple, a JSON file or JSON text, a preset name, or max/min of the checkpoint's space.
// A compacted def (skipped blocks deleted) is re-expanded against the space.
func (l *loaded) resolveArch(spec string) (model.Arch, error) {
	spec = strings.TrimSpace(spec)
	var a model.Arch
	var err error
	switch {
	case spec == "":
		return a, usagef("--arch is required (a network_def tuple, a preset, max, min, or a JSON file)")
	case spec == "max" || spec == "min":
		if !l.hasMax {
			// Weights that match no space are usually one exported sub-network: its own def works.
			return a, fmt.Errorf("%s: %s needs the supernet's search space, and these weights match none (a sub-network?): pass the network's own network_def as --arch, or --space NAME for a supernet of that space", l.name, spec)
		}
		if spec == "max" {
			return l.maxArch.Clone(), nil
		}
		if l.space == nil {
			return a, fmt.Errorf("%s: min needs the supernet's search space, and these weights match none: pass --space NAME (resnas spaces lists them) or a network_def as --arch", l.name)
		}
		return l.space.Min(), nil
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
			return a, usagef("--arch %q is not a tuple, a preset (%s), max, min, or a readable file", spec, strings.Join(model.PresetNames(), ", "))
		}
	}
	if err != nil {
		return a, err
	}
	if err := a.Validate(); err != nil {
		return a, err
	}
	if l.space != nil && l.hasMax && len(a.Layers) < len(l.maxArch.Layers) {
		if a, err = l.space.Uncompact(a); err != nil {
			return a, err
		}
	}
	return a, nil
}

// net builds the network for arch, on a GEMM backend chosen as the flags say.
func (l *loaded) net(a model.Arch, sel backend.Selected, threads int) (*model.Net, error) {
	if l.space != nil && !model.MatchesExactly(l.ck.Weights, a, l.input) {
		if err := l.space.Fits(a); err != nil {
			return nil, err
		}
	}
	dw, err := l.deviceWeights(sel)
	if err != nil {
		return nil, err
	}
	n, err := model.NewNet(l.ck.Weights, a, l.input, sel.Backend, model.NetOptions{Threads: threads, Device: dw})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.name, err)
	}
	return n, nil
}

// deviceWeights uploads the checkpoint to the GPU the first time a CUDA backend asks, so that
// every sub-network then runs there on views of one copy; nil on the CPU.
func (l *loaded) deviceWeights(sel backend.Selected) (*model.DeviceWeights, error) {
	if sel.CUDA == nil {
		return nil, nil
	}
	if l.gpu != nil && l.gpu.Device() == sel.CUDA {
		return l.gpu, nil
	}
	dw, err := model.UploadWeights(sel.CUDA, l.ck.Weights)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.name, err)
	}
	l.gpu = dw
	return dw, nil
}

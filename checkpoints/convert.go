package checkpoints

import (
	"fmt"
	"maps"
	"math"
	"time"

	"github.com/resnas/resnas/model"
)

// ConvertOptions configure Convert.
type ConvertOptions struct {
	Load Options
	Save SaveOptions
	// Meta holds what the caller knows; its non-zero fields override what the input records.
	// Created defaults to now.
	Meta Meta
}

// Convert reads any supported weights file and writes it in resnas's safetensors format (the
// `resnas convert IN OUT` command). For a PyTorch checkpoint the reference run's args fill
// what they can (search space, image size, seed, network_def) unless Meta says otherwise.
func Convert(in, out string, opts ConvertOptions) error {
	if opts.Meta.Arch != "" { // fail before the slow part
		if _, err := model.ParseArch(opts.Meta.Arch); err != nil {
			return fmt.Errorf("%s: metadata network_def: %w", out, err)
		}
	}
	ck, err := Load(in, opts.Load)
	if err != nil {
		return err
	}
	return ConvertLoaded(ck, out, opts.Meta, opts.Save)
}

// ConvertLoaded is Convert for a checkpoint already in memory (a caller that inspected it
// first): the metadata the file carries or its run's args imply, overridden by the non-zero
// fields of over, with the geometry completed from the weights.
func ConvertLoaded(ck *Checkpoint, out string, over Meta, save SaveOptions) error {
	meta := mergeMeta(metaFromArgs(ck.Meta, ck.Args), over)
	meta = completeGeometry(meta, ck.Weights, ck.Source != SourceSafetensors)
	if meta.Provenance.Created.IsZero() {
		meta.Provenance.Created = time.Now().UTC()
	}
	return Save(out, ck.Weights, meta, save)
}

// metaFromArgs fills m from the reference's argparse args where they say something resnas uses.
func metaFromArgs(m Meta, args map[string]any) Meta {
	if s, ok := args["search_space"].(string); ok && m.Space == "" {
		m.Space = s
	}
	if n, ok := args["input_size"].(int); ok && n > 0 && m.Input.Size == 0 {
		m.Input.Size = n
	}
	if n, ok := args["seed"].(int); ok && m.Provenance.Seed == nil {
		seed := int64(n)
		m.Provenance.Seed = &seed
	}
	if s, ok := args["network_def"].(string); ok && m.Arch == "" {
		if a, err := model.ParseArch(s); err == nil {
			m.Arch = a.String()
		}
	}
	return m
}

// completeGeometry fills in what the weights say themselves: input channels from the stem,
// classes from cls_head, the image size from the stage-1 position embedding (1+g² tokens).
// Every model the reference registers has patch 14, so a PyTorch file gets that. An Input
// still incomplete is dropped, since a partial geometry is of no use to a reader.
func completeGeometry(m Meta, w model.Weights, fromTorch bool) Meta {
	in := &m.Input
	if in.Patch == 0 && fromTorch {
		in.Patch = model.ReferenceInput().Patch
	}
	if in.Channels == 0 {
		for _, key := range []string{"patch_embed.conv1.conv.weight", "patch_embed.proj.weight"} {
			if t, ok := w[key]; ok && len(t.Shape) == 4 {
				in.Channels = t.Shape[1]
				break
			}
		}
	}
	if t, ok := w["cls_head.weight"]; ok && len(t.Shape) == 2 && m.Classes == 0 {
		m.Classes = t.Shape[0]
	}
	if t, ok := w["pos_embed"]; ok && len(t.Shape) == 3 && in.Size == 0 && in.Patch > 0 {
		g := int(math.Round(math.Sqrt(float64(t.Shape[1] - 1))))
		if g > 0 && g*g+1 == t.Shape[1] {
			in.Size = g * in.Patch
		}
	}
	if in.Size == 0 || in.Channels == 0 || in.Patch == 0 {
		m.Input = model.Input{}
	}
	return m
}

// mergeMeta overlays the non-zero fields of over onto base.
func mergeMeta(base, over Meta) Meta {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	setInt := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	set(&base.Arch, over.Arch)
	set(&base.Space, over.Space)
	if len(over.SpaceJSON) > 0 {
		base.SpaceJSON = over.SpaceJSON
	}
	setInt(&base.Input.Size, over.Input.Size)
	setInt(&base.Input.Channels, over.Input.Channels)
	setInt(&base.Input.Patch, over.Input.Patch)
	setInt(&base.Classes, over.Classes)
	if len(over.Mean) > 0 {
		base.Mean = over.Mean
	}
	if len(over.Std) > 0 {
		base.Std = over.Std
	}
	bp, op := &base.Provenance, over.Provenance
	set(&bp.Source, op.Source)
	set(&bp.SHA256, op.SHA256)
	set(&bp.Command, op.Command)
	if op.Seed != nil {
		bp.Seed = op.Seed
	}
	if !op.Created.IsZero() {
		bp.Created = op.Created
	}
	if len(op.Accuracy) > 0 {
		bp.Accuracy = maps.Clone(bp.Accuracy)
		if bp.Accuracy == nil {
			bp.Accuracy = make(map[string]float64)
		}
		maps.Copy(bp.Accuracy, op.Accuracy)
	}
	if len(over.Extra) > 0 {
		base.Extra = maps.Clone(base.Extra)
		if base.Extra == nil {
			base.Extra = make(map[string]string)
		}
		maps.Copy(base.Extra, over.Extra)
	}
	return base
}

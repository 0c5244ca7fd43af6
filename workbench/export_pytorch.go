package workbench

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/model"
)

// pyTorchStateDict is the state_dict of the reference model built from arch's compact
// network_def (reference.md §4.2, §4.3): the sliced tensors w, with the skipped blocks' indices
// closed up (blocks.{i} numbered consecutively), in reference order, plus what that model's
// state_dict also holds: the stem BatchNorms' num_batches_tracked (int64, 0: the reference's
// get_sub_state_dict keeps the sub-network's fresh value) and, when the supernet has one, the
// training-only patch_head, sliced like cls_head. It reports whether patch_head is there.
func pyTorchStateDict(src, w model.Weights, arch model.Arch, in model.Input) ([]checkpoints.TorchTensor, bool, error) {
	full, compact := model.ParamShapes(arch, in), model.ParamShapes(arch.Compact(), in)
	// Skipped blocks own no tensors, so both lists name the same tensors in the same order.
	if len(full) != len(compact) {
		return nil, false, fmt.Errorf("export: %d tensors in the network_def, %d in its compact form", len(full), len(compact))
	}
	var out []checkpoints.TorchTensor
	for i, p := range full {
		t, ok := w[p.Key]
		if !ok || !slices.Equal(t.Shape, compact[i].Shape) {
			return nil, false, fmt.Errorf("export: %s has no sliced tensor of shape %v for %s", p.Key, compact[i].Shape, compact[i].Key)
		}
		out = append(out, checkpoints.TorchTensor{Key: compact[i].Key, Tensor: t})
		if prefix, ok := strings.CutSuffix(compact[i].Key, ".bn.running_var"); ok {
			out = append(out, checkpoints.TorchTensor{Key: prefix + ".bn.num_batches_tracked", Tensor: model.Tensor{Shape: []int{}, Data: []float32{0}}, Int64: true})
		}
	}
	hw, okW := src["patch_head.weight"]
	hb, okB := src["patch_head.bias"]
	hw, hb = hw.Float32(), hb.Float32() // weights loaded with --float16 hold their values in Half
	classes, dim := arch.Head.Classes, arch.Head.Dim
	if !okW || !okB || len(hw.Shape) != 2 || len(hb.Shape) != 1 || hw.Shape[0] < classes || hw.Shape[1] < dim || hb.Shape[0] < classes {
		return out, false, nil
	}
	weight := model.Tensor{Shape: []int{classes, dim}, Data: make([]float32, classes*dim)}
	for r := range classes {
		copy(weight.Data[r*dim:(r+1)*dim], hw.Data[r*hw.Shape[1]:])
	}
	bias := model.Tensor{Shape: []int{classes}, Data: slices.Clone(hb.Data[:classes])}
	out = append(out, checkpoints.TorchTensor{Key: "patch_head.weight", Tensor: weight}, checkpoints.TorchTensor{Key: "patch_head.bias", Tensor: bias})
	return out, true, nil
}

// referenceSizes are the input sizes the reference registers models for
// (nets/vit_sr_supernet.py: flexible_vit_sr_patch14_{224,280,336,392}_patch_output).
var referenceSizes = []int{224, 280, 336, 392}

// ReferenceNotes names each constraint of the reference code that a network of arch on input
// in breaks, one phrase each; none for a network its retraining script builds as is.
// patchHead tells whether the export carries the patch_head its *_patch_output models need.
func ReferenceNotes(arch model.Arch, in model.Input, patchHead bool) []string {
	var notes []string
	if in.Patch != 14 {
		notes = append(notes, fmt.Sprintf("patch %d (its models assert patch_size == 14)", in.Patch))
	}
	if in.Channels != 3 {
		notes = append(notes, fmt.Sprintf("%d input channel(s) (it builds RGB models, in_chans 3)", in.Channels))
	}
	if arch.Head.Classes != 1000 {
		notes = append(notes, fmt.Sprintf("%d classes (its scripts train on ImageNet's 1000: the head must match the dataset's class count, and its MAC counter assumes 1000)", arch.Head.Classes))
	}
	if !slices.Contains(referenceSizes, in.Size) {
		notes = append(notes, fmt.Sprintf("%d px (its models are built at 224, or 280/336/392 to fine-tune; --finetune would interpolate the position embeddings)", in.Size))
	}
	if !patchHead {
		notes = append(notes, "no patch_head in the supernet (its *_patch_output models and --use-patch-mixup need one; use --model flexible_vit_sr_patch14_224 without --use-patch-mixup)")
	}
	return notes
}

// NotesLine is ReferenceNotes as the one line the CLI prints; "" when there are none.
func NotesLine(notes []string) string {
	if len(notes) == 0 {
		return ""
	}
	return "subnet.pth does not fit the reference code as is: " + strings.Join(notes, "; ")
}

// retrainText is RETRAIN.md: the reference command that fine-tunes from the export, built from
// its scripts (scripts/vit-sr-nas/searched_net/tiny.sh for the recipe, finetune/*.sh for
// --finetune and the sizes above 224).
func retrainText(l *Loaded, arch model.Arch, dir string, patchHead bool, notes []string) string {
	pth := filepath.Join(dir, exportPyTorch)
	if abs, err := filepath.Abs(pth); err == nil {
		pth = abs
	}
	compact := arch.Compact().String()
	size := l.Input.Size
	if !slices.Contains(referenceSizes, size) {
		size = 224
	}
	modelName := fmt.Sprintf("flexible_vit_sr_patch14_%d_patch_output", size)
	if !patchHead {
		modelName = "flexible_vit_sr_patch14_224"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Retraining this sub-network with the reference code\n\n")
	fmt.Fprintf(&b, "Reference: github.com/yilunliao/vit-search (`main.py`). Exported by `resnas export` from %s (sha256 %s), input %d px, %d channel(s), patch %d.\n\n",
		l.Name, l.Checkpoint.SHA256, l.Input.Size, l.Input.Channels, l.Input.Patch)
	fmt.Fprintf(&b, "- `%s`: the sub-network's weights, sliced from the supernet, as `torch.save` of `{\"model\": state_dict}` "+
		"(what `--finetune` reads: `network_utils/finetune_state_dict.py` takes `checkpoint['model']`). "+
		"In PyTorch: `torch.load(\"%s\", weights_only=True)[\"model\"]`.\n", exportPyTorch, exportPyTorch)
	fmt.Fprintf(&b, "- The state_dict is named as the model of the **compact** network_def (skipped `(1, …, 0)` blocks deleted, "+
		"`blocks.{i}` renumbered), which the reference README says to train; it is in `%s`:\n\n    %s\n\n", exportCompactDef, compact)
	if len(notes) > 0 {
		fmt.Fprintf(&b, "**Note:** this network breaks constraints of the reference code, so the command below will not run as is:\n\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		b.WriteString("\n")
	}
	b.WriteString("Fine-tune from these weights (the recipe of `scripts/vit-sr-nas/searched_net/tiny.sh`, plus `--finetune`; " +
		"use `--drop-path 0.3` for Small/Medium-sized networks, and leave `--finetune` out to train from scratch as the paper does):\n\n")
	b.WriteString("```sh\n")
	b.WriteString("IMAGENET_PATH=/path/to/imagenet\n")
	b.WriteString("python -m torch.distributed.launch --nproc_per_node=8 \\\n    --use_env main.py \\\n")
	fmt.Fprintf(&b, "    --model %s \\\n", modelName)
	b.WriteString("    --batch-size 128 \\\n    --data-path $IMAGENET_PATH \\\n    --epochs 300 \\\n    --num_workers 8 \\\n")
	b.WriteString("    --output_dir models/resnas-export/ \\\n    --val-bs 192 \\\n")
	fmt.Fprintf(&b, "    --network-def '%s' \\\n", compact)
	b.WriteString("    --no-repeated-aug \\\n")
	if patchHead {
		b.WriteString("    --use-patch-mixup \\\n")
	}
	if size != 224 {
		fmt.Fprintf(&b, "    --input-size %d \\\n", size)
		if patchHead {
			fmt.Fprintf(&b, "    --mixup-patch-len %d \\\n", size/56)
		}
	}
	fmt.Fprintf(&b, "    --finetune %s \\\n", shellQuote(pth))
	b.WriteString("    --drop-path 0.2\n```\n")
	return b.String()
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

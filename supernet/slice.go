package supernet

import (
	"fmt"
	"strings"

	"github.com/resnas/resnas/model"
)

// Slice cuts the state_dict of sub-network arch out of supernet weights w, exactly as the
// reference get_sub_state_dict does (reference.md §4.4): the leading [0:k] slice on every
// axis, except qkv, which takes the first heads of each of its q, k and v sections. The result
// owns its memory, in float32 whatever w's precision (it is meant for export); inference uses
// views instead (model.NewNet).
func Slice(w model.Weights, arch model.Arch, in model.Input) (model.Weights, error) {
	out := model.Weights{}
	for _, p := range model.ParamShapes(arch, in) {
		src, ok := w[sourceKey(w, arch, p.Key)]
		if !ok {
			return nil, fmt.Errorf("slice: supernet has no %s", p.Key)
		}
		src = src.Float32() // a float16 supernet's tensor, one at a time
		if len(src.Shape) != len(p.Shape) {
			return nil, fmt.Errorf("slice: %s has shape %v, want rank %d", p.Key, src.Shape, len(p.Shape))
		}
		var err error
		if strings.HasSuffix(p.Key, "attn.qkv.weight") || strings.HasSuffix(p.Key, "attn.qkv.bias") {
			out[p.Key], err = sliceQKV(p.Key, src, p.Shape)
		} else {
			out[p.Key], err = sliceLeading(p.Key, src, p.Shape)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sourceKey is where the supernet keeps tensor key of arch: its own key, except the stem's
// BatchNorm statistics of a searchable stem width, which come from that width's own.
func sourceKey(w model.Weights, arch model.Arch, key string) string {
	for layer := 1; layer <= 3; layer++ {
		prefix := model.StemBNPrefix(layer)
		if field, ok := strings.CutPrefix(key, prefix+"."); ok && strings.HasPrefix(field, "running_") {
			return model.StemBNStats(w, layer, arch.Stem.Mid) + "." + field
		}
	}
	return key
}

// sliceLeading copies src[0:shape[0], 0:shape[1], …]. Token axes of position embeddings and
// kernel axes of convolutions must match exactly: a leading slice there would be wrong maths.
func sliceLeading(key string, src model.Tensor, shape []int) (model.Tensor, error) {
	for i, d := range shape {
		exact := (strings.HasSuffix(key, "pos_embed") && i == 1) || (len(shape) == 4 && i >= 2)
		if src.Shape[i] < d || (exact && src.Shape[i] != d) {
			return model.Tensor{}, fmt.Errorf("slice: %s has shape %v, cannot take %v", key, src.Shape, shape)
		}
	}
	dst := model.Tensor{Shape: append([]int(nil), shape...)}
	dst.Data = make([]float32, dst.Numel())
	copyBlock(dst.Data, shape, src.Data, src.Shape)
	return dst, nil
}

// copyBlock copies the leading block of shape dshape out of a row-major array of shape sshape.
func copyBlock(dst []float32, dshape []int, src []float32, sshape []int) {
	if len(dshape) == 0 {
		dst[0] = src[0]
		return
	}
	if len(dshape) == 1 {
		copy(dst, src[:dshape[0]])
		return
	}
	dInner, sInner := 1, 1
	for i := 1; i < len(dshape); i++ {
		dInner *= dshape[i]
		sInner *= sshape[i]
	}
	for i := 0; i < dshape[0]; i++ {
		copyBlock(dst[i*dInner:(i+1)*dInner], dshape[1:], src[i*sInner:(i+1)*sInner], sshape[1:])
	}
}

// sliceQKV takes rows [0:hd], [H·D:H·D+hd], [2H·D:2H·D+hd] (and the leading columns).
func sliceQKV(key string, src model.Tensor, shape []int) (model.Tensor, error) {
	if src.Shape[0]%3 != 0 || shape[0]%3 != 0 || src.Shape[0] < shape[0] || (len(shape) == 2 && src.Shape[1] < shape[1]) {
		return model.Tensor{}, fmt.Errorf("slice: %s has shape %v, cannot take %v", key, src.Shape, shape)
	}
	secSrc, secDst := src.Shape[0]/3, shape[0]/3
	cols, srcCols := 1, 1
	if len(shape) == 2 {
		cols, srcCols = shape[1], src.Shape[1]
	}
	dst := model.Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, shape[0]*cols)}
	for s := 0; s < 3; s++ {
		for r := 0; r < secDst; r++ {
			from := (s*secSrc + r) * srcCols
			copy(dst.Data[(s*secDst+r)*cols:(s*secDst+r+1)*cols], src.Data[from:from+cols])
		}
	}
	return dst, nil
}

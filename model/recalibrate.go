package model

import (
	"context"
	"fmt"

	"github.com/resnas/resnas/internal/gemm"
)

// RecalibrateStemBN re-estimates the running statistics of the conv stem's three BatchNorm
// layers on n images x (normalised, NCHW) and returns weights that share every other tensor
// with w. Each layer's statistics are population statistics over all images and pixels,
// computed after the layers before it were recalibrated (as a large-batch train-mode pass
// would); running_var is unbiased, as PyTorch accumulates it.
//
// In ViT-ResNAS the stem's widths are not searched, so its statistics are the same for every
// sub-network: recalibration adapts the stem to the evaluation data, not to the architecture.
// Where a supernet searches the stem's mid width, each width's own statistics
// (StemBNStatsPrefix) are recalibrated too, through that width's leading slice of the stem.
func RecalibrateStemBN(ctx context.Context, w Weights, in Input, x []float32, n int, be gemm.Backend) (Weights, error) {
	conv1, ok := w["patch_embed.conv1.conv.weight"]
	if !ok || len(conv1.Shape) != 4 {
		return nil, fmt.Errorf("recalibrate BN: the checkpoint has no conv stem BatchNorm (linear stem?)")
	}
	if n <= 0 || len(x) < n*in.Channels*in.Size*in.Size {
		return nil, fmt.Errorf("recalibrate BN: need %d images of %d×%d×%d", n, in.Channels, in.Size, in.Size)
	}
	out := Weights{}
	for k, t := range w {
		out[k] = t
	}
	full := conv1.Shape[0]
	for m := full; m >= 1; m-- {
		if m < full && StemBNStats(w, 1, m) == StemBNPrefix(1) {
			continue // no statistics of their own at this width
		}
		if err := recalibrateStemWidth(ctx, out, in, x, n, m, be); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// recalibrateStemWidth recalibrates, in out, the statistics a stem of mid width m uses.
func recalibrateStemWidth(ctx context.Context, out Weights, in Input, x []float32, n, m int, be gemm.Backend) error {
	v := viewer{w: out}
	var convs [3]convView
	var err error
	for i, cin := range []int{in.Channels, m, m} {
		stride := 1
		if i == 0 {
			stride = 2
		}
		if convs[i], err = v.conv(fmt.Sprintf("patch_embed.conv%d.conv", i+1), m, cin, 3, stride, 1, false); err != nil {
			return err
		}
	}
	h := convOut(in.Size, 3, 2, 1)
	hw := h * h
	pix := in.Channels * in.Size * in.Size
	cols := gemm.NewMat(m*9, hw, make([]float32, m*9*hw))
	bufs := [2]gemm.Mat{gemm.NewMat(m, hw, make([]float32, m*hw)), gemm.NewMat(m, hw, make([]float32, m*hw))}
	var folds [3]bnFold
	// Layer by layer: the statistics of layer L need layers before it already recalibrated.
	// Activations are recomputed per image rather than stored, so memory stays one image.
	for layer := 0; layer < 3; layer++ {
		sum := make([]float64, m)
		sq := make([]float64, m)
		for i := 0; i < n; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			src, cin, size := x[i*pix:(i+1)*pix], in.Channels, in.Size
			for l := 0; l <= layer; l++ {
				c := cols.Sub(0, cin*9, 0, hw)
				im2colT(c, src, size*size, cin, size, size, 3, convs[l].stride, 1)
				o := bufs[l%2]
				gemm.Mul(be, false, false, 1, convs[l].W, c, 0, o)
				if l < layer {
					for ch := 0; ch < m; ch++ {
						bnReLU(o.Row(ch), folds[l].scale[ch], folds[l].shift[ch])
					}
				}
				src, cin, size = o.Data, m, h
			}
			for ch := 0; ch < m; ch++ {
				for _, val := range src[ch*hw : (ch+1)*hw] {
					sum[ch] += float64(val)
					sq[ch] += float64(val) * float64(val)
				}
			}
		}
		cnt := float64(n * hw)
		stats := StemBNStats(out, layer+1, m)
		mean := Tensor{Shape: []int{m}, Data: make([]float32, m)}
		vr := Tensor{Shape: []int{m}, Data: make([]float32, m)}
		for ch := 0; ch < m; ch++ {
			mu := sum[ch] / cnt
			mean.Data[ch] = float32(mu)
			vr.Data[ch] = float32(max(0, sq[ch]-cnt*mu*mu) / max(cnt-1, 1))
		}
		out[stats+".running_mean"], out[stats+".running_var"] = mean, vr
		if folds[layer], err = v.bn(StemBNPrefix(layer+1), stats, m); err != nil {
			return err
		}
	}
	return nil
}

package model

import (
	"math"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/vecmath"
)

// Attention over few tokens (the 32-px networks, where every stage has ≤ 65 tokens) costs
// more in calls than in arithmetic on the BLAS path: two GEMMs of 65×65×8 per (image, head),
// each packing its operands, and a softmax call per row. attentionSmall does the same maths
// with vecmath.MatMul, which needs no packing.
const (
	smallAttnMaxTok     = 65
	smallAttnMaxHeadDim = 32
)

var negInf = float32(math.Inf(-1))

// useSmallAttention says whether attention with tok tokens and head dim d runs in
// attentionSmall rather than on the backend's GEMMs.
func useSmallAttention(tok, d int) bool {
	return tok <= smallAttnMaxTok && d <= smallAttnMaxHeadDim
}

// smallAttnScratch is the scratch attentionSmall needs for one (image, head): k transposed
// (d × tokPad) and the scores (tok × tokPad), tokPad = tok rounded up to 8.
func smallAttnScratch(tok, d int) int {
	tokPad := (tok + 7) &^ 7
	return (d + tok) * tokPad
}

// attentionSmall is attention (same shapes, same contract, same result within float32
// rounding) without GEMM calls. Per image and head: k is transposed into scratch (zero-padded
// to a multiple of 8 tokens), S = q·kᵀ and O = softmax(S·scale)·v are vecmath.MatMul
// products (8 or 16 columns by 4 rows at a time), and the softmax takes the scale, over rows
// padded with -Inf to the multiple of 8. scratch holds at
// least smallAttnScratch(tok, headDim) floats. It allocates nothing.
func attentionSmall(out, qkv gemm.Mat, scratch []float32, tok, heads, headDim int) {
	checkAttention(out, qkv, tok, heads, headDim)
	attentionSmallUnits(out, qkv, scratch, tok, heads, headDim, 0, qkv.Rows/tok*heads)
}

// attentionSmallUnits is attentionSmall for units [u0, u1) only, unit i·heads+h being head h
// of image i; two goroutines may run disjoint ranges, each with its own scratch.
func attentionSmallUnits(out, qkv gemm.Mat, scratch []float32, tok, heads, headDim, u0, u1 int) {
	checkAttention(out, qkv, tok, heads, headDim)
	if len(scratch) < smallAttnScratch(tok, headDim) {
		panic("model: attentionSmall: scratch too short")
	}
	for u := u0; u < u1; u++ {
		i, h := u/heads, u%heads
		attentionSmallHeads(out, qkv, scratch, i*tok, tok, h, h+1, heads, headDim)
	}
}

// attentionSmallHeads runs heads [h0, h1) of the image whose tokens are rows [base, base+tok)
// of qkv and out (heads is the section's total, which places the k and v sections). Two
// goroutines may run disjoint head ranges of one image, each with its own scratch.
func attentionSmallHeads(out, qkv gemm.Mat, scratch []float32, base, tok, h0, h1, heads, d int) {
	hd := heads * d
	scale := float32(1 / sqrt64(float64(d)))
	tokPad := (tok + 7) &^ 7
	kt := scratch[:d*tokPad]
	s := scratch[d*tokPad : (d+tok)*tokPad]
	qs := qkv.Stride
	img := qkv.Data[base*qs:]
	o := out.Data[base*out.Stride:]
	for h := h0; h < h1; h++ {
		qo, ko, vo := h*d, hd+h*d, 2*hd+h*d
		for j := 0; j < d; j++ {
			row := kt[j*tokPad : (j+1)*tokPad]
			for c := 0; c < tok; c++ {
				row[c] = img[c*qs+ko+j]
			}
			clear(row[tok:])
		}
		vecmath.MatMul(s, tokPad, img[qo:], qs, kt, tokPad, tok, tokPad, d)
		for r := 0; r < tok; r++ {
			// The padding columns get -Inf, whose e^ is 0: the softmax runs over whole
			// vectors of 8 without a masked tail, and P·v reads only the first tok.
			p := s[r*tokPad : (r+1)*tokPad]
			for c := tok; c < tokPad; c++ {
				p[c] = negInf
			}
			vecmath.Softmax(p, p, scale)
		}
		vecmath.MatMul(o[qo:], out.Stride, s, tokPad, img[vo:], qs, tok, d, tok)
	}
}

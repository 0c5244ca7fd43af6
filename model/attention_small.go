package model

import (
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

// useSmallAttention says whether attention with tok tokens and head dim d runs in
// attentionSmall rather than on the backend's GEMMs.
func useSmallAttention(tok, d int) bool {
	return tok <= smallAttnMaxTok && d <= smallAttnMaxHeadDim
}

// smallAttnScratch is the scratch attentionSmall needs for one (image, head): q transposed
// (d × tokPad) and the transposed scores (tok × tokPad), tokPad = tok rounded up to 8.
func smallAttnScratch(tok, d int) int {
	tokPad := (tok + 7) &^ 7
	return max((d+tok)*tokPad, 16*tok+256) // or vecmath.AttentionD8's
}

// attentionSmall is attention (same shapes, same contract, same result within float32
// rounding) without GEMM calls. Per image and head the scores are kept transposed, keys ×
// queries: q is transposed into scratch (zero-padded to a multiple of 8 tokens), Sᵀ = k·qᵀ is
// a vecmath.MatMul product, each query's softmax runs down its column (vecmath.SoftmaxCols:
// eight queries per vector, no horizontal reductions, no padding of the rows), and O = P·v
// reads Sᵀ down its columns (vecmath.MatMulTN). Row-wise softmax over 65 scores cost more
// than both products together (73 ns a row, the reductions' latency). scratch holds at least
// smallAttnScratch(tok, headDim) floats. It allocates nothing.
func attentionSmall(out, qkv gemm.Mat, scratch []float32, tok, heads, headDim int) {
	attentionSmallUnits(out, qkv, scratch, tok, heads, headDim, 0, qkv.Rows/max(tok, 1)*heads)
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
	qt := scratch[:d*tokPad]
	st := scratch[d*tokPad : (d+tok)*tokPad]
	qs := qkv.Stride
	img := qkv.Data[base*qs:]
	o := out.Data[base*out.Stride:]
	if d == 8 && vecmath.AttentionD8Fast() {
		// Head dimension 8 (stage 1 of the 32-px spaces): the fused kernel, the same bits
		// as the three steps below.
		for h := h0; h < h1; h++ {
			qo, ko, vo := h*d, hd+h*d, 2*hd+h*d
			vecmath.AttentionD8(o[qo:], out.Stride, img[qo:], qs, img[ko:], img[vo:], qs, tok, scale, scratch)
		}
		return
	}
	for h := h0; h < h1; h++ {
		qo, ko, vo := h*d, hd+h*d, 2*hd+h*d
		// qᵀ, zero-padded to whole 8-column blocks: the padding queries score 0 against
		// every key, get a harmless uniform softmax, and are never read.
		vecmath.Transpose(qt, tokPad, img[qo:], qs, tok, d)
		for j := 0; j < d; j++ {
			clear(qt[j*tokPad+tok : (j+1)*tokPad])
		}
		// Sᵀ = k·qᵀ (keys × queries), each query's softmax down its column, O = (Sᵀ)ᵀ·v.
		vecmath.MatMul(st, tokPad, img[ko:], qs, qt, tokPad, tok, tokPad, d)
		vecmath.SoftmaxCols(st, tok, tokPad, tokPad, scale)
		vecmath.MatMulTN(o[qo:], out.Stride, st, tokPad, img[vo:], qs, tok, d, tok)
	}
}

package model

import "github.com/resnas/resnas/internal/gemm"

// attention is the multi-head self-attention step of a transformer block on the CPU: the
// part between the qkv projection and attn.proj. For every image and head h it computes
//
//	out[:, h·d:(h+1)·d] = softmax(Q_h·K_hᵀ · scale) · V_h,   scale = 1/√d,
//
// with the softmax over each row (a query's scores over all tok tokens, class token included;
// no mask). The GPU twin is gpuAttention (attention_gpu.go).
//
// Shapes, with d = headDim and hd = heads·d:
//   - qkv: images·tok × 3·hd, image i in rows [i·tok, (i+1)·tok). It may be a strided view.
//     Its columns are three sections of hd: q in [0, hd), k in [hd, 2·hd), v in [2·hd, 3·hd),
//     and head h is columns [h·d, (h+1)·d) of each section.
//   - out: images·tok × hd, head h written to columns [h·d, (h+1)·d); it may be strided.
//   - scratch: at least tok² floats, one head's scores at a time.
//
// Reference semantics: the reference's qkv Linear yields the q, k and v sections one after the
// other, each the concatenation of its heads (timm's reshape to (B, N, 3, H, d)), so the layout
// above is its own. A sub-network of a supernet uses the first Heads heads of each section
// (reference.md §4.4): viewer.block cuts those rows out of the q, k and v blocks of the
// max-size qkv weight and the qkv GEMM packs them densely, so each section here is hd wide
// whatever the supernet's maximum. The scale uses the head dim d (heads are sliced whole, d
// is fixed per stage), not the number of heads.
//
// It only calls the backend's GEMM and the softmax kernel; it allocates nothing itself.
func attention(be gemm.Backend, out, qkv gemm.Mat, scratch []float32, tok, heads, headDim int) {
	attentionUnits(be, out, qkv, scratch, tok, heads, headDim, 0, qkv.Rows/max(tok, 1)*heads)
}

// checkAttention panics unless qkv, out and tok agree.
func checkAttention(out, qkv gemm.Mat, tok, heads, headDim int) {
	hd := heads * headDim
	if qkv.Cols != 3*hd || out.Cols != hd || out.Rows != qkv.Rows || tok <= 0 || qkv.Rows%tok != 0 {
		panic("model: attention: qkv, out and tok do not agree")
	}
}

// attentionUnits is attention for units [u0, u1) only, unit i·heads+h being head h of image
// i; two goroutines may run disjoint ranges, each with its own scratch.
func attentionUnits(be gemm.Backend, out, qkv gemm.Mat, scratch []float32, tok, heads, headDim, u0, u1 int) {
	checkAttention(out, qkv, tok, heads, headDim)
	d := headDim
	hd := heads * d
	scale := float32(1 / sqrt64(float64(d)))
	scores := gemm.NewMat(tok, tok, scratch)
	for u := u0; u < u1; u++ {
		i, h := u/heads, u%heads
		img := qkv.Sub(i*tok, (i+1)*tok, 0, 3*hd)
		q := img.Sub(0, tok, h*d, (h+1)*d)
		k := img.Sub(0, tok, hd+h*d, hd+(h+1)*d)
		v := img.Sub(0, tok, 2*hd+h*d, 2*hd+(h+1)*d)
		gemm.Mul(be, false, true, scale, q, k, 0, scores)
		for r := 0; r < tok; r++ {
			softmax(scores.Row(r))
		}
		gemm.Mul(be, false, false, 1, scores, v, 0, out.Sub(i*tok, (i+1)*tok, h*d, (h+1)*d))
	}
}

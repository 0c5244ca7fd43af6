package model

import (
	"math"

	"gonum.org/v1/gonum/blas"

	"github.com/resnas/resnas/internal/gemm/cuda"
	"github.com/resnas/resnas/internal/gpukernels"
)

// gpuAttention queues the multi-head self-attention step of a transformer block on the GPU:
// the same softmax(Q_h·K_hᵀ / √d) · V_h per image and head as attention (attention.go), whose
// doc gives the qkv and out layouts, batched over the images of the chunk:
//
//  1. per head, one strided-batched GEMM over images writes Q_h·K_hᵀ·scale into scores;
//  2. one softmax_rows kernel normalises every row of every head and image;
//  3. per head, one strided-batched GEMM over images writes P_h·V_h into out's head columns.
//
// qkv is images·tok × 3·hd and out images·tok × hd, both row-major with any stride. scores
// must hold heads·images·tok² floats: unlike the CPU, which reuses one head's tok × tok
// scratch, all heads' probabilities live at once (head h, image i at (h·images + i)·tok²).
// Failures are kept in e.
func gpuAttention(q *cuda.Batch, k *gpukernels.Kernels, e *errs, out, qkv cuda.DMat, scores *cuda.Buffer, tok, heads, headDim int) {
	d := headDim
	hd := heads * d
	if qkv.Cols != 3*hd || out.Cols != hd || out.Rows != qkv.Rows || tok <= 0 || qkv.Rows%tok != 0 {
		panic("model: gpuAttention: qkv, out and tok do not agree")
	}
	b := qkv.Rows / tok
	scale := float32(1 / math.Sqrt(float64(d)))
	tt := tok * tok
	img, imgOut := tok*qkv.Stride, tok*out.Stride // distance between images
	for h := 0; h < heads; h++ {
		e.add(q.SgemmStridedBatched(blas.NoTrans, blas.Trans, tok, tok, d, scale,
			qkv.Buf, qkv.Off+h*d, qkv.Stride, img, qkv.Buf, qkv.Off+hd+h*d, qkv.Stride, img,
			0, scores, h*b*tt, tok, tt, b))
	}
	e.add(k.SoftmaxRows(cuda.DMat{Buf: scores, Rows: heads * b * tok, Cols: tok, Stride: tok}))
	for h := 0; h < heads; h++ {
		e.add(q.SgemmStridedBatched(blas.NoTrans, blas.NoTrans, tok, d, tok, 1,
			scores, h*b*tt, tok, tt, qkv.Buf, qkv.Off+2*hd+h*d, qkv.Stride, img,
			0, out.Buf, out.Off+h*d, out.Stride, imgOut, b))
	}
}

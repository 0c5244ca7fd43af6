package nn

import (
	"math"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/vecmath"
)

// Attention describes multi-head self-attention over a fused qkv buffer (reference.md §3.4,
// §4.4). Row r = image·Tokens + token of QKV holds q in columns [0, Heads·HeadDim), k from
// column Section and v from column 2·Section; head h occupies HeadDim columns at h·HeadDim
// within each section. Section is the max-size section width (Hmax·HeadDim) when QKV is a
// view of a buffer laid out like the supernet's weight, or Heads·HeadDim when dense.
type Attention struct {
	Images, Tokens, Heads, HeadDim, Section int
}

// ProbsLen is the length of the softmax buffer forward saves: Images·Heads·Tokens².
func (a Attention) ProbsLen() int { return a.Images * a.Heads * a.Tokens * a.Tokens }

// ScratchLen is the per-worker scratch length backward needs: Tokens².
func (a Attention) ScratchLen() int { return a.Tokens * a.Tokens }

func (a Attention) scale() float32 { return float32(1 / math.Sqrt(float64(a.HeadDim))) }

func (a Attention) views(m gemm.Mat, img, h int) (q, k, v gemm.Mat) {
	r0, r1 := img*a.Tokens, (img+1)*a.Tokens
	c := h * a.HeadDim
	q = m.Sub(r0, r1, c, c+a.HeadDim)
	k = m.Sub(r0, r1, a.Section+c, a.Section+c+a.HeadDim)
	v = m.Sub(r0, r1, 2*a.Section+c, 2*a.Section+c+a.HeadDim)
	return
}

func (a Attention) probs(p []float32, img, h int) gemm.Mat {
	t := a.Tokens
	o := (img*a.Heads + h) * t * t
	return gemm.NewMat(t, t, p[o:o+t*t])
}

// AttentionForward computes, per (image, head), P = softmax(q·kᵀ/√D) and out_h = P·v.
// out (Images·Tokens, Heads·HeadDim); probs (ProbsLen) keeps P for backward.
func AttentionForward(e *Exec, a Attention, out, qkv gemm.Mat, probs []float32) {
	n := a.Images * a.Heads
	if e.serial(n, 1) {
		a.forward(e.Gemm, out, qkv, probs, 0, n)
		return
	}
	e.For(n, 1, func(lo, hi int) { a.forward(e.Gemm, out, qkv, probs, lo, hi) })
}

// forward runs the (image, head) pairs ih in [lo, hi), ih = image·Heads + head.
func (a Attention) forward(be gemm.Backend, out, qkv gemm.Mat, probs []float32, lo, hi int) {
	scale := a.scale()
	for ih := lo; ih < hi; ih++ {
		img, h := ih/a.Heads, ih%a.Heads
		q, k, v := a.views(qkv, img, h)
		p := a.probs(probs, img, h)
		gemm.Mul(be, false, true, scale, q, k, 0, p)
		for i := 0; i < p.Rows; i++ {
			r := row(p, i)
			vecmath.Softmax(r, r, 1)
		}
		o := out.Sub(img*a.Tokens, (img+1)*a.Tokens, h*a.HeadDim, (h+1)*a.HeadDim)
		gemm.Mul(be, false, false, 1, p, v, 0, o)
	}
}

// AttentionBackward adds the gradients of AttentionForward into dqkv (laid out like qkv):
//
//	dv += Pᵀ·dout_h;  dP = dout_h·vᵀ;  dS = P⊙(dP − rowsum(dP⊙P));
//	dq += dS·k/√D;   dk += dSᵀ·q/√D
//
// scratch holds Workers·ScratchLen floats.
func AttentionBackward(e *Exec, a Attention, dqkv, dout, qkv gemm.Mat, probs, scratch []float32) {
	n, t := a.Images*a.Heads, a.Tokens
	if e.serial(n, 1) {
		a.backward(e.Gemm, dqkv, dout, qkv, probs, scratch[:t*t], 0, n)
		return
	}
	e.ForWorker(n, 1, func(w, lo, hi int) {
		a.backward(e.Gemm, dqkv, dout, qkv, probs, scratch[w*t*t:(w+1)*t*t], lo, hi)
	})
}

// backward runs the (image, head) pairs in [lo, hi) with dP in scratch (ScratchLen floats).
func (a Attention) backward(be gemm.Backend, dqkv, dout, qkv gemm.Mat, probs, scratch []float32, lo, hi int) {
	scale := a.scale()
	t := a.Tokens
	dp := gemm.NewMat(t, t, scratch)
	for ih := lo; ih < hi; ih++ {
		img, h := ih/a.Heads, ih%a.Heads
		q, k, v := a.views(qkv, img, h)
		dq, dk, dv := a.views(dqkv, img, h)
		p := a.probs(probs, img, h)
		do := dout.Sub(img*t, (img+1)*t, h*a.HeadDim, (h+1)*a.HeadDim)
		gemm.Mul(be, true, false, 1, p, do, 1, dv)
		gemm.Mul(be, false, true, 1, do, v, 0, dp)
		for i := 0; i < t; i++ {
			vecmath.SoftmaxBackwardInPlace(row(dp, i), row(p, i), 1)
		}
		gemm.Mul(be, false, false, scale, dp, k, 1, dq)
		gemm.Mul(be, true, false, scale, dp, q, 1, dk)
	}
}

package nn

import (
	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/vecmath"
)

// Reduction is the residual spatial reduction (reference.md §3.5) on a token sequence with one
// class token: input (Images·(1+Grid²), In), output (Images·(1+(Grid/2)²), Out), Out ≥ In.
//
//	xn   = LN(x) over all tokens
//	cls' = token_transform(xn_cls) + [x_cls, 0…]                       (zero-padded to Out)
//	p'   = conv3×3/s2/p1(xn_patches) + pos + [avgpool2×2(x_patches), 0…]
type Reduction struct {
	Images, Grid, In, Out int
}

// OutGrid is the output grid side.
func (r Reduction) OutGrid() int { return r.Grid / 2 }

// InTokens and OutTokens are the per-image sequence lengths.
func (r Reduction) InTokens() int { return 1 + r.Grid*r.Grid }

// OutTokens is 1 + OutGrid².
func (r Reduction) OutTokens() int { return 1 + r.OutGrid()*r.OutGrid() }

// Conv is the conv's geometry, reading the normalised patches in place.
func (r Reduction) Conv() Conv {
	return Conv{Images: r.Images, InH: r.Grid, InW: r.Grid, InC: r.In, K: 3, Stride: 2, Pad: 1,
		InImageRows: r.InTokens(), InFirst: 1}
}

// ReductionParams are views of the block's weights (or gradients) at the sub-network's sizes.
type ReductionParams struct {
	NormW, NormB []float32 // (≥ In)
	ConvW        gemm.Mat  // (Out, In·9) view of patch_reduce.weight as (Cout_max, Cin_max·9)
	ConvB        []float32 // (≥ Out)
	Pos          gemm.Mat  // (OutGrid², Out) view of pos_embed
	TokW         gemm.Mat  // (Out, In) view of token_transform.weight
	TokB         []float32 // (≥ Out)
}

// ReductionBuffers are caller-owned activations (kept from forward to backward) and scratch.
type ReductionBuffers struct {
	Mean, Rstd []float32 // (Images·InTokens)
	XN         gemm.Mat  // (Images·InTokens, In) LN output
	Cols       gemm.Mat  // conv im2col (Images·OutGrid², In·9)
	ConvOut    gemm.Mat  // (Images·OutGrid², Out)
	// Backward scratch.
	DXN, DCols, DConv gemm.Mat // shaped like XN, Cols, ConvOut
}

func clsRows(m gemm.Mat, images, tokens int) gemm.Mat {
	return gemm.Mat{Rows: images, Cols: m.Cols, Stride: tokens * m.Stride,
		Data: m.Data[:((images-1)*tokens)*m.Stride+m.Cols]}
}

// ReductionForward computes y from x (see Reduction).
func ReductionForward(e *Exec, r Reduction, y, x gemm.Mat, p ReductionParams, b ReductionBuffers) {
	ti, to := r.InTokens(), r.OutTokens()
	LayerNormForward(e, b.XN, x, p.NormW, p.NormB, b.Mean, b.Rstd)
	ConvForward(e, r.Conv(), b.ConvOut, b.Cols, b.XN, p.ConvW, p.ConvB)
	LinearForward(e, clsRows(y, r.Images, to), clsRows(b.XN, r.Images, ti), p.TokW, p.TokB)
	pos, convOut := p.Pos, b.ConvOut // captured alone: p and b stay on the stack
	if e.serial(r.Images, 1) {
		r.forwardSkips(y, x, pos, convOut, 0, r.Images)
		return
	}
	e.For(r.Images, 1, func(lo, hi int) { r.forwardSkips(y, x, pos, convOut, lo, hi) })
}

// forwardSkips completes images [lo, hi) of y: the class token's skip path, and conv output +
// pos_embed + the 2×2 average of the input patches.
func (r Reduction) forwardSkips(y, x, pos, convOut gemm.Mat, lo, hi int) {
	ti, to, og := r.InTokens(), r.OutTokens(), r.OutGrid()
	for n := lo; n < hi; n++ {
		vecmath.Add(row(y, n*to)[:r.In], row(x, n*ti))
		for oy := 0; oy < og; oy++ {
			for ox := 0; ox < og; ox++ {
				pi := oy*og + ox
				yr := row(y, n*to+1+pi)
				copy(yr, row(convOut, n*og*og+pi))
				vecmath.Add(yr, row(pos, pi))
				i00 := n*ti + 1 + 2*oy*r.Grid + 2*ox
				a, bb := row(x, i00), row(x, i00+1)
				c, d := row(x, i00+r.Grid), row(x, i00+r.Grid+1)
				for j := 0; j < r.In; j++ {
					yr[j] += 0.25 * (a[j] + bb[j] + c[j] + d[j])
				}
			}
		}
	}
}

// ReductionBackward adds the gradients of ReductionForward into dx and g (same views as p, of
// the gradients). DXN is zeroed here; DCols and DConv are overwritten.
func ReductionBackward(e *Exec, r Reduction, dx, dy, x gemm.Mat, p, g ReductionParams, b ReductionBuffers) {
	ti, to, og := r.InTokens(), r.OutTokens(), r.OutGrid()
	for i := 0; i < b.DXN.Rows; i++ {
		clear(row(b.DXN, i))
	}
	// Skip paths, conv-output gradient gathered densely, and pos_embed's gradient.
	dConv, gPos := b.DConv, g.Pos // captured alone: b and g stay on the stack
	if e.serial(r.Images, 1) {
		r.backwardSkips(dx, dy, dConv, 0, r.Images)
	} else {
		e.For(r.Images, 1, func(lo, hi int) { r.backwardSkips(dx, dy, dConv, lo, hi) })
	}
	if e.serial(og*og, 1) {
		r.posGrad(gPos, dy, 0, og*og)
	} else {
		e.For(og*og, 1, func(lo, hi int) { r.posGrad(gPos, dy, lo, hi) })
	}
	ConvBackward(e, r.Conv(), b.DXN, g.ConvW, g.ConvB, b.DConv, b.Cols, b.DCols, p.ConvW)
	LinearBackward(e, clsRows(b.DXN, r.Images, ti), g.TokW, g.TokB,
		clsRows(dy, r.Images, to), clsRows(b.XN, r.Images, ti), p.TokW)
	LayerNormBackward(e, dx, g.NormW, g.NormB, b.DXN, x, p.NormW, b.Mean, b.Rstd)
}

// backwardSkips adds the skip paths' gradients of images [lo, hi) into dx and gathers the
// conv output's gradient densely into dConv.
func (r Reduction) backwardSkips(dx, dy, dConv gemm.Mat, lo, hi int) {
	ti, to, og := r.InTokens(), r.OutTokens(), r.OutGrid()
	for n := lo; n < hi; n++ {
		vecmath.Add(row(dx, n*ti), row(dy, n*to)[:r.In])
		for oy := 0; oy < og; oy++ {
			for ox := 0; ox < og; ox++ {
				pi := oy*og + ox
				dyr := row(dy, n*to+1+pi)
				copy(row(dConv, n*og*og+pi), dyr)
				i00 := n*ti + 1 + 2*oy*r.Grid + 2*ox
				for _, i := range [4]int{i00, i00 + 1, i00 + r.Grid, i00 + r.Grid + 1} {
					vecmath.Axpy(0.25, dyr[:r.In], row(dx, i))
				}
			}
		}
	}
}

// posGrad adds pos_embed's gradient at output patches [lo, hi), summed over images in order.
func (r Reduction) posGrad(gPos, dy gemm.Mat, lo, hi int) {
	to := r.OutTokens()
	for pi := lo; pi < hi; pi++ {
		gp := row(gPos, pi)
		for n := 0; n < r.Images; n++ {
			vecmath.Add(gp, row(dy, n*to+1+pi))
		}
	}
}

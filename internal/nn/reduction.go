package nn

import "github.com/resnas/resnas/internal/gemm"

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
	ti, to, og := r.InTokens(), r.OutTokens(), r.OutGrid()
	LayerNormForward(e, b.XN, x, p.NormW, p.NormB, b.Mean, b.Rstd)
	ConvForward(e, r.Conv(), b.ConvOut, b.Cols, b.XN, p.ConvW, p.ConvB)
	LinearForward(e, clsRows(y, r.Images, to), clsRows(b.XN, r.Images, ti), p.TokW, p.TokB)
	e.For(r.Images, 1, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			yc, xc := row(y, n*to), row(x, n*ti)
			for j := 0; j < r.In; j++ {
				yc[j] += xc[j]
			}
			for oy := 0; oy < og; oy++ {
				for ox := 0; ox < og; ox++ {
					pi := oy*og + ox
					yr, cr, pr := row(y, n*to+1+pi), row(b.ConvOut, n*og*og+pi), row(p.Pos, pi)
					for j := range yr {
						yr[j] = cr[j] + pr[j]
					}
					i00 := n*ti + 1 + 2*oy*r.Grid + 2*ox
					a, bb := row(x, i00), row(x, i00+1)
					c, d := row(x, i00+r.Grid), row(x, i00+r.Grid+1)
					for j := 0; j < r.In; j++ {
						yr[j] += 0.25 * (a[j] + bb[j] + c[j] + d[j])
					}
				}
			}
		}
	})
}

// ReductionBackward adds the gradients of ReductionForward into dx and g (same views as p, of
// the gradients). DXN is zeroed here; DCols and DConv are overwritten.
func ReductionBackward(e *Exec, r Reduction, dx, dy, x gemm.Mat, p, g ReductionParams, b ReductionBuffers) {
	ti, to, og := r.InTokens(), r.OutTokens(), r.OutGrid()
	for i := 0; i < b.DXN.Rows; i++ {
		clear(row(b.DXN, i))
	}
	// Skip paths, conv-output gradient gathered densely, and pos_embed's gradient.
	e.For(r.Images, 1, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			dc, dyc := row(dx, n*ti), row(dy, n*to)
			for j := 0; j < r.In; j++ {
				dc[j] += dyc[j]
			}
			for oy := 0; oy < og; oy++ {
				for ox := 0; ox < og; ox++ {
					pi := oy*og + ox
					dyr := row(dy, n*to+1+pi)
					copy(row(b.DConv, n*og*og+pi), dyr)
					i00 := n*ti + 1 + 2*oy*r.Grid + 2*ox
					for _, i := range [4]int{i00, i00 + 1, i00 + r.Grid, i00 + r.Grid + 1} {
						dr := row(dx, i)
						for j := 0; j < r.In; j++ {
							dr[j] += 0.25 * dyr[j]
						}
					}
				}
			}
		}
	})
	e.For(og*og, 1, func(lo, hi int) {
		for pi := lo; pi < hi; pi++ {
			gp := row(g.Pos, pi)
			for n := 0; n < r.Images; n++ {
				for j, v := range row(dy, n*to+1+pi) {
					gp[j] += v
				}
			}
		}
	})
	ConvBackward(e, r.Conv(), b.DXN, g.ConvW, g.ConvB, b.DConv, b.Cols, b.DCols, p.ConvW)
	LinearBackward(e, clsRows(b.DXN, r.Images, ti), g.TokW, g.TokB,
		clsRows(dy, r.Images, to), clsRows(b.XN, r.Images, ti), p.TokW)
	LayerNormBackward(e, dx, g.NormW, g.NormB, b.DXN, x, p.NormW, b.Mean, b.Rstd)
}

package supernet

import (
	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/nn"
	"github.com/resnas/resnas/model"
)

// groupForward runs sub-network a on the images [first, first+group) of the batch, from the
// stem output to the logits, keeping what groupBackward needs. Drop-path scales must already
// be in t.acts[i].drop1/drop2 (all 1 for none). It returns the summed per-image loss.
func (t *trainNet) groupForward(a model.Arch, first int, labels []int, smoothing float32) float64 {
	p, e, n := t.p, t.e, t.group
	g := p.in.Grid()
	c := a.Stem.Width
	h1 := t.stemConv[1].InH
	stemRows := h1 * h1
	// conv_proj on this group's stem output, first c output channels.
	pc := t.projConv
	s := dense(t.stemOut[first*stemRows*p.mid:], n*stemRows, p.mid)
	patches := dense(t.patches, n*g*g, c)
	projW := p.projW.mat(p.projW.w).Sub(0, c, 0, pc.ColsCols())
	nn.ConvForward(e, pc, patches, dense(t.projCols, pc.ColsRows(), pc.ColsCols()), s, projW, p.projB.w[:c])
	// Class token and patches plus the stage-1 position embedding.
	tok := 1 + g*g
	x := dense(t.acts0(), n*tok, c)
	pos := p.pos.tokenMat(p.pos.w)
	e.For(n, 1, func(lo, hi int) {
		for img := lo; img < hi; img++ {
			r := x.Row(img * tok)
			for j := range r {
				r[j] = p.tokens.w[j] + pos.At(0, j)
			}
			for q := 0; q < g*g; q++ {
				r, pr, pp := x.Row(img*tok+1+q), patches.Row(img*g*g+q), pos.Row(1+q)
				for j := range r {
					r[j] = pr[j] + pp[j]
				}
			}
		}
	})
	for i, l := range a.Layers {
		la := &t.acts[i]
		lp := &p.layers[i]
		out := t.layerOut(i)
		switch {
		case l.Type == model.TypeBlock && !l.Exists:
			copy(out[:n*tok*c], x.Data)
		case l.Type == model.TypeBlock:
			t.blockForward(l, la, lp, x, dense(out, n*tok, c), tok)
		case l.Type == model.TypeReduction:
			r := nn.Reduction{Images: n, Grid: g, In: l.In, Out: l.Out}
			g /= 2
			tok, c = 1+g*g, l.Out
			nn.ReductionForward(e, r, dense(out, n*tok, c), x, reductionParams(lp, r, false), t.reductionBuffers(la, r))
		}
		x = dense(out, n*tok, c)
	}
	// Final LN on the class tokens, head, loss.
	cls := clsRows(x, n, tok)
	feat := dense(t.feat, n, c)
	nn.LayerNormForward(e, feat, cls, p.normW.w, p.normB.w, t.featMean, t.featRstd)
	k := a.Head.Classes
	logits := dense(t.logits, n, k)
	nn.LinearForward(e, logits, feat, p.headW.mat(p.headW.w).Sub(0, k, 0, c), p.headB.w[:k])
	nn.CrossEntropyForward(e, t.losses[:n], dense(t.probs, n, k), logits, labels, smoothing)
	var sum float64
	for _, v := range t.losses[:n] {
		sum += float64(v)
	}
	return sum
}

// acts0 is the buffer holding the input of layer 0 (the embedded tokens).
func (t *trainNet) acts0() []float32 { return t.acts[0].in }

// layerOut is the buffer layer i writes: the next layer's input, or t.final.
func (t *trainNet) layerOut(i int) []float32 {
	if i+1 < len(t.acts) {
		return t.acts[i+1].in
	}
	return t.final
}

func (t *trainNet) reductionBuffers(la *layerActs, r nn.Reduction) nn.ReductionBuffers {
	ti, cv := r.Images*r.InTokens(), r.Conv()
	b := la.red
	b.XN = dense(la.redXN, ti, r.In)
	b.Cols = dense(la.redCols, cv.ColsRows(), cv.ColsCols())
	b.ConvOut = dense(la.redConv, cv.ColsRows(), r.Out)
	b.DXN = dense(t.dH, ti, r.In)
	b.DCols = dense(t.dQKV, cv.ColsRows(), cv.ColsCols()) // idle during a reduction
	b.DConv = dense(t.dF, cv.ColsRows(), r.Out)
	return b
}

// reductionParams views a reduction's weights (grad false) or gradients (grad true) at r's
// sizes.
func reductionParams(lp *layerParams, r nn.Reduction, grad bool) nn.ReductionParams {
	pick := func(p *param) []float32 {
		if grad {
			return p.g
		}
		return p.w
	}
	og := r.OutGrid()
	return nn.ReductionParams{
		NormW: pick(lp.normW), NormB: pick(lp.normB),
		ConvW: lp.convW.mat(pick(lp.convW)).Sub(0, r.Out, 0, r.In*9), ConvB: pick(lp.convB),
		Pos:  lp.pos.tokenMat(pick(lp.pos)).Sub(0, og*og, 0, r.Out),
		TokW: lp.tokW.mat(pick(lp.tokW)).Sub(0, r.Out, 0, r.In), TokB: pick(lp.tokB),
	}
}

// qkvSection views section s (0 q, 1 k, 2 v) of the fused qkv weight (or gradient): the
// first hd rows of that section (its first heads, reference.md §4.4) and the first c columns.
// It also returns the section's first row, where its bias starts.
func qkvSection(lp *layerParams, data []float32, s, hd, c int) (gemm.Mat, int) {
	o := s * lp.maxHD
	return lp.qkvW.mat(data).Sub(o, o+hd, 0, c), o
}

func (t *trainNet) blockForward(l model.Layer, la *layerActs, lp *layerParams, x, out gemm.Mat, tok int) {
	e, n := t.e, x.Rows
	c, hd, m := l.Dim, l.Heads*l.HeadDim, l.MLP
	h1 := dense(la.h1, n, c)
	nn.LayerNormForward(e, h1, x, lp.norm1w.w, lp.norm1b.w, la.mean1, la.rstd1)
	qkv := dense(la.qkv, n, 3*hd)
	for s := 0; s < 3; s++ {
		w, o := qkvSection(lp, lp.qkvW.w, s, hd, c)
		nn.LinearForward(e, qkv.Sub(0, n, s*hd, (s+1)*hd), h1, w, lp.qkvB.w[o:o+hd])
	}
	at := nn.Attention{Images: t.group, Tokens: tok, Heads: l.Heads, HeadDim: l.HeadDim, Section: hd}
	o := dense(la.o, n, hd)
	nn.AttentionForward(e, at, o, qkv, la.probs)
	x1 := dense(la.x1, n, c)
	copy(x1.Data, x.Data)
	f := dense(t.dF, n, c) // scratch: the branch output
	nn.LinearForward(e, f, o, lp.projW.mat(lp.projW.w).Sub(0, c, 0, hd), lp.projB.w[:c])
	nn.ResidualForward(e, x1, f, tok, la.drop1)
	h2 := dense(la.h2, n, c)
	nn.LayerNormForward(e, h2, x1, lp.norm2w.w, lp.norm2b.w, la.mean2, la.rstd2)
	a, g := dense(la.a, n, m), dense(la.g, n, m)
	nn.LinearForward(e, a, h2, lp.fc1W.mat(lp.fc1W.w).Sub(0, m, 0, c), lp.fc1B.w[:m])
	nn.GELUForward(e, g.Data, a.Data, a.Data) // a keeps GELU'(a) from here on
	nn.LinearForward(e, f, g, lp.fc2W.mat(lp.fc2W.w).Sub(0, c, 0, m), lp.fc2B.w[:c])
	copy(out.Data, x1.Data)
	nn.ResidualForward(e, out, f, tok, la.drop2)
}

// groupBackward back-propagates the loss of the last groupForward (scaled by lossScale, i.e.
// 1/batch for the batch-mean loss) into the parameter gradients and into t.dStemOut for the
// group's images.
func (t *trainNet) groupBackward(a model.Arch, first int, labels []int, smoothing, lossScale float32) {
	p, e, n := t.p, t.e, t.group
	// Stage geometry per layer input, replayed from the front.
	g := p.in.Grid()
	grids := make([]int, len(a.Layers)+1)
	for i, l := range a.Layers {
		grids[i] = g
		if l.Type == model.TypeReduction {
			g /= 2
		}
	}
	grids[len(a.Layers)] = g
	tok, c, k := 1+g*g, a.Head.Dim, a.Head.Classes

	dLogits := zeroed(t.dLogits, n, k)
	nn.CrossEntropyBackward(e, dLogits, dense(t.probs, n, k), labels, smoothing, lossScale)
	feat := dense(t.feat, n, c)
	dFeat := zeroed(t.dH, n, c)
	nn.LinearBackward(e, dFeat, p.headW.mat(p.headW.g).Sub(0, k, 0, c), p.headB.g[:k], dLogits, feat, p.headW.mat(p.headW.w).Sub(0, k, 0, c))
	dX := zeroed(t.dX, n*tok, c)
	x := dense(t.final, n*tok, c)
	nn.LayerNormBackward(e, clsRows(dX, n, tok), p.normW.g, p.normB.g, dFeat, clsRows(x, n, tok), p.normW.w, t.featMean, t.featRstd)

	for i := len(a.Layers) - 1; i >= 0; i-- {
		l, la, lp := a.Layers[i], &t.acts[i], &p.layers[i]
		gi := grids[i]
		ti := 1 + gi*gi
		switch {
		case l.Type == model.TypeBlock && !l.Exists:
		case l.Type == model.TypeBlock:
			t.blockBackward(l, la, lp, dX, ti)
		case l.Type == model.TypeReduction:
			r := nn.Reduction{Images: n, Grid: gi, In: l.In, Out: l.Out}
			xin := dense(la.in, n*ti, l.In)
			dIn := zeroed(t.dXAlt, n*ti, l.In)
			nn.ReductionBackward(e, r, dIn, dX, xin, reductionParams(lp, r, false), reductionParams(lp, r, true), t.reductionBuffers(la, r))
			t.dX, t.dXAlt = t.dXAlt, t.dX
			dX = dIn
		}
	}
	// Tokens, stage-1 position embedding, conv_proj.
	g = p.in.Grid()
	tok, c = 1+g*g, a.Stem.Width
	dPos := p.pos.tokenMat(p.pos.g)
	e.For(c, 8, func(lo, hi int) {
		for img := 0; img < n; img++ {
			r := dX.Row(img * tok)
			for j := lo; j < hi; j++ {
				p.tokens.g[j] += r[j]
			}
			for q := 0; q < tok; q++ {
				r, pr := dX.Row(img*tok+q), dPos.Row(q)
				for j := lo; j < hi; j++ {
					pr[j] += r[j]
				}
			}
		}
	})
	dPatches := dense(t.dPatches, n*g*g, c)
	e.For(n, 1, func(lo, hi int) {
		for img := lo; img < hi; img++ {
			for q := 0; q < g*g; q++ {
				copy(dPatches.Row(img*g*g+q), dX.Row(img*tok+1+q))
			}
		}
	})
	pc := t.projConv
	h1 := t.stemConv[1].InH
	stemRows := h1 * h1
	dS := dense(t.dStemOut[first*stemRows*p.mid:], n*stemRows, p.mid)
	nn.ConvBackward(e, pc, dS, p.projW.mat(p.projW.g).Sub(0, c, 0, pc.ColsCols()), p.projB.g[:c], dPatches,
		dense(t.projCols, pc.ColsRows(), pc.ColsCols()), dense(t.dProjCols, pc.ColsRows(), pc.ColsCols()),
		p.projW.mat(p.projW.w).Sub(0, c, 0, pc.ColsCols()))
}

// blockBackward turns dX, the gradient of the block's output, into the gradient of its input
// (in place), adding the block's parameter gradients.
func (t *trainNet) blockBackward(l model.Layer, la *layerActs, lp *layerParams, dX gemm.Mat, tok int) {
	e, n := t.e, dX.Rows
	c, hd, m := l.Dim, l.Heads*l.HeadDim, l.MLP
	// MLP branch.
	dF := zeroed(t.dF, n, c)
	nn.ResidualBackward(e, dF, dX, tok, la.drop2)
	dG := zeroed(t.dG, n, m)
	g := dense(la.g, n, m)
	nn.LinearBackward(e, dG, lp.fc2W.mat(lp.fc2W.g).Sub(0, c, 0, m), lp.fc2B.g[:c], dF, g, lp.fc2W.mat(lp.fc2W.w).Sub(0, c, 0, m))
	dA := zeroed(t.dA, n, m)
	nn.GELUBackward(e, dA.Data, la.a[:n*m], dG.Data)
	dH := zeroed(t.dH, n, c)
	h2 := dense(la.h2, n, c)
	nn.LinearBackward(e, dH, lp.fc1W.mat(lp.fc1W.g).Sub(0, m, 0, c), lp.fc1B.g[:m], dA, h2, lp.fc1W.mat(lp.fc1W.w).Sub(0, m, 0, c))
	x1 := dense(la.x1, n, c)
	nn.LayerNormBackward(e, dX, lp.norm2w.g, lp.norm2b.g, dH, x1, lp.norm2w.w, la.mean2, la.rstd2)
	// Attention branch.
	dF = zeroed(t.dF, n, c)
	nn.ResidualBackward(e, dF, dX, tok, la.drop1)
	dO := zeroed(t.dO, n, hd)
	o := dense(la.o, n, hd)
	nn.LinearBackward(e, dO, lp.projW.mat(lp.projW.g).Sub(0, c, 0, hd), lp.projB.g[:c], dF, o, lp.projW.mat(lp.projW.w).Sub(0, c, 0, hd))
	dQKV := zeroed(t.dQKV, n, 3*hd)
	qkv := dense(la.qkv, n, 3*hd)
	at := nn.Attention{Images: t.group, Tokens: tok, Heads: l.Heads, HeadDim: l.HeadDim, Section: hd}
	nn.AttentionBackward(e, at, dQKV, dO, qkv, la.probs, t.attnScratch)
	dH = zeroed(t.dH, n, c)
	h1 := dense(la.h1, n, c)
	for s := 0; s < 3; s++ {
		w, off := qkvSection(lp, lp.qkvW.w, s, hd, c)
		gw, _ := qkvSection(lp, lp.qkvW.g, s, hd, c)
		nn.LinearBackward(e, dH, gw, lp.qkvB.g[off:off+hd], dQKV.Sub(0, n, s*hd, (s+1)*hd), h1, w)
	}
	x := dense(la.in, n, c)
	nn.LayerNormBackward(e, dX, lp.norm1w.g, lp.norm1b.g, dH, x, lp.norm1w.w, la.mean1, la.rstd1)
}

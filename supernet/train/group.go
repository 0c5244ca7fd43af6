package train

import (
	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/nn"
	"github.com/resnas/resnas/internal/vecmath"
	"github.com/resnas/resnas/model"
)

// run computes sub-network archs[a] on the images [a·group, (a+1)·group) of the batch from
// the stem output (stemForward must have run) to the per-image losses, every lane on its
// share of each group, in parallel, and returns the summed loss. With train set it also
// back-propagates the loss scaled by lossScale (1/batch for the batch-mean loss) into the
// lanes' gradients and t.dStemOut (which it clears first); reduceGrads sums the lanes'
// gradients into the parameters' own. Drop-path scales must already be in t.drop.
func (t *trainNet) run(archs []model.Arch, labels []int, smoothing float32, train bool, lossScale float32) float64 {
	if train {
		clear(t.dStemOut)
	}
	t.e.For(len(t.lanes), 1, func(lo, hi int) {
		for _, ln := range t.lanes[lo:hi] {
			if ln.hi == ln.lo {
				continue // fewer images per group than lanes
			}
			for a, arch := range archs {
				ln.forward(t, arch, a*t.group, labels, smoothing)
				if train {
					ln.backward(t, arch, a*t.group, labels, smoothing, lossScale)
				}
			}
		}
	})
	var sum float64
	for _, v := range t.losses[:len(archs)*t.group] {
		sum += float64(v)
	}
	return sum
}

// reduceGrads adds the other lanes' gradients into the first lane's (the parameters' own), in
// lane order, and clears them for the next step.
func (t *trainNet) reduceGrads() {
	if len(t.lanes) == 1 {
		return
	}
	dst := t.p.grad
	t.e.For(len(dst), 1<<14, func(lo, hi int) {
		for _, ln := range t.lanes[1:] {
			vecmath.Add(dst[lo:hi], ln.slab[lo:hi])
			clear(ln.slab[lo:hi])
		}
	})
}

// stemRows is the number of stem-output rows (pixels) per image.
func (t *trainNet) stemRows() int { h := t.stemConv[1].InH; return h * h }

// forward runs sub-network a on the lane's images of the group starting at image first,
// from the stem output to the logits and losses (t.logits, t.probs, t.losses at those
// images), keeping what backward needs.
func (ln *lane) forward(t *trainNet, a model.Arch, first int, labels []int, smoothing float32) {
	p, e, n := t.p, ln.e, ln.hi-ln.lo
	img0 := first + ln.lo
	g := p.in.Grid()
	c := a.Stem.Width
	sr := t.stemRows()
	// conv_proj on these images' stem output, first c output channels.
	pc := ln.projConv
	s := dense(t.stemOut[img0*sr*p.mid:], n*sr, p.mid)
	patches := dense(ln.patches, n*g*g, c)
	projW := p.projW.mat(p.projW.w).Sub(0, c, 0, pc.ColsCols())
	nn.ConvForward(e, pc, patches, dense(ln.projCols, pc.ColsRows(), pc.ColsCols()), s, projW, p.projB.w[:c])
	// Class token and patches plus the stage-1 position embedding.
	tok := 1 + g*g
	x := dense(ln.acts[0].in, n*tok, c)
	pos := p.pos.tokenMat(p.pos.w)
	for img := 0; img < n; img++ {
		r := x.Row(img * tok)
		copy(r, p.tokens.w[:c])
		vecmath.Add(r, pos.Row(0)[:c])
		for q := 0; q < g*g; q++ {
			r := x.Row(img*tok + 1 + q)
			copy(r, patches.Row(img*g*g+q))
			vecmath.Add(r, pos.Row(1 + q)[:c])
		}
	}
	for i, l := range a.Layers {
		la := &ln.acts[i]
		lp := &p.layers[i]
		out := ln.layerOut(i)
		switch {
		case l.Type == model.TypeBlock && !l.Exists:
			copy(out[:n*tok*c], x.Data)
		case l.Type == model.TypeBlock:
			ln.blockForward(l, la, lp, x, dense(out, n*tok, c), tok, t.drop[i], img0)
		case l.Type == model.TypeReduction:
			r := nn.Reduction{Images: n, Grid: g, In: l.In, Out: l.Out}
			g /= 2
			tok, c = 1+g*g, l.Out
			nn.ReductionForward(e, r, dense(out, n*tok, c), x, reductionParams(lp, r, weightOf), ln.reductionBuffers(la, r))
		}
		x = dense(out, n*tok, c)
	}
	// Final LN on the class tokens, head, loss.
	cls := clsRows(x, n, tok)
	feat := dense(ln.feat, n, c)
	nn.LayerNormForward(e, feat, cls, p.normW.w, p.normB.w, ln.featMean, ln.featRstd)
	k := a.Head.Classes
	logits := dense(t.logits[img0*k:], n, k)
	nn.LinearForward(e, logits, feat, p.headW.mat(p.headW.w).Sub(0, k, 0, c), p.headB.w[:k])
	nn.CrossEntropyForward(e, t.losses[img0:img0+n], dense(t.probs[img0*k:], n, k), logits, labels[img0:img0+n], smoothing)
}

// layerOut is the buffer layer i writes: the next layer's input, or ln.final.
func (ln *lane) layerOut(i int) []float32 {
	if i+1 < len(ln.acts) {
		return ln.acts[i+1].in
	}
	return ln.final
}

func (ln *lane) reductionBuffers(la *layerActs, r nn.Reduction) nn.ReductionBuffers {
	ti, cv := r.Images*r.InTokens(), r.Conv()
	b := la.red
	b.XN = dense(la.redXN, ti, r.In)
	b.Cols = dense(la.redCols, cv.ColsRows(), cv.ColsCols())
	b.ConvOut = dense(la.redConv, cv.ColsRows(), r.Out)
	b.DXN = dense(ln.dH, ti, r.In)
	b.DCols = dense(ln.dQKV, cv.ColsRows(), cv.ColsCols()) // idle during a reduction
	b.DConv = dense(ln.dF, cv.ColsRows(), r.Out)
	return b
}

// weightOf picks a parameter's values, for views shared by weights and gradients.
func weightOf(p *param) []float32 { return p.w }

// reductionParams views a reduction's tensors at r's sizes: weights with pick = weightOf, a
// lane's gradients with pick = lane.grad.
func reductionParams(lp *layerParams, r nn.Reduction, pick func(*param) []float32) nn.ReductionParams {
	og := r.OutGrid()
	return nn.ReductionParams{
		NormW: pick(lp.normW), NormB: pick(lp.normB),
		ConvW: lp.convW.mat(pick(lp.convW)).Sub(0, r.Out, 0, r.In*9), ConvB: pick(lp.convB),
		Pos:  lp.pos.tokenMat(pick(lp.pos)).Sub(0, og*og, 0, r.Out),
		TokW: lp.tokW.mat(pick(lp.tokW)).Sub(0, r.Out, 0, r.In), TokB: pick(lp.tokB),
	}
}

// qkvWeight returns the fused qkv weight (hd·3 rows, c columns) and bias that a block with
// hd = heads·head_dim uses: each section's first hd rows, its first heads (reference.md
// §4.4). At the largest width the three sections are adjacent and the views are the
// supernet's own; otherwise they are packed into the lane's scratch, a few KB, so that the
// block still runs one GEMM with 3·hd outputs rather than three with hd.
func (ln *lane) qkvWeight(lp *layerParams, hd, c int) (gemm.Mat, []float32) {
	full := lp.qkvW.mat(lp.qkvW.w)
	if hd == lp.maxHD {
		return full.Sub(0, 3*hd, 0, c), lp.qkvB.w[:3*hd]
	}
	w, b := dense(ln.qkvW, 3*hd, c), ln.qkvB[:3*hd]
	for s := 0; s < 3; s++ {
		o := s * lp.maxHD
		for r := 0; r < hd; r++ {
			copy(w.Row(s*hd+r), full.Row(o + r)[:c])
		}
		copy(b[s*hd:(s+1)*hd], lp.qkvB.w[o:o+hd])
	}
	return w, b
}

// qkvGrad returns where the qkv weight and bias gradients of a block go: the lane's own
// gradient views at the largest width, else cleared scratch for addQKVGrad to scatter.
func (ln *lane) qkvGrad(lp *layerParams, hd, c int) (gemm.Mat, []float32) {
	if hd == lp.maxHD {
		return lp.qkvW.mat(ln.grad(lp.qkvW)).Sub(0, 3*hd, 0, c), ln.grad(lp.qkvB)[:3*hd]
	}
	w, b := zeroed(ln.dQKVW, 3*hd, c), ln.dQKVB[:3*hd]
	clear(b)
	return w, b
}

// addQKVGrad adds packed qkv gradients (from qkvGrad's scratch) into the lane's gradient
// sections; at the largest width they are already there.
func (ln *lane) addQKVGrad(lp *layerParams, hd, c int, w gemm.Mat, b []float32) {
	if hd == lp.maxHD {
		return
	}
	gw, gb := lp.qkvW.mat(ln.grad(lp.qkvW)), ln.grad(lp.qkvB)
	for s := 0; s < 3; s++ {
		o := s * lp.maxHD
		for r := 0; r < hd; r++ {
			vecmath.Add(gw.Row(o + r)[:c], w.Row(s*hd+r))
		}
		vecmath.Add(gb[o:o+hd], b[s*hd:(s+1)*hd])
	}
}

func (ln *lane) blockForward(l model.Layer, la *layerActs, lp *layerParams, x, out gemm.Mat, tok int, drop [2][]float32, img0 int) {
	e, n := ln.e, x.Rows
	images := ln.hi - ln.lo
	c, hd, m := l.Dim, l.Heads*l.HeadDim, l.MLP
	h1 := dense(la.h1, n, c)
	nn.LayerNormForward(e, h1, x, lp.norm1w.w, lp.norm1b.w, la.mean1, la.rstd1)
	qkv := dense(la.qkv, n, 3*hd)
	qw, qb := ln.qkvWeight(lp, hd, c)
	nn.LinearForward(e, qkv, h1, qw, qb)
	at := nn.Attention{Images: images, Tokens: tok, Heads: l.Heads, HeadDim: l.HeadDim, Section: hd}
	o := dense(la.o, n, hd)
	nn.AttentionForward(e, at, o, qkv, la.probs)
	x1 := dense(la.x1, n, c)
	copy(x1.Data, x.Data)
	f := dense(ln.dF, n, c) // scratch: the branch output
	nn.LinearForward(e, f, o, lp.projW.mat(lp.projW.w).Sub(0, c, 0, hd), lp.projB.w[:c])
	nn.ResidualForward(e, x1, f, tok, drop[0][img0:img0+images])
	h2 := dense(la.h2, n, c)
	nn.LayerNormForward(e, h2, x1, lp.norm2w.w, lp.norm2b.w, la.mean2, la.rstd2)
	a, g := dense(la.a, n, m), dense(la.g, n, m)
	nn.LinearForward(e, a, h2, lp.fc1W.mat(lp.fc1W.w).Sub(0, m, 0, c), lp.fc1B.w[:m])
	nn.GELUForward(e, g.Data, a.Data, a.Data) // a keeps GELU'(a) from here on
	nn.LinearForward(e, f, g, lp.fc2W.mat(lp.fc2W.w).Sub(0, c, 0, m), lp.fc2B.w[:c])
	copy(out.Data, x1.Data)
	nn.ResidualForward(e, out, f, tok, drop[1][img0:img0+images])
}

// backward back-propagates the loss of the lane's last forward (scaled by lossScale) into the
// lane's gradients and into t.dStemOut at the lane's images.
func (ln *lane) backward(t *trainNet, a model.Arch, first int, labels []int, smoothing, lossScale float32) {
	p, e, n := t.p, ln.e, ln.hi-ln.lo
	img0 := first + ln.lo
	// Stage geometry per layer input, replayed from the front.
	grids := ln.grids
	g := p.in.Grid()
	for i, l := range a.Layers {
		grids[i] = g
		if l.Type == model.TypeReduction {
			g /= 2
		}
	}
	tok, c, k := 1+g*g, a.Head.Dim, a.Head.Classes

	dLogits := zeroed(ln.dLogits, n, k)
	nn.CrossEntropyBackward(e, dLogits, dense(t.probs[img0*k:], n, k), labels[img0:img0+n], smoothing, lossScale)
	feat := dense(ln.feat, n, c)
	dFeat := zeroed(ln.dH, n, c)
	nn.LinearBackward(e, dFeat, p.headW.mat(ln.grad(p.headW)).Sub(0, k, 0, c), ln.grad(p.headB)[:k], dLogits, feat, p.headW.mat(p.headW.w).Sub(0, k, 0, c))
	dX := zeroed(ln.dX, n*tok, c)
	x := dense(ln.final, n*tok, c)
	nn.LayerNormBackward(e, clsRows(dX, n, tok), ln.grad(p.normW), ln.grad(p.normB), dFeat, clsRows(x, n, tok), p.normW.w, ln.featMean, ln.featRstd)

	for i := len(a.Layers) - 1; i >= 0; i-- {
		l, la, lp := a.Layers[i], &ln.acts[i], &p.layers[i]
		gi := grids[i]
		ti := 1 + gi*gi
		switch {
		case l.Type == model.TypeBlock && !l.Exists:
		case l.Type == model.TypeBlock:
			ln.blockBackward(l, la, lp, dX, ti, t.drop[i], img0)
		case l.Type == model.TypeReduction:
			r := nn.Reduction{Images: n, Grid: gi, In: l.In, Out: l.Out}
			xin := dense(la.in, n*ti, l.In)
			dIn := zeroed(ln.dXAlt, n*ti, l.In)
			nn.ReductionBackward(e, r, dIn, dX, xin, reductionParams(lp, r, weightOf), reductionParams(lp, r, ln.grad), ln.reductionBuffers(la, r))
			ln.dX, ln.dXAlt = ln.dXAlt, ln.dX
			dX = dIn
		}
	}
	// Tokens, stage-1 position embedding, conv_proj.
	g = p.in.Grid()
	tok, c = 1+g*g, a.Stem.Width
	dPos := p.pos.tokenMat(ln.grad(p.pos))
	dTokens := ln.grad(p.tokens)[:c]
	dPatches := dense(ln.dPatches, n*g*g, c)
	for img := 0; img < n; img++ {
		vecmath.Add(dTokens, dX.Row(img*tok))
		for q := 0; q < tok; q++ {
			vecmath.Add(dPos.Row(q)[:c], dX.Row(img*tok+q))
		}
		for q := 0; q < g*g; q++ {
			copy(dPatches.Row(img*g*g+q), dX.Row(img*tok+1+q))
		}
	}
	pc := ln.projConv
	sr := t.stemRows()
	dS := dense(t.dStemOut[img0*sr*p.mid:], n*sr, p.mid)
	nn.ConvBackward(e, pc, dS, p.projW.mat(ln.grad(p.projW)).Sub(0, c, 0, pc.ColsCols()), ln.grad(p.projB)[:c], dPatches,
		dense(ln.projCols, pc.ColsRows(), pc.ColsCols()), dense(ln.dProjCols, pc.ColsRows(), pc.ColsCols()),
		p.projW.mat(p.projW.w).Sub(0, c, 0, pc.ColsCols()))
}

// blockBackward turns dX, the gradient of the block's output, into the gradient of its input
// (in place), adding the block's parameter gradients into the lane's.
func (ln *lane) blockBackward(l model.Layer, la *layerActs, lp *layerParams, dX gemm.Mat, tok int, drop [2][]float32, img0 int) {
	e, n := ln.e, dX.Rows
	images := ln.hi - ln.lo
	c, hd, m := l.Dim, l.Heads*l.HeadDim, l.MLP
	// MLP branch.
	dF := zeroed(ln.dF, n, c)
	nn.ResidualBackward(e, dF, dX, tok, drop[1][img0:img0+images])
	dG := zeroed(ln.dG, n, m)
	g := dense(la.g, n, m)
	nn.LinearBackward(e, dG, lp.fc2W.mat(ln.grad(lp.fc2W)).Sub(0, c, 0, m), ln.grad(lp.fc2B)[:c], dF, g, lp.fc2W.mat(lp.fc2W.w).Sub(0, c, 0, m))
	dA := zeroed(ln.dA, n, m)
	nn.GELUBackward(e, dA.Data, la.a[:n*m], dG.Data)
	dH := zeroed(ln.dH, n, c)
	h2 := dense(la.h2, n, c)
	nn.LinearBackward(e, dH, lp.fc1W.mat(ln.grad(lp.fc1W)).Sub(0, m, 0, c), ln.grad(lp.fc1B)[:m], dA, h2, lp.fc1W.mat(lp.fc1W.w).Sub(0, m, 0, c))
	x1 := dense(la.x1, n, c)
	nn.LayerNormBackward(e, dX, ln.grad(lp.norm2w), ln.grad(lp.norm2b), dH, x1, lp.norm2w.w, la.mean2, la.rstd2)
	// Attention branch.
	dF = zeroed(ln.dF, n, c)
	nn.ResidualBackward(e, dF, dX, tok, drop[0][img0:img0+images])
	dO := zeroed(ln.dO, n, hd)
	o := dense(la.o, n, hd)
	nn.LinearBackward(e, dO, lp.projW.mat(ln.grad(lp.projW)).Sub(0, c, 0, hd), ln.grad(lp.projB)[:c], dF, o, lp.projW.mat(lp.projW.w).Sub(0, c, 0, hd))
	dQKV := zeroed(ln.dQKV, n, 3*hd)
	qkv := dense(la.qkv, n, 3*hd)
	at := nn.Attention{Images: images, Tokens: tok, Heads: l.Heads, HeadDim: l.HeadDim, Section: hd}
	nn.AttentionBackward(e, at, dQKV, dO, qkv, la.probs, ln.attnScratch)
	dH = zeroed(ln.dH, n, c)
	h1 := dense(la.h1, n, c)
	qw, _ := ln.qkvWeight(lp, hd, c)
	gw, gb := ln.qkvGrad(lp, hd, c)
	nn.LinearBackward(e, dH, gw, gb, dQKV, h1, qw)
	ln.addQKVGrad(lp, hd, c, gw, gb)
	x := dense(la.in, n, c)
	nn.LayerNormBackward(e, dX, ln.grad(lp.norm1w), ln.grad(lp.norm1b), dH, x, lp.norm1w.w, la.mean1, la.rstd1)
}

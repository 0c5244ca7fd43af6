package supernet

import (
	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/nn"
	"github.com/resnas/resnas/model"
)

// trainNet runs the training forward and backward of sub-networks on the supernet's max-size
// tensors. The conv stem (not searchable) runs once over the whole batch, with BatchNorm
// statistics over all of it as in the reference; everything after it runs per group of
// ExamplesPerArch images, each group one sub-network computed on sub-block views of the
// weights (compute.md §5: no masks, no copies). Buffers are sized once for the largest
// sub-network and a group, and reused.
type trainNet struct {
	e      *nn.Exec
	p      *supernetParams
	batch  int // images per step
	group  int // images per sub-network
	bnEval bool

	// Stem over the whole batch, channels-last.
	img                      []float32 // batch·S² × Cin
	stemConv                 [3]nn.Conv
	cols, dcols              [3][]float32
	convOut, pre, post       [3][]float32 // conv output, BN output, ReLU output
	bnMean, bnRstd           [3][]float32
	stemOut, dStemOut, dTmp  []float32 // post[2] + post[0], its gradient, scratch
	dPre, dConvStem          []float32
	bnPartial                []float64
	projConv                 nn.Conv
	projCols, dProjCols      []float32
	patches, dPatches        []float32
	acts                     []layerActs
	final                    []float32 // output of the last layer
	feat, featMean, featRstd []float32
	logits, probs, dLogits   []float32
	losses                   []float32

	// Backward scratch shared by all layers.
	dX, dXAlt, dF, dH, dQKV, dO, dA, dG []float32
	attnScratch                         []float32
}

type layerActs struct {
	in                         []float32 // input of this layer
	h1, qkv, o, x1, h2, a, g   []float32 // a: fc1 output, then GELU'(fc1 output)
	mean1, rstd1, mean2, rstd2 []float32
	probs                      []float32
	drop1, drop2               []float32 // per-image drop-path scales
	red                        nn.ReductionBuffers
	redXN, redCols, redConv    []float32
}

func newTrainNet(e *nn.Exec, p *supernetParams, batch, group int) *trainNet {
	t := &trainNet{e: e, p: p, batch: batch, group: group}
	in, a := p.in, p.maxArch
	m := p.mid
	s := in.Size
	t.img = make([]float32, batch*s*s*in.Channels)
	h1 := (s+2-3)/2 + 1
	t.stemConv[0] = nn.Conv{Images: batch, InH: s, InW: s, InC: in.Channels, K: 3, Stride: 2, Pad: 1, InImageRows: s * s}
	t.stemConv[1] = nn.Conv{Images: batch, InH: h1, InW: h1, InC: m, K: 3, Stride: 1, Pad: 1, InImageRows: h1 * h1}
	t.stemConv[2] = t.stemConv[1]
	rows := batch * h1 * h1
	for i, c := range t.stemConv {
		t.cols[i] = make([]float32, c.ColsRows()*c.ColsCols())
		t.convOut[i] = make([]float32, rows*m)
		t.pre[i] = make([]float32, rows*m)
		t.post[i] = make([]float32, rows*m)
		t.bnMean[i], t.bnRstd[i] = make([]float32, m), make([]float32, m)
	}
	t.dcols[0] = nil // the input image needs no gradient
	t.dcols[1] = make([]float32, len(t.cols[1]))
	t.dcols[2] = t.dcols[1]
	t.stemOut, t.dStemOut, t.dTmp, t.dPre = make([]float32, rows*m), make([]float32, rows*m), make([]float32, rows*m), make([]float32, rows*m)
	t.dConvStem = make([]float32, rows*m)
	t.bnPartial = make([]float64, 2*max(1, e.Workers)*m)
	k := in.Patch / 2
	g := in.Grid()
	t.projConv = nn.Conv{Images: group, InH: h1, InW: h1, InC: m, K: k, Stride: k, InImageRows: h1 * h1}
	t.projCols = make([]float32, t.projConv.ColsRows()*t.projConv.ColsCols())
	t.dProjCols = make([]float32, len(t.projCols))
	c0 := a.Stem.Width
	t.patches, t.dPatches = make([]float32, group*g*g*c0), make([]float32, group*g*g*c0)

	// Per-layer activations at the largest sizes; scratch at the largest of any layer.
	tok, c := 1+g*g, c0
	maxNC, maxNHD, maxNM, maxT := group*tok*c, 0, 0, tok
	t.acts = make([]layerActs, len(a.Layers))
	for i, l := range a.Layers {
		la := &t.acts[i]
		n := group * tok
		la.in = make([]float32, n*c)
		switch l.Type {
		case model.TypeBlock:
			hd := l.Heads * l.HeadDim
			la.h1, la.x1, la.h2 = make([]float32, n*c), make([]float32, n*c), make([]float32, n*c)
			la.qkv, la.o = make([]float32, 3*n*hd), make([]float32, n*hd)
			la.a, la.g = make([]float32, n*l.MLP), make([]float32, n*l.MLP)
			la.mean1, la.rstd1, la.mean2, la.rstd2 = make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
			pl := group * l.Heads * tok * tok
			la.probs = make([]float32, pl)
			la.drop1, la.drop2 = make([]float32, group), make([]float32, group)
			maxNHD, maxNM = max(maxNHD, 3*n*hd), max(maxNM, n*l.MLP)
		case model.TypeReduction:
			r := nn.Reduction{Images: group, Grid: g, In: l.In, Out: l.Out}
			cv := r.Conv()
			la.red.Mean, la.red.Rstd = make([]float32, n), make([]float32, n)
			la.redXN = make([]float32, n*l.In)
			la.redCols = make([]float32, cv.ColsRows()*cv.ColsCols())
			la.redConv = make([]float32, cv.ColsRows()*l.Out)
			maxNHD = max(maxNHD, len(la.redCols)) // its im2col gradient borrows dQKV
			g /= 2
			tok, c = 1+g*g, l.Out
		}
		maxNC = max(maxNC, group*tok*c)
	}
	t.final = make([]float32, group*tok*c)
	t.feat, t.featMean, t.featRstd = make([]float32, group*c), make([]float32, group), make([]float32, group)
	cls := a.Head.Classes
	t.logits, t.probs, t.dLogits, t.losses = make([]float32, group*cls), make([]float32, group*cls), make([]float32, group*cls), make([]float32, group)
	t.dX, t.dXAlt, t.dF, t.dH = make([]float32, maxNC), make([]float32, maxNC), make([]float32, maxNC), make([]float32, maxNC)
	t.dQKV, t.dO = make([]float32, maxNHD), make([]float32, maxNHD)
	t.dA, t.dG = make([]float32, maxNM), make([]float32, maxNM)
	t.attnScratch = make([]float32, max(1, e.Workers)*maxT*maxT)
	return t
}

// dense views the first rows·cols values of buf as a dense matrix.
func dense(buf []float32, rows, cols int) gemm.Mat { return gemm.NewMat(rows, cols, buf[:rows*cols]) }

// zeroed is dense with the view cleared first (backward adds into gradients).
func zeroed(buf []float32, rows, cols int) gemm.Mat {
	clear(buf[:rows*cols])
	return dense(buf, rows, cols)
}

func clsRows(m gemm.Mat, images, tokens int) gemm.Mat {
	return gemm.Mat{Rows: images, Cols: m.Cols, Stride: tokens * m.Stride, Data: m.Data[:((images-1)*tokens)*m.Stride+m.Cols]}
}

// stemForward runs the conv stem on the whole batch (t.img already filled, channels-last).
func (t *trainNet) stemForward() {
	p, e, m := t.p, t.e, t.p.mid
	in := dense(t.img, len(t.img)/t.p.in.Channels, t.p.in.Channels)
	for i, c := range t.stemConv {
		w := p.conv[i].mat(p.conv[i].w)
		rows := c.ColsRows()
		co, pre := dense(t.convOut[i], rows, m), dense(t.pre[i], rows, m)
		nn.ConvForward(e, c, co, dense(t.cols[i], rows, c.ColsCols()), in, w, nil)
		bn := p.bn[i]
		if t.bnEval {
			nn.BatchNormEvalForward(e, pre, co, bn.w.w, bn.b.w, bn.mean.w, bn.vari.w, t.bnMean[i], t.bnRstd[i])
		} else {
			nn.BatchNormTrainForward(e, pre, co, bn.w.w, bn.b.w, t.bnMean[i], t.bnRstd[i], bn.mean.w, bn.vari.w, t.bnPartial)
		}
		nn.ReLUForward(e, t.post[i], t.pre[i])
		in = dense(t.post[i], rows, m)
	}
	for i := range t.stemOut {
		t.stemOut[i] = t.post[2][i] + t.post[0][i]
	}
}

// stemBackward back-propagates t.dStemOut (the gradient of the stem output, accumulated by
// every group's conv_proj) through the stem into the stem's parameter gradients.
func (t *trainNet) stemBackward() {
	p, e, m := t.p, t.e, t.p.mid
	rows := t.stemConv[0].ColsRows()
	// stemOut = post[2] + post[0]: post[0] gets dStemOut directly and again through conv2.
	dPost := t.dStemOut // gradient w.r.t. post[2]
	dPost0 := t.dTmp    // accumulates the gradient w.r.t. post[0]
	copy(dPost0, t.dStemOut)
	for i := 2; i >= 0; i-- {
		if i == 0 {
			dPost = dPost0
		}
		c := t.stemConv[i]
		dPre := zeroed(t.dPre, rows, m)
		nn.ReLUBackward(e, dPre.Data, t.post[i], dPost)
		dConv := zeroed(t.dConvStem, rows, m)
		bn := p.bn[i]
		co := dense(t.convOut[i], rows, m)
		if t.bnEval {
			nn.BatchNormEvalBackward(e, dConv, bn.w.g, bn.b.g, dPre, co, bn.w.w, t.bnMean[i], t.bnRstd[i])
		} else {
			nn.BatchNormTrainBackward(e, dConv, bn.w.g, bn.b.g, dPre, co, bn.w.w, t.bnMean[i], t.bnRstd[i], t.bnPartial)
		}
		var dIn gemm.Mat
		switch i {
		case 2: // input post[1]: fresh gradient
			dIn = zeroed(t.dStemOut, rows, m) // dStemOut is consumed (copied into dPost0 above)
			dPost = dIn.Data
		case 1: // input post[0]: add into its accumulator
			dIn = dense(dPost0, rows, m)
		}
		var dcols gemm.Mat
		if i > 0 {
			dcols = dense(t.dcols[i], c.ColsRows(), c.ColsCols())
		}
		nn.ConvBackward(e, c, dIn, p.conv[i].mat(p.conv[i].g), nil, dConv, dense(t.cols[i], c.ColsRows(), c.ColsCols()), dcols, p.conv[i].mat(p.conv[i].w))
	}
}

package train

import (
	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/nn"
	"github.com/resnas/resnas/internal/vecmath"
	"github.com/resnas/resnas/model"
)

// trainNet runs the training forward and backward of sub-networks on the supernet's max-size
// tensors. The conv stem (not searchable) runs once over the whole batch, with BatchNorm
// statistics over all of it as in the reference; everything after it runs per group of
// ExamplesPerArch images, each group one sub-network computed on sub-block views of the
// weights (compute.md §5: no masks, no copies). Buffers are sized once for the largest
// sub-network and a group, and reused.
//
// After the stem, the work is data-parallel: each of the lanes (one per worker) runs every
// group's sub-network on its own slice of the group's images, single-threaded, into its own
// activations and gradient buffer; the lanes' gradients are summed in lane order at the end.
// That costs one synchronisation per step instead of one per kernel, and every GEMM runs
// whole on one core. The split depends only on the group size and the number of workers, so
// results are deterministic for a given Workers.
type trainNet struct {
	e      *nn.Exec // every worker: the stem and the gradient reduction
	p      *supernetParams
	batch  int // images per step
	group  int // images per sub-network
	bnEval bool

	// Stem over the whole batch, channels-last.
	img                     []float32 // batch·S² × Cin
	stemConv                [3]nn.Conv
	convScratch             []float32    // the streamed convolutions' per-worker im2col chunks
	convOut, pre, post      [3][]float32 // conv output, BN output, ReLU output
	bnMean, bnRstd          [3][]float32 // per stem run, m apart
	runs                    []stemRun
	stemOut, dStemOut, dTmp []float32  // post[2] + post[0], its gradient, scratch
	convGrads               []gemm.Mat // a stem convolution's weight gradient in each lane
	dPre, dConvStem         []float32
	bnPartial               []float64

	// Per image of the batch.
	drop          [][2][]float32 // per layer, the drop-path scales of its two branches (blocks only)
	logits, probs []float32      // batch × classes
	losses        []float32
	lanes         []*lane
}

// lane runs images [lo, hi) of every group: its own activations, scratch and gradients.
type lane struct {
	e      *nn.Exec // one worker
	lo, hi int
	slab   []float32 // gradients, laid out as supernetParams.grad (lane 0 uses that one)

	projConv                 nn.Conv
	projCols, dProjCols      []float32
	patches, dPatches        []float32
	acts                     []layerActs
	final                    []float32 // output of the last layer
	feat, featMean, featRstd []float32
	dLogits                  []float32
	grids                    []int // backward's scratch: the grid side at each layer
	// A sub-network's qkv weight and bias packed (its heads of each section adjacent), and
	// their gradients before they are added back into the sections.
	qkvW, qkvB, dQKVW, dQKVB []float32

	// Backward scratch shared by all layers.
	dX, dXAlt, dF, dH, dQKV, dO, dA, dG []float32
	attnScratch                         []float32
}

type layerActs struct {
	in                         []float32 // input of this layer
	h1, qkv, o, x1, h2, a, g   []float32 // a: fc1 output, then GELU'(fc1 output)
	mean1, rstd1, mean2, rstd2 []float32
	probs                      []float32
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
	scratch := 0
	for i, c := range t.stemConv {
		scratch = max(scratch, c.StreamScratchLen(m))
		t.convOut[i] = make([]float32, rows*m)
		t.pre[i] = make([]float32, rows*m)
		t.post[i] = make([]float32, rows*m)
		t.bnMean[i], t.bnRstd[i] = make([]float32, m*batch/group), make([]float32, m*batch/group)
	}
	t.convScratch = make([]float32, max(1, e.Workers)*scratch)
	t.stemOut, t.dStemOut, t.dTmp, t.dPre = make([]float32, rows*m), make([]float32, rows*m), make([]float32, rows*m), make([]float32, rows*m)
	t.dConvStem = make([]float32, rows*m)
	t.bnPartial = make([]float64, 2*max(1, e.Workers)*m)

	t.drop = make([][2][]float32, len(a.Layers))
	for i, l := range a.Layers {
		if l.Type == model.TypeBlock {
			t.drop[i] = [2][]float32{make([]float32, batch), make([]float32, batch)}
		}
	}
	t.noDropPath()
	cls := a.Head.Classes
	t.logits, t.probs, t.losses = make([]float32, batch*cls), make([]float32, batch*cls), make([]float32, batch)

	// One lane per worker (the stem's convolutions give worker k's weight gradient to lane k);
	// with fewer images per group than workers, some lanes have none.
	w := max(1, e.Workers)
	t.lanes = make([]*lane, w)
	t.convGrads = make([]gemm.Mat, w)
	for i := range t.lanes {
		l := newLane(p, group*i/w, group*(i+1)/w, h1)
		l.e = &nn.Exec{Gemm: e.Gemm, Workers: 1}
		if i == 0 {
			l.slab = p.grad
		} else {
			l.slab = make([]float32, len(p.grad))
		}
		t.lanes[i] = l
	}
	return t
}

// newLane allocates a lane's buffers for images [lo, hi) of a group at the largest sizes;
// h1 is the side of the stem's output.
func newLane(p *supernetParams, lo, hi, h1 int) *lane {
	a := p.maxArch
	n := hi - lo
	l := &lane{lo: lo, hi: hi}
	k := p.in.Patch / 2
	g := p.in.Grid()
	l.projConv = nn.Conv{Images: n, InH: h1, InW: h1, InC: p.mid, K: k, Stride: k, InImageRows: h1 * h1}
	l.projCols = make([]float32, l.projConv.ColsRows()*l.projConv.ColsCols())
	l.dProjCols = make([]float32, len(l.projCols))
	c0 := a.Stem.Width
	l.patches, l.dPatches = make([]float32, n*g*g*c0), make([]float32, n*g*g*c0)

	// Per-layer activations at the largest sizes; scratch at the largest of any layer.
	tok, c := 1+g*g, c0
	maxNC, maxNHD, maxNM, maxT := n*tok*c, 0, 0, tok
	maxQKV, maxQKVB := 0, 0
	l.acts = make([]layerActs, len(a.Layers))
	for i, ly := range a.Layers {
		la := &l.acts[i]
		rows := n * tok
		la.in = make([]float32, rows*c)
		switch ly.Type {
		case model.TypeBlock:
			hd := ly.Heads * ly.HeadDim
			maxQKV = max(maxQKV, 3*hd*c)
			maxQKVB = max(maxQKVB, 3*hd)
			la.h1, la.x1, la.h2 = make([]float32, rows*c), make([]float32, rows*c), make([]float32, rows*c)
			la.qkv, la.o = make([]float32, 3*rows*hd), make([]float32, rows*hd)
			la.a, la.g = make([]float32, rows*ly.MLP), make([]float32, rows*ly.MLP)
			la.mean1, la.rstd1, la.mean2, la.rstd2 = make([]float32, rows), make([]float32, rows), make([]float32, rows), make([]float32, rows)
			la.probs = make([]float32, n*ly.Heads*tok*tok)
			maxNHD, maxNM = max(maxNHD, 3*rows*hd), max(maxNM, rows*ly.MLP)
		case model.TypeReduction:
			r := nn.Reduction{Images: n, Grid: g, In: ly.In, Out: ly.Out}
			cv := r.Conv()
			la.red.Mean, la.red.Rstd = make([]float32, rows), make([]float32, rows)
			la.redXN = make([]float32, rows*ly.In)
			la.redCols = make([]float32, cv.ColsRows()*cv.ColsCols())
			la.redConv = make([]float32, cv.ColsRows()*ly.Out)
			maxNHD = max(maxNHD, len(la.redCols)) // its im2col gradient borrows dQKV
			g /= 2
			tok, c = 1+g*g, ly.Out
		}
		maxNC = max(maxNC, n*tok*c)
	}
	l.final = make([]float32, n*tok*c)
	l.feat, l.featMean, l.featRstd = make([]float32, n*c), make([]float32, n), make([]float32, n)
	l.dLogits = make([]float32, n*a.Head.Classes)
	l.grids = make([]int, len(a.Layers))
	l.qkvW, l.dQKVW = make([]float32, maxQKV), make([]float32, maxQKV)
	l.qkvB, l.dQKVB = make([]float32, maxQKVB), make([]float32, maxQKVB)
	l.dX, l.dXAlt, l.dF, l.dH = make([]float32, maxNC), make([]float32, maxNC), make([]float32, maxNC), make([]float32, maxNC)
	l.dQKV, l.dO = make([]float32, maxNHD), make([]float32, maxNHD)
	l.dA, l.dG = make([]float32, maxNM), make([]float32, maxNM)
	l.attnScratch = make([]float32, maxT*maxT)
	return l
}

// noDropPath sets every drop-path scale to 1 (evaluation, or training without drop-path).
func (t *trainNet) noDropPath() {
	for _, d := range t.drop {
		for _, s := range d {
			for j := range s {
				s[j] = 1
			}
		}
	}
}

// grad is the lane's gradient of parameter p.
func (l *lane) grad(p *param) []float32 { return l.slab[p.off : p.off+len(p.w)] }

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

// stemRun is a run of consecutive groups whose sub-networks share a stem mid width: BatchNorm
// statistics are taken over its rows. With one mid width (every reference space) the whole
// batch is one run, as in the reference.
type stemRun struct {
	lo, hi int // rows of the stem's output
	mid    int
}

// planStem splits the batch into runs of equal stem mid width; groups past len(archs) (an
// evaluation's padding) join the last run.
func (t *trainNet) planStem(archs []model.Arch) {
	hw := t.stemConv[0].ColsRows() / t.batch
	t.runs = t.runs[:0]
	for g := 0; g < t.batch/t.group; g++ {
		mid := archs[min(g, len(archs)-1)].Stem.Mid
		lo, hi := g*t.group*hw, (g+1)*t.group*hw
		if n := len(t.runs); n > 0 && t.runs[n-1].mid == mid {
			t.runs[n-1].hi = hi
			continue
		}
		t.runs = append(t.runs, stemRun{lo: lo, hi: hi, mid: mid})
	}
}

// stemForward runs the conv stem on the whole batch (t.img already filled, channels-last) for
// the groups' sub-networks archs. The convolutions run at the largest mid width; a narrower
// stem is its leading slice, so each run normalises only its first mid channels and zeroes the
// rest after the ReLU: the next convolution then sees exactly the narrower stem's input, and
// no gradient reaches the weights outside the slice.
func (t *trainNet) stemForward(archs []model.Arch) {
	p, e, m := t.p, t.e, t.p.mid
	t.planStem(archs)
	in := dense(t.img, len(t.img)/t.p.in.Channels, t.p.in.Channels)
	for i, c := range t.stemConv {
		w := p.conv[i].mat(p.conv[i].w)
		rows := c.ColsRows()
		co, pre := dense(t.convOut[i], rows, m), dense(t.pre[i], rows, m)
		nn.ConvForwardStreamed(e, c, co, in, w, nil, t.convScratch)
		bn := p.bn[i]
		for r, run := range t.runs {
			k := run.mid
			st := p.midStats[k][i]
			x, y := co.Sub(run.lo, run.hi, 0, k), pre.Sub(run.lo, run.hi, 0, k)
			mean, rstd := t.bnMean[i][r*m:r*m+k], t.bnRstd[i][r*m:r*m+k]
			if t.bnEval {
				nn.BatchNormEvalForward(e, y, x, bn.w.w[:k], bn.b.w[:k], st.mean.w, st.vari.w, mean, rstd)
			} else {
				nn.BatchNormTrainForward(e, y, x, bn.w.w[:k], bn.b.w[:k], mean, rstd, st.mean.w, st.vari.w, t.bnPartial)
			}
		}
		nn.ReLUForward(e, t.post[i], t.pre[i])
		for _, run := range t.runs {
			if run.mid < m {
				post := dense(t.post[i], rows, m)
				for r := run.lo; r < run.hi; r++ {
					clear(post.Row(r)[run.mid:])
				}
			}
		}
		in = dense(t.post[i], rows, m)
	}
	copy(t.stemOut, t.post[2])
	vecmath.Add(t.stemOut, t.post[0])
}

// stemInput is the input of stem convolution i: the image, or the previous ReLU's output.
func (t *trainNet) stemInput(i int) gemm.Mat {
	if i == 0 {
		return dense(t.img, len(t.img)/t.p.in.Channels, t.p.in.Channels)
	}
	return dense(t.post[i-1], t.stemConv[i-1].ColsRows(), t.p.mid)
}

// stemBackward back-propagates t.dStemOut (the gradient of the stem output, accumulated by
// every group's conv_proj) through the stem into the stem's parameter gradients: BatchNorm's
// into the parameters' own, each convolution's into the lanes' (worker k's images into lane
// k's), for reduceGrads to sum.
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
		dConv := zeroed(t.dConvStem, rows, m) // channels past a run's mid get no gradient
		bn := p.bn[i]
		co := dense(t.convOut[i], rows, m)
		for r, run := range t.runs {
			k := run.mid
			dx, dy, x := dConv.Sub(run.lo, run.hi, 0, k), dPre.Sub(run.lo, run.hi, 0, k), co.Sub(run.lo, run.hi, 0, k)
			mean, rstd := t.bnMean[i][r*m:r*m+k], t.bnRstd[i][r*m:r*m+k]
			if t.bnEval {
				nn.BatchNormEvalBackward(e, dx, bn.w.g[:k], bn.b.g[:k], dy, x, bn.w.w[:k], mean, rstd)
			} else {
				nn.BatchNormTrainBackward(e, dx, bn.w.g[:k], bn.b.g[:k], dy, x, bn.w.w[:k], mean, rstd, t.bnPartial)
			}
		}
		var dIn gemm.Mat // none for the image
		switch i {
		case 2: // input post[1]: fresh gradient
			dIn = zeroed(t.dStemOut, rows, m) // dStemOut is consumed (copied into dPost0 above)
			dPost = dIn.Data
		case 1: // input post[0]: add into its accumulator
			dIn = dense(dPost0, rows, m)
		}
		cw := p.conv[i]
		for k, ln := range t.lanes {
			t.convGrads[k] = cw.mat(ln.grad(cw))
		}
		nn.ConvBackwardStreamed(e, c, dIn, t.convGrads, nil, dConv, t.stemInput(i), cw.mat(cw.w), t.convScratch)
	}
}

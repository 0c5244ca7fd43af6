package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/resnas/resnas/internal/gemm"
)

// TestLayerNormGrad checks LayerNorm on a sub-block of max-size parameters, with rows
// shorter than one 8-wide vector and rows with a vector body and a tail.
func TestLayerNormGrad(t *testing.T) {
	for _, c := range []int{7, 37} {
		layerNormGrad(t, c)
	}
}

func layerNormGrad(t *testing.T, c int) {
	e := testExec()
	rng := rand.New(rand.NewPCG(5, uint64(c)))
	n, cMax := 50, c+3
	x := gemm.NewMat(n, c, randSlice(rng, n*c, 2))
	w := randSlice(rng, cMax, 1)
	b := randSlice(rng, cMax, 1)
	y := gemm.NewMat(n, c, zeros(n*c))
	mean, rstd := zeros(n), zeros(n)
	r := randSlice(rng, n*c, 1)
	loss := func() float64 { LayerNormForward(e, y, x, w, b, mean, rstd); return probe(y, r) }
	loss()
	dx := gemm.NewMat(n, c, zeros(n*c))
	dw, db := zeros(cMax), zeros(cMax)
	LayerNormBackward(e, dx, dw, db, denseGrad(y, r), x, w, mean, rstd)
	var first []int
	for j := 0; j < c; j++ {
		first = append(first, j)
	}
	checkGrad(t, "dx", x.Data, dx.Data, nil, loss)
	checkGrad(t, "dw", w, dw, first, loss)
	checkGrad(t, "db", b, db, first, loss)
	for j := c; j < cMax; j++ {
		if dw[j] != 0 || db[j] != 0 {
			t.Fatalf("LN gradient beyond the sub-network's %d channels changed", c)
		}
	}
	// Normalised rows have mean b and the reference's eps 1e-6 (checked on a constant row:
	// x̂ = 0, so y = b exactly).
	x1 := gemm.NewMat(1, c, zeros(c))
	for j := range x1.Data {
		x1.Data[j] = 3
	}
	y1 := gemm.NewMat(1, c, zeros(c))
	LayerNormForward(e, y1, x1, w, b, mean, rstd)
	if math.Abs(float64(rstd[0])-1/math.Sqrt(LNEps)) > 1 {
		t.Fatalf("rstd of a constant row = %g, want 1/sqrt(1e-6)", rstd[0])
	}
}

func TestGELUGrad(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(7, 8))
	n := 5000
	x := randSlice(rng, n, 2)
	y := zeros(n)
	r := randSlice(rng, n, 1)
	ym := gemm.NewMat(1, n, y)
	d := zeros(n)
	loss := func() float64 { GELUForward(e, y, nil, x); return probe(ym, r) }
	loss()
	GELUForward(e, y, d, x)
	dx := zeros(n)
	GELUBackward(e, dx, d, r)
	checkGrad(t, "dx", x, dx, nil, loss)
	// The trainer keeps the derivative where the input was (d aliases x): same values.
	GELUForward(e, y, d, x) // again: the finite differences left y at a perturbed x
	y2, d2 := zeros(n), append([]float32(nil), x...)
	GELUForward(e, y2, d2, d2)
	for i := range y {
		if y2[i] != y[i] || d2[i] != d[i] {
			t.Fatalf("GELU with d aliasing x differs at %d: %g, %g vs %g, %g", i, y2[i], d2[i], y[i], d[i])
		}
	}
	// Exact (erf) GELU values: GELU(1) = 0.8413447, GELU(−1) = −0.1586553.
	got := zeros(2)
	GELUForward(e, got, nil, []float32{1, -1})
	if math.Abs(float64(got[0])-0.8413447) > 1e-6 || math.Abs(float64(got[1])+0.1586553) > 1e-6 {
		t.Fatalf("GELU(±1) = %v, want erf form 0.8413447, −0.1586553", got)
	}
}

func TestSoftmaxGrad(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(9, 10))
	const n, c = 20, 13
	x := gemm.NewMat(n, c, randSlice(rng, n*c, 2))
	y := gemm.NewMat(n, c, zeros(n*c))
	r := randSlice(rng, n*c, 1)
	const scale = 0.7
	loss := func() float64 { SoftmaxForward(e, y, x, scale); return probe(y, r) }
	loss()
	dx := gemm.NewMat(n, c, zeros(n*c))
	SoftmaxBackward(e, dx, denseGrad(y, r), y, scale)
	checkGrad(t, "dx", x.Data, dx.Data, nil, loss)
}

// TestAttentionGrad runs 3 of 4 heads on a qkv buffer laid out at the max section width, as a
// sub-network does on the supernet's fused qkv output.
func TestAttentionGrad(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(11, 12))
	a := Attention{Images: 3, Tokens: 6, Heads: 3, HeadDim: 4, Section: 4 * 4}
	rows := a.Images * a.Tokens
	qkv := gemm.NewMat(rows, 3*a.Section, randSlice(rng, rows*3*a.Section, 1))
	out := gemm.NewMat(rows, a.Heads*a.HeadDim, zeros(rows*a.Heads*a.HeadDim))
	probs := zeros(a.ProbsLen())
	r := randSlice(rng, rows*a.Heads*a.HeadDim, 1)
	loss := func() float64 { AttentionForward(e, a, out, qkv, probs); return probe(out, r) }
	loss()
	dqkv := gemm.NewMat(rows, 3*a.Section, zeros(rows*3*a.Section))
	scratch := zeros(2 * a.ScratchLen())
	AttentionBackward(e, a, dqkv, denseGrad(out, r), qkv, probs, scratch)
	var idx []int
	for i := 0; i < rows; i++ {
		for s := 0; s < 3; s++ {
			for j := 0; j < a.Heads*a.HeadDim; j++ {
				idx = append(idx, i*3*a.Section+s*a.Section+j)
			}
		}
	}
	checkGrad(t, "dqkv", qkv.Data, dqkv.Data, idx, loss)
	// Columns of the unused fourth head get no gradient.
	for i := 0; i < rows; i++ {
		for s := 0; s < 3; s++ {
			for j := a.Heads * a.HeadDim; j < a.Section; j++ {
				if v := dqkv.Data[i*3*a.Section+s*a.Section+j]; v != 0 {
					t.Fatalf("unused head column got gradient %g", v)
				}
			}
		}
	}
	// Against a naive per-element computation of the forward (re-run: the finite differences
	// left out computed at a perturbed input).
	loss()
	want := naiveAttention(a, qkv)
	for i, v := range want {
		if math.Abs(v-float64(out.Data[i])) > 1e-5 {
			t.Fatalf("attention output %d = %g, naive %g", i, out.Data[i], v)
		}
	}
}

func naiveAttention(a Attention, qkv gemm.Mat) []float64 {
	t, d := a.Tokens, a.HeadDim
	out := make([]float64, a.Images*t*a.Heads*d)
	for n := 0; n < a.Images; n++ {
		for h := 0; h < a.Heads; h++ {
			for i := 0; i < t; i++ {
				s := make([]float64, t)
				mx := math.Inf(-1)
				for j := 0; j < t; j++ {
					for c := 0; c < d; c++ {
						s[j] += float64(qkv.At(n*t+i, h*d+c)) * float64(qkv.At(n*t+j, a.Section+h*d+c))
					}
					s[j] /= math.Sqrt(float64(d))
					mx = max(mx, s[j])
				}
				var z float64
				for j := range s {
					s[j] = math.Exp(s[j] - mx)
					z += s[j]
				}
				for c := 0; c < d; c++ {
					var o float64
					for j := 0; j < t; j++ {
						o += s[j] / z * float64(qkv.At(n*t+j, 2*a.Section+h*d+c))
					}
					out[(n*t+i)*a.Heads*d+h*d+c] = o
				}
			}
		}
	}
	return out
}

// TestConvGrad checks a 3×3/s2/p1 conv reading patch tokens after a class token, with a
// sub-block of a max-size weight, against finite differences and a naive convolution.
func TestConvGrad(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(13, 14))
	c := Conv{Images: 2, InH: 4, InW: 4, InC: 3, K: 3, Stride: 2, Pad: 1, InImageRows: 17, InFirst: 1}
	const cout, cinMax, coutMax = 5, 4, 6
	x := gemm.NewMat(c.Images*c.InImageRows, c.InC, randSlice(rng, c.Images*c.InImageRows*c.InC, 1))
	wData := randSlice(rng, coutMax*cinMax*9, 0.5)
	W := gemm.NewMat(coutMax, cinMax*9, wData).Sub(0, cout, 0, c.InC*9)
	b := randSlice(rng, cout, 0.5)
	cols := gemm.NewMat(c.ColsRows(), c.ColsCols(), zeros(c.ColsRows()*c.ColsCols()))
	y := gemm.NewMat(c.ColsRows(), cout, zeros(c.ColsRows()*cout))
	r := randSlice(rng, c.ColsRows()*cout, 1)
	loss := func() float64 { ConvForward(e, c, y, cols, x, W, b); return probe(y, r) }
	loss()
	// Naive convolution with PyTorch's (Cout, Cin, K, K) weight layout.
	for n := 0; n < c.Images; n++ {
		for oy := 0; oy < c.OutH(); oy++ {
			for ox := 0; ox < c.OutW(); ox++ {
				for co := 0; co < cout; co++ {
					s := float64(b[co])
					for ci := 0; ci < c.InC; ci++ {
						for ky := 0; ky < 3; ky++ {
							for kx := 0; kx < 3; kx++ {
								iy, ix := oy*2-1+ky, ox*2-1+kx
								if iy < 0 || ix < 0 || iy >= c.InH || ix >= c.InW {
									continue
								}
								s += float64(wData[co*cinMax*9+ci*9+ky*3+kx]) * float64(x.At(n*17+1+iy*4+ix, ci))
							}
						}
					}
					if got := y.At((n*c.OutH()+oy)*c.OutW()+ox, co); math.Abs(float64(got)-s) > 1e-5 {
						t.Fatalf("conv output (%d,%d,%d,%d) = %g, naive %g", n, oy, ox, co, got, s)
					}
				}
			}
		}
	}
	dx := gemm.NewMat(x.Rows, x.Cols, zeros(x.Rows*x.Cols))
	dwData := zeros(coutMax * cinMax * 9)
	dW := gemm.NewMat(coutMax, cinMax*9, dwData).Sub(0, cout, 0, c.InC*9)
	db := zeros(cout)
	dcols := gemm.NewMat(cols.Rows, cols.Cols, zeros(cols.Rows*cols.Cols))
	ConvBackward(e, c, dx, dW, db, denseGrad(y, r), cols, dcols, W)
	var xi []int // the class-token rows get no gradient; check patch rows
	for i := range x.Data {
		if (i/c.InC)%17 != 0 {
			xi = append(xi, i)
		}
	}
	checkGrad(t, "dx", x.Data, dx.Data, xi, loss)
	checkGrad(t, "dW", wData, dwData, subIndices(cout, c.InC*9, cinMax*9), loss)
	checkGrad(t, "db", b, db, nil, loss)
	outsideUntouched(t, "dW", dwData, cout, c.InC*9, cinMax*9, 0)
}

func TestBatchNormTrainGrad(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(15, 16))
	const n, c = 300, 4
	x := gemm.NewMat(n, c, randSlice(rng, n*c, 2))
	for i := range x.Data {
		x.Data[i] += float32(i % c) // per-channel offsets
	}
	g, b := randSlice(rng, c, 1), randSlice(rng, c, 1)
	rm, rv := zeros(c), []float32{1, 1, 1, 1}
	y := gemm.NewMat(n, c, zeros(n*c))
	mean, rstd := zeros(c), zeros(c)
	partial := make([]float64, 2*2*c)
	r := randSlice(rng, n*c, 1)
	loss := func() float64 {
		BatchNormTrainForward(e, y, x, g, b, mean, rstd, rm, rv, partial)
		return probe(y, r)
	}
	loss()
	dx := gemm.NewMat(n, c, zeros(n*c))
	dg, db := zeros(c), zeros(c)
	BatchNormTrainBackward(e, dx, dg, db, denseGrad(y, r), x, g, mean, rstd, partial)
	checkGrad(t, "dx", x.Data, dx.Data, nil, loss)
	checkGrad(t, "dgamma", g, dg, nil, loss)
	checkGrad(t, "dbeta", b, db, nil, loss)

	// Running statistics: one update from (0, 1) moves 10% of the way to the batch mean and
	// the unbiased batch variance.
	rm, rv = zeros(c), []float32{1, 1, 1, 1}
	BatchNormTrainForward(e, y, x, g, b, mean, rstd, rm, rv, partial)
	for j := 0; j < c; j++ {
		var s, ss float64
		for i := 0; i < n; i++ {
			s += float64(x.At(i, j))
		}
		m := s / n
		for i := 0; i < n; i++ {
			d := float64(x.At(i, j)) - m
			ss += d * d
		}
		if math.Abs(float64(rm[j])-0.1*m) > 1e-5 || math.Abs(float64(rv[j])-(0.9+0.1*ss/(n-1))) > 1e-4 {
			t.Fatalf("channel %d: running (%g, %g), want (%g, %g)", j, rm[j], rv[j], 0.1*m, 0.9+0.1*ss/(n-1))
		}
	}
}

func TestBatchNormEvalGrad(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(17, 18))
	const n, c = 40, 3
	x := gemm.NewMat(n, c, randSlice(rng, n*c, 2))
	g, b := randSlice(rng, c, 1), randSlice(rng, c, 1)
	rm, rv := []float32{0.5, -1, 0}, []float32{2, 0.5, 1}
	y := gemm.NewMat(n, c, zeros(n*c))
	mean, rstd := zeros(c), zeros(c)
	r := randSlice(rng, n*c, 1)
	loss := func() float64 { BatchNormEvalForward(e, y, x, g, b, rm, rv, mean, rstd); return probe(y, r) }
	loss()
	dx := gemm.NewMat(n, c, zeros(n*c))
	dg, db := zeros(c), zeros(c)
	BatchNormEvalBackward(e, dx, dg, db, denseGrad(y, r), x, g, mean, rstd)
	checkGrad(t, "dx", x.Data, dx.Data, nil, loss)
	checkGrad(t, "dgamma", g, dg, nil, loss)
	checkGrad(t, "dbeta", b, db, nil, loss)
}

func TestReLUGrad(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(19, 20))
	n := 200
	x := randSlice(rng, n, 1)
	for i := range x { // keep away from the kink, where differences are undefined
		if math.Abs(float64(x[i])) < 2*fdStep {
			x[i] = 0.5
		}
	}
	y := zeros(n)
	r := randSlice(rng, n, 1)
	loss := func() float64 { ReLUForward(e, y, x); return probe(gemm.NewMat(1, n, y), r) }
	loss()
	dx := zeros(n)
	ReLUBackward(e, dx, y, r)
	checkGrad(t, "dx", x, dx, nil, loss)
}

func TestResidualDropPathGrad(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(21, 22))
	const images, tokens, c = 4, 3, 5
	x0 := randSlice(rng, images*tokens*c, 1)
	f := gemm.NewMat(images*tokens, c, randSlice(rng, images*tokens*c, 1))
	scale := zeros(images)
	DropPathScales(scale, []float32{0.1, 0.5, 0.9, 0.2}, 0.25)
	if scale[0] != 0 || scale[1] != 1/0.75 || scale[3] != 0 {
		t.Fatalf("drop-path scales %v for p=0.25, want [0 1.333 1.333 0]", scale)
	}
	x := gemm.NewMat(images*tokens, c, zeros(images*tokens*c))
	r := randSlice(rng, images*tokens*c, 1)
	loss := func() float64 {
		copy(x.Data, x0)
		ResidualForward(e, x, f, tokens, scale)
		return probe(x, r)
	}
	loss()
	df := gemm.NewMat(f.Rows, c, zeros(f.Rows*c))
	ResidualBackward(e, df, denseGrad(x, r), tokens, scale)
	checkGrad(t, "df", f.Data, df.Data, nil, loss)
}

func TestCrossEntropyGrad(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(23, 24))
	const n, k = 8, 10
	logits := gemm.NewMat(n, k, randSlice(rng, n*k, 2))
	probs := gemm.NewMat(n, k, zeros(n*k))
	labels := []int{0, 3, 9, 2, 2, 5, 7, 1}
	loss := zeros(n)
	const s = 0.1
	total := func() float64 {
		CrossEntropyForward(e, loss, probs, logits, labels, s)
		var t float64
		for _, v := range loss {
			t += float64(v)
		}
		return t / n
	}
	total()
	d := gemm.NewMat(n, k, zeros(n*k))
	CrossEntropyBackward(e, d, probs, labels, s, 1.0/n)
	checkGrad(t, "dlogits", logits.Data, d.Data, nil, total)
	// Uniform logits: loss = log K whatever the smoothing.
	u := gemm.NewMat(1, k, zeros(k))
	CrossEntropyForward(e, loss, gemm.NewMat(1, k, zeros(k)), u, []int{4}, s)
	if math.Abs(float64(loss[0])-math.Log(k)) > 1e-6 {
		t.Fatalf("loss of uniform logits = %g, want log 10", loss[0])
	}
}

// TestReductionGrad checks the whole residual spatial reduction, with an input width below
// the max (sub-network) and an output wider than the input (zero-padded skip).
func TestReductionGrad(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(25, 26))
	r := Reduction{Images: 2, Grid: 4, In: 3, Out: 5}
	const inMax, outMax = 4, 6
	ti, to, og := r.InTokens(), r.OutTokens(), r.OutGrid()
	x := gemm.NewMat(r.Images*ti, r.In, randSlice(rng, r.Images*ti*r.In, 1))
	mk := func(rows, cols int) gemm.Mat { return gemm.NewMat(rows, cols, zeros(rows*cols)) }
	full := func(rows, cols int, s float32) gemm.Mat {
		return gemm.NewMat(rows, cols, randSlice(rng, rows*cols, s))
	}
	nw, nb := randSlice(rng, inMax, 1), randSlice(rng, inMax, 1)
	cw, cb := full(outMax, inMax*9, 0.3), randSlice(rng, outMax, 0.3)
	pos, tw, tb := full(og*og, outMax, 0.3), full(outMax, inMax, 0.3), randSlice(rng, outMax, 0.3)
	p := ReductionParams{NormW: nw, NormB: nb, ConvW: cw.Sub(0, r.Out, 0, r.In*9), ConvB: cb,
		Pos: pos.Sub(0, og*og, 0, r.Out), TokW: tw.Sub(0, r.Out, 0, r.In), TokB: tb}
	gcw, gpos, gtw := mk(outMax, inMax*9), mk(og*og, outMax), mk(outMax, inMax)
	gnw, gnb, gcb, gtb := zeros(inMax), zeros(inMax), zeros(outMax), zeros(outMax)
	g := ReductionParams{NormW: gnw, NormB: gnb, ConvW: gcw.Sub(0, r.Out, 0, r.In*9), ConvB: gcb,
		Pos: gpos.Sub(0, og*og, 0, r.Out), TokW: gtw.Sub(0, r.Out, 0, r.In), TokB: gtb}
	cv := r.Conv()
	b := ReductionBuffers{Mean: zeros(x.Rows), Rstd: zeros(x.Rows), XN: mk(x.Rows, r.In),
		Cols: mk(cv.ColsRows(), cv.ColsCols()), ConvOut: mk(cv.ColsRows(), r.Out),
		DXN: mk(x.Rows, r.In), DCols: mk(cv.ColsRows(), cv.ColsCols()), DConv: mk(cv.ColsRows(), r.Out)}
	y := mk(r.Images*to, r.Out)
	pr := randSlice(rng, y.Rows*y.Cols, 1)
	loss := func() float64 { ReductionForward(e, r, y, x, p, b); return probe(y, pr) }
	loss()
	// The skip path of the class token is the un-normalised token, zero-padded.
	dx := mk(x.Rows, r.In)
	ReductionBackward(e, r, dx, denseGrad(y, pr), x, p, g, b)
	checkGrad(t, "dx", x.Data, dx.Data, nil, loss)
	checkGrad(t, "norm.weight", nw, gnw, []int{0, 1, 2}, loss)
	checkGrad(t, "norm.bias", nb, gnb, []int{0, 1, 2}, loss)
	checkGrad(t, "patch_reduce.weight", cw.Data, gcw.Data, subIndices(r.Out, r.In*9, inMax*9), loss)
	checkGrad(t, "patch_reduce.bias", cb, gcb, []int{0, 1, 2, 3, 4}, loss)
	checkGrad(t, "pos_embed", pos.Data, gpos.Data, subIndices(og*og, r.Out, outMax), loss)
	checkGrad(t, "token_transform.weight", tw.Data, gtw.Data, subIndices(r.Out, r.In, inMax), loss)
	checkGrad(t, "token_transform.bias", tb, gtb, []int{0, 1, 2, 3, 4}, loss)
	outsideUntouched(t, "patch_reduce.weight grad", gcw.Data, r.Out, r.In*9, inMax*9, 0)
}

// TestConvStreamedMatchesConv runs enough images for several cache-sized chunks per worker
// (with a chunk cut short at each worker's end) and compares the streamed convolution with
// ConvForward/ConvBackward; the per-worker weight gradients must sum to the whole one.
func TestConvStreamedMatchesConv(t *testing.T) {
	for _, stride := range []int{3, 5} { // input rows dense, and a view of wider rows
		convStreamedMatchesConv(t, stride)
	}
}

func convStreamedMatchesConv(t *testing.T, xStride int) {
	e := testExec()
	rng := rand.New(rand.NewPCG(15, uint64(xStride)))
	// 6×6 outputs per image: 14 images per 512-row chunk, 37 images in all.
	c := Conv{Images: 37, InH: 12, InW: 12, InC: 3, K: 3, Stride: 2, Pad: 1, InImageRows: 145, InFirst: 1}
	const cout, cinMax = 5, 4
	x := gemm.NewMat(c.Images*c.InImageRows, xStride, randSlice(rng, c.Images*c.InImageRows*xStride, 1)).Sub(0, c.Images*c.InImageRows, 0, c.InC)
	W := gemm.NewMat(cout, cinMax*9, randSlice(rng, cout*cinMax*9, 0.5)).Sub(0, cout, 0, c.InC*9)
	b := randSlice(rng, cout, 0.5)
	dy := gemm.NewMat(c.ColsRows(), cout, randSlice(rng, c.ColsRows()*cout, 1))

	cols := gemm.NewMat(c.ColsRows(), c.ColsCols(), zeros(c.ColsRows()*c.ColsCols()))
	dcols := gemm.NewMat(cols.Rows, cols.Cols, zeros(cols.Rows*cols.Cols))
	y := gemm.NewMat(c.ColsRows(), cout, zeros(c.ColsRows()*cout))
	dx := gemm.NewMat(x.Rows, xStride, zeros(x.Rows*xStride)).Sub(0, x.Rows, 0, x.Cols)
	dW := gemm.NewMat(cout, cinMax*9, zeros(cout*cinMax*9)).Sub(0, cout, 0, c.InC*9)
	db := zeros(cout)
	ConvForward(e, c, y, cols, x, W, b)
	ConvBackward(e, c, dx, dW, db, dy, cols, dcols, W)

	scratch := zeros(e.Workers * c.StreamScratchLen(cout))
	for i := range scratch {
		scratch[i] = float32(math.NaN()) // scratch contents must never leak into results
	}
	y2 := gemm.NewMat(c.ColsRows(), cout, zeros(c.ColsRows()*cout))
	dx2 := gemm.NewMat(x.Rows, xStride, zeros(x.Rows*xStride)).Sub(0, x.Rows, 0, x.Cols)
	dWs := make([]gemm.Mat, e.Workers)
	for k := range dWs {
		dWs[k] = gemm.NewMat(cout, cinMax*9, zeros(cout*cinMax*9)).Sub(0, cout, 0, c.InC*9)
	}
	db2 := zeros(cout)
	ConvForwardStreamed(e, c, y2, x, W, b, scratch)
	ConvBackwardStreamed(e, c, dx2, dWs, db2, dy, x, W, scratch)
	dW2 := zeros(cout * c.InC * 9)
	for _, d := range dWs {
		for i := 0; i < cout; i++ {
			for j := 0; j < c.InC*9; j++ {
				dW2[i*c.InC*9+j] += d.At(i, j)
			}
		}
	}
	dW1 := zeros(cout * c.InC * 9)
	for i := 0; i < cout; i++ {
		copy(dW1[i*c.InC*9:(i+1)*c.InC*9], dW.Row(i))
	}
	closeTo(t, "y", y2.Data, y.Data, 1e-5)
	closeTo(t, "dx", dx2.Data, dx.Data, 1e-5)
	closeTo(t, "dW", dW2, dW1, 1e-4)
	closeTo(t, "db", db2, db, 1e-5)
}

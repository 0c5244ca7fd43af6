package nn

// gorgonia is a test-only oracle here: the same small computations built as gorgonia graphs,
// differentiated symbolically, must give our forward values and gradients. Only ops whose
// gradients compute.md found correct are used (no InverseSqrt, Log2, AveragePool2D; no
// SoftMax and LogSoftMax of one node; no strided views bound as values).

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/resnas/resnas/internal/gemm"
)

// oracle holds one graph under construction.
type oracle struct {
	t *testing.T
	g *G.ExprGraph
}

func newOracle(t *testing.T) *oracle { return &oracle{t: t, g: G.NewGraph()} }

func (o *oracle) must(n *G.Node, err error) *G.Node {
	o.t.Helper()
	if err != nil {
		o.t.Fatal(err)
	}
	return n
}

// value makes a node holding a copy of data with the given shape (a matrix or a vector).
func (o *oracle) value(name string, data []float32, shape ...int) *G.Node {
	d := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), data...)))
	if len(shape) == 1 {
		return G.NewVector(o.g, tensor.Float32, G.WithShape(shape...), G.WithName(name), G.WithValue(d))
	}
	return G.NewMatrix(o.g, tensor.Float32, G.WithShape(shape...), G.WithName(name), G.WithValue(d))
}

// run differentiates cost with respect to wrt and executes the graph; it returns the value
// of out and the gradients.
func (o *oracle) run(cost, out *G.Node, wrt ...*G.Node) ([]float32, [][]float32) {
	o.t.Helper()
	if _, err := G.Grad(cost, wrt...); err != nil {
		o.t.Fatal(err)
	}
	vm := G.NewTapeMachine(o.g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		o.t.Fatal(err)
	}
	var val []float32
	switch d := out.Value().Data().(type) {
	case []float32:
		val = append(val, d...)
	case float32: // a scalar cost
		val = []float32{d}
	}
	var grads [][]float32
	for _, n := range wrt {
		gv, err := n.Grad()
		if err != nil {
			o.t.Fatal(err)
		}
		grads = append(grads, append([]float32(nil), gv.Data().([]float32)...))
	}
	return val, grads
}

// probeCost is Σ y⊙r, the probe loss of the finite-difference tests.
func (o *oracle) probeCost(y *G.Node, r []float32, rows, cols int) *G.Node {
	return o.must(G.Sum(o.must(G.HadamardProd(y, o.value("r", r, rows, cols)))))
}

func closeTo(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, reference %d", name, len(got), len(want))
	}
	var maxDiff, maxAbs float64
	for i := range got {
		maxDiff = max(maxDiff, math.Abs(float64(got[i]-want[i])))
		maxAbs = max(maxAbs, math.Abs(float64(want[i])))
	}
	if maxDiff > tol*max(maxAbs, 1) {
		t.Errorf("%s: max |ours − reference| = %.3g (max |reference| %.3g)", name, maxDiff, maxAbs)
	} else {
		t.Logf("%s: max |ours − reference| = %.2g", name, maxDiff)
	}
}

func transpose(a []float32, rows, cols int) []float32 {
	t := make([]float32, len(a))
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			t[j*rows+i] = a[i*cols+j]
		}
	}
	return t
}

const oracleTol = 1e-5

func TestLinearAgainstGorgonia(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(31, 32))
	const n, in, out = 6, 5, 4
	x, w, b, r := randSlice(rng, n*in, 1), randSlice(rng, out*in, 1), randSlice(rng, out, 1), randSlice(rng, n*out, 1)

	o := newOracle(t)
	xn, wt, bn := o.value("x", x, n, in), o.value("wt", transpose(w, out, in), in, out), o.value("b", b, out)
	y := o.must(G.BroadcastAdd(o.must(G.Mul(xn, wt)), bn, nil, []byte{0}))
	want, grads := o.run(o.probeCost(y, r, n, out), y, xn, wt, bn)

	ym := gemm.NewMat(n, out, zeros(n*out))
	W := gemm.NewMat(out, in, w)
	LinearForward(e, ym, gemm.NewMat(n, in, x), W, b)
	dx, dw, db := gemm.NewMat(n, in, zeros(n*in)), gemm.NewMat(out, in, zeros(out*in)), zeros(out)
	LinearBackward(e, dx, dw, db, gemm.NewMat(n, out, r), gemm.NewMat(n, in, x), W)
	closeTo(t, "y", ym.Data, want, oracleTol)
	closeTo(t, "dx", dx.Data, grads[0], oracleTol)
	closeTo(t, "dW", dw.Data, transpose(grads[1], in, out), oracleTol)
	closeTo(t, "db", db, grads[2], oracleTol)
}

// TestLayerNormAgainstGorgonia composes LayerNorm from gorgonia's mean, square, sqrt and
// broadcasting ops (it has no LayerNorm).
func TestLayerNormAgainstGorgonia(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(33, 34))
	const n, c = 5, 8
	x, w, b, r := randSlice(rng, n*c, 2), randSlice(rng, c, 1), randSlice(rng, c, 1), randSlice(rng, n*c, 1)

	o := newOracle(t)
	xn, wn, bn := o.value("x", x, n, c), o.value("w", w, c), o.value("b", b, c)
	mu := o.must(G.Mean(xn, 1))
	xc := o.must(G.BroadcastSub(xn, mu, nil, []byte{1}))
	vr := o.must(G.Mean(o.must(G.Square(xc)), 1))
	sd := o.must(G.Sqrt(o.must(G.Add(vr, G.NewConstant(float32(LNEps))))))
	xh := o.must(G.BroadcastHadamardDiv(xc, sd, nil, []byte{1}))
	y := o.must(G.BroadcastAdd(o.must(G.BroadcastHadamardProd(xh, wn, nil, []byte{0})), bn, nil, []byte{0}))
	want, grads := o.run(o.probeCost(y, r, n, c), y, xn, wn, bn)

	ym := gemm.NewMat(n, c, zeros(n*c))
	mean, rstd := zeros(n), zeros(n)
	LayerNormForward(e, ym, gemm.NewMat(n, c, x), w, b, mean, rstd)
	dx, dw, db := gemm.NewMat(n, c, zeros(n*c)), zeros(c), zeros(c)
	LayerNormBackward(e, dx, dw, db, gemm.NewMat(n, c, r), gemm.NewMat(n, c, x), w, mean, rstd)
	closeTo(t, "y", ym.Data, want, oracleTol)
	closeTo(t, "dx", dx.Data, grads[0], 1e-4)
	closeTo(t, "dw", dw, grads[1], oracleTol)
	closeTo(t, "db", db, grads[2], oracleTol)
}

func TestSoftmaxAgainstGorgonia(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(35, 36))
	const n, c = 4, 9
	x, r := randSlice(rng, n*c, 2), randSlice(rng, n*c, 1)

	o := newOracle(t)
	xn := o.value("x", x, n, c)
	y := o.must(G.SoftMax(xn))
	want, grads := o.run(o.probeCost(y, r, n, c), y, xn)

	ym := gemm.NewMat(n, c, zeros(n*c))
	SoftmaxForward(e, ym, gemm.NewMat(n, c, x), 1)
	dx := gemm.NewMat(n, c, zeros(n*c))
	SoftmaxBackward(e, dx, gemm.NewMat(n, c, r), ym, 1)
	closeTo(t, "y", ym.Data, want, oracleTol)
	closeTo(t, "dx", dx.Data, grads[0], oracleTol)
}

// TestCrossEntropyAgainstGorgonia builds the label-smoothed loss as −mean Σ t⊙log softmax.
func TestCrossEntropyAgainstGorgonia(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(37, 38))
	const n, k, s = 6, 5, 0.1
	logits := randSlice(rng, n*k, 2)
	labels := []int{0, 4, 2, 2, 1, 3}
	target := make([]float32, n*k)
	for i, l := range labels {
		for j := 0; j < k; j++ {
			target[i*k+j] = s / k
		}
		target[i*k+l] += 1 - s
	}
	o := newOracle(t)
	ln := o.value("logits", logits, n, k)
	lp := o.must(G.Log(o.must(G.SoftMax(ln))))
	sum := o.must(G.Sum(o.must(G.HadamardProd(lp, o.value("t", target, n, k)))))
	cost := o.must(G.Div(o.must(G.Neg(sum)), G.NewConstant(float32(n))))
	want, grads := o.run(cost, cost, ln)

	loss := zeros(n)
	probs := gemm.NewMat(n, k, zeros(n*k))
	CrossEntropyForward(e, loss, probs, gemm.NewMat(n, k, logits), labels, s)
	var mean float32
	for _, v := range loss {
		mean += v / n
	}
	d := gemm.NewMat(n, k, zeros(n*k))
	CrossEntropyBackward(e, d, probs, labels, s, 1.0/n)
	closeTo(t, "loss", []float32{mean}, want, oracleTol)
	closeTo(t, "dlogits", d.Data, grads[0], oracleTol)
}

// TestAttentionAgainstGorgonia checks one head: softmax(q·kᵀ/√D)·v.
func TestAttentionAgainstGorgonia(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(39, 40))
	a := Attention{Images: 1, Tokens: 5, Heads: 1, HeadDim: 3, Section: 3}
	q, k, v := randSlice(rng, 15, 1), randSlice(rng, 15, 1), randSlice(rng, 15, 1)
	r := randSlice(rng, 15, 1)

	o := newOracle(t)
	qn, kn, vn := o.value("q", q, 5, 3), o.value("k", k, 5, 3), o.value("v", v, 5, 3)
	kt := o.must(G.Transpose(kn))
	sc := o.must(G.Mul(o.must(G.Mul(qn, kt)), G.NewConstant(float32(1/math.Sqrt(3)))))
	y := o.must(G.Mul(o.must(G.SoftMax(sc)), vn))
	want, grads := o.run(o.probeCost(y, r, 5, 3), y, qn, kn, vn)

	qkv := make([]float32, 5*9)
	for i := 0; i < 5; i++ {
		copy(qkv[i*9:], q[i*3:i*3+3])
		copy(qkv[i*9+3:], k[i*3:i*3+3])
		copy(qkv[i*9+6:], v[i*3:i*3+3])
	}
	out := gemm.NewMat(5, 3, zeros(15))
	probs := zeros(a.ProbsLen())
	AttentionForward(e, a, out, gemm.NewMat(5, 9, qkv), probs)
	dqkv := gemm.NewMat(5, 9, zeros(45))
	AttentionBackward(e, a, dqkv, gemm.NewMat(5, 3, r), gemm.NewMat(5, 9, qkv), probs, zeros(2*a.ScratchLen()))
	sec := func(s int) []float32 {
		d := make([]float32, 15)
		for i := 0; i < 5; i++ {
			copy(d[i*3:i*3+3], dqkv.Data[i*9+s*3:i*9+s*3+3])
		}
		return d
	}
	closeTo(t, "out", out.Data, want, oracleTol)
	closeTo(t, "dq", sec(0), grads[0], oracleTol)
	closeTo(t, "dk", sec(1), grads[1], oracleTol)
	closeTo(t, "dv", sec(2), grads[2], oracleTol)
}

package gemmtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/resnas/resnas/internal/gemm"
)

// TestMul checks gemm.Mul through be on Sub views of larger matrices, as the supernet uses
// them: top-left blocks of a max-size weight, blocks in the middle of a parent, transposed
// views, per-head slices of a fused qkv buffer (attention scores q·kᵀ and values S·v written
// into one head's columns), and empty inner or outer dimensions. Everything of the parent of C
// outside the view must keep its bits.
func TestMul(t *testing.T, be gemm.Backend) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	w := randMat(rng, 40, 56)   // a max-size weight
	x := randMat(rng, 33, 48)   // activations
	out := randMat(rng, 35, 60) // the output's parent
	type mulCase struct {
		name           string
		transA, transB bool
		alpha, beta    float32
		a, b           func() gemm.Mat
		c              func(parent gemm.Mat) gemm.Mat
	}
	cases := []mulCase{
		{"top-left sub-network, y = x·Wᵀ", false, true, 1, 0,
			func() gemm.Mat { return x.Sub(0, 33, 0, 24) }, func() gemm.Mat { return w.Sub(0, 17, 0, 24) },
			func(p gemm.Mat) gemm.Mat { return p.Sub(0, 33, 0, 17) }},
		{"middle blocks, accumulate", false, false, 0.5, 1,
			func() gemm.Mat { return x.Sub(3, 20, 5, 16) }, func() gemm.Mat { return w.Sub(7, 18, 9, 30) },
			func(p gemm.Mat) gemm.Mat { return p.Sub(2, 19, 11, 32) }},
		{"weight gradient, dW += dyᵀ·x", true, false, 1, 1,
			func() gemm.Mat { return x.Sub(0, 33, 2, 19) }, func() gemm.Mat { return x.Sub(0, 33, 20, 44) },
			func(p gemm.Mat) gemm.Mat { return p.Sub(1, 18, 3, 27) }},
		{"both transposed", true, true, -2, 0.25,
			func() gemm.Mat { return w.Sub(4, 15, 1, 14) }, func() gemm.Mat { return x.Sub(9, 30, 0, 11) },
			func(p gemm.Mat) gemm.Mat { return p.Sub(5, 18, 20, 41) }},
		{"empty inner dimension scales C", false, false, 1, 0.5,
			func() gemm.Mat { return x.Sub(0, 6, 4, 4) }, func() gemm.Mat { return w.Sub(2, 2, 0, 7) },
			func(p gemm.Mat) gemm.Mat { return p.Sub(0, 6, 0, 7) }},
		{"empty inner dimension, beta 0", false, false, 1, 0,
			func() gemm.Mat { return x.Sub(0, 6, 4, 4) }, func() gemm.Mat { return w.Sub(2, 2, 0, 7) },
			func(p gemm.Mat) gemm.Mat { return p.Sub(3, 9, 8, 15) }},
		{"no rows", false, false, 1, 0,
			func() gemm.Mat { return x.Sub(5, 5, 0, 8) }, func() gemm.Mat { return w.Sub(0, 8, 0, 7) },
			func(p gemm.Mat) gemm.Mat { return p.Sub(4, 4, 0, 7) }},
	}
	for _, tc := range cases {
		parent := cloneMat(out)
		a, b, c := tc.a(), tc.b(), tc.c(parent)
		want := refMul(tc.transA, tc.transB, tc.alpha, a, b, tc.beta, c)
		before := cloneMat(parent)
		aBits, bBits := bits(a.Data), bits(b.Data)
		gemm.Mul(be, tc.transA, tc.transB, tc.alpha, a, b, tc.beta, c)
		if err := compareView(parent, before, c, want); err != "" {
			t.Errorf("%s Mul %s (transA=%v transB=%v alpha=%g beta=%g, a %dx%d/%d, b %dx%d/%d, c %dx%d/%d): %s",
				be.Name(), tc.name, tc.transA, tc.transB, tc.alpha, tc.beta,
				a.Rows, a.Cols, a.Stride, b.Rows, b.Cols, b.Stride, c.Rows, c.Cols, c.Stride, err)
		}
		if !sameBits(aBits, a.Data) || !sameBits(bBits, b.Data) {
			t.Errorf("%s Mul %s: an input changed", be.Name(), tc.name)
		}
	}
	t.Run("attention heads", func(t *testing.T) { testAttention(t, be, rng) })
}

// testAttention runs S = q_h·k_hᵀ·scale and O_h = S·v_h per head straight on a fused qkv buffer
// (tokens × 3·heads·dim), writing each head's result into its columns of O. Columns of heads
// not yet written must keep their NaN bits.
func testAttention(t *testing.T, be gemm.Backend, rng *rand.Rand) {
	const tokens, heads, dim = 197, 3, 64
	const width = heads * dim
	qkv := randMat(rng, tokens, 3*width)
	o := gemm.NewMat(tokens, width, make([]float32, tokens*width))
	for i := range o.Data {
		o.Data[i] = math.Float32frombits(padNaN)
	}
	s := gemm.NewMat(tokens, tokens, make([]float32, tokens*tokens))
	scale := float32(1 / math.Sqrt(dim))
	for h := range heads {
		q := qkv.Sub(0, tokens, h*dim, (h+1)*dim)
		k := qkv.Sub(0, tokens, width+h*dim, width+(h+1)*dim)
		v := qkv.Sub(0, tokens, 2*width+h*dim, 2*width+(h+1)*dim)
		wantS := refMul(false, true, scale, q, k, 0, s)
		gemm.Mul(be, false, true, scale, q, k, 0, s)
		if err := compareView(s, cloneMat(s), s, wantS); err != "" {
			t.Fatalf("%s head %d: S = q·kᵀ·%g: %s", be.Name(), h, scale, err)
		}
		oh := o.Sub(0, tokens, h*dim, (h+1)*dim)
		before := cloneMat(o)
		wantO := refMul(false, false, 1, s, v, 0, oh)
		gemm.Mul(be, false, false, 1, s, v, 0, oh)
		if err := compareView(o, before, oh, wantO); err != "" {
			t.Fatalf("%s head %d: O_h = S·v_h: %s", be.Name(), h, err)
		}
	}
}

// refMul returns alpha·op(a)·op(b) + beta·c in float64 with the magnitude sum of each element,
// reading c before any call changes it.
func refMul(transA, transB bool, alpha float32, a, b gemm.Mat, beta float32, c gemm.Mat) [][2]float64 {
	at := func(m gemm.Mat, tr bool, i, j int) float64 {
		if tr {
			return float64(m.At(j, i))
		}
		return float64(m.At(i, j))
	}
	k := a.Cols
	if transA {
		k = a.Rows
	}
	out := make([][2]float64, c.Rows*c.Cols)
	for i := range c.Rows {
		for j := range c.Cols {
			var sum, mag float64
			for l := range k {
				p := at(a, transA, i, l) * at(b, transB, l, j)
				sum += p
				mag += math.Abs(p)
			}
			want, wmag := float64(alpha)*sum, math.Abs(float64(alpha))*mag
			if beta != 0 {
				want += float64(beta) * float64(c.At(i, j))
				wmag += math.Abs(float64(beta) * float64(c.At(i, j)))
			}
			out[i*c.Cols+j] = [2]float64{want, wmag}
		}
	}
	return out
}

// compareView checks the view c of parent against want and that every other element of parent
// kept the bits it had in before. Views share parent's memory, located by pointer offset.
func compareView(parent, before, c gemm.Mat, want [][2]float64) string {
	inView := make(map[int]bool, c.Rows*c.Cols)
	base := 0
	if c.Rows > 0 && c.Cols > 0 {
		base = offsetIn(parent.Data, c.Data)
	}
	maxDiff, bad, first := 0.0, 0, ""
	for i := range c.Rows {
		for j := range c.Cols {
			inView[base+i*c.Stride+j] = true
			got := float64(c.At(i, j))
			w := want[i*c.Cols+j]
			diff := math.Abs(got - w[0])
			if math.IsNaN(got) {
				diff = math.Inf(1)
			}
			maxDiff = max(maxDiff, diff)
			if diff > AbsTol+RelTol*w[1] {
				if bad == 0 {
					first = fmt.Sprintf("C[%d,%d] = %g, want %g", i, j, got, w[0])
				}
				bad++
			}
		}
	}
	if bad > 0 {
		return fmt.Sprintf("%s; %d of %d wrong, max |diff| %.3g", first, bad, c.Rows*c.Cols, maxDiff)
	}
	for idx, v := range parent.Data {
		if !inView[idx] && math.Float32bits(v) != math.Float32bits(before.Data[idx]) {
			return fmt.Sprintf("element %d of the parent outside the view changed", idx)
		}
	}
	return ""
}

// offsetIn is the index in parent at which the sub-slice view starts.
func offsetIn(parent, view []float32) int {
	for i := range parent {
		if &parent[i] == &view[0] {
			return i
		}
	}
	panic("gemmtest: view is not inside its parent")
}

func randMat(rng *rand.Rand, rows, cols int) gemm.Mat {
	m := gemm.NewMat(rows, cols, make([]float32, rows*cols))
	for i := range m.Data {
		m.Data[i] = float32(rng.Float64()*2 - 1)
	}
	return m
}

func cloneMat(m gemm.Mat) gemm.Mat {
	return gemm.Mat{Rows: m.Rows, Cols: m.Cols, Stride: m.Stride, Data: append([]float32(nil), m.Data...)}
}

func bits(d []float32) []uint32 {
	out := make([]uint32, len(d))
	for i, v := range d {
		out[i] = math.Float32bits(v)
	}
	return out
}

func sameBits(b []uint32, d []float32) bool {
	for i, v := range d {
		if math.Float32bits(v) != b[i] {
			return false
		}
	}
	return true
}

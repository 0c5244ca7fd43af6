package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/resnas/resnas/internal/gemm"
)

// TestLinearGrad checks a sub-network Linear on the top-left block of a max-size weight: the
// gradient matches finite differences and lands only on the block; the padding is NaN so any
// read outside the block would poison the result.
func TestLinearGrad(t *testing.T) {
	e := testExec()
	rng := rand.New(rand.NewPCG(1, 2))
	const n, in, out, inMax, outMax = 70, 9, 5, 12, 8
	wData := randSlice(rng, outMax*inMax, 0.5)
	for i := range wData {
		if i/inMax >= out || i%inMax >= in {
			wData[i] = float32(math.NaN())
		}
	}
	W := gemm.NewMat(outMax, inMax, wData).Sub(0, out, 0, in)
	b := append(randSlice(rng, out, 0.5), float32(math.NaN()))
	x := gemm.NewMat(n, in, randSlice(rng, n*in, 1))
	y := gemm.NewMat(n, out, zeros(n*out))
	r := randSlice(rng, n*out, 1)
	loss := func() float64 { LinearForward(e, y, x, W, b[:out]); return probe(y, r) }
	loss()
	dx := gemm.NewMat(n, in, zeros(n*in))
	dwData := zeros(outMax * inMax)
	dW := gemm.NewMat(outMax, inMax, dwData).Sub(0, out, 0, in)
	db := zeros(out + 1)
	LinearBackward(e, dx, dW, db[:out], denseGrad(y, r), x, W)
	checkGrad(t, "dx", x.Data, dx.Data, nil, loss)
	checkGrad(t, "dW", wData, dwData, subIndices(out, in, inMax), loss)
	checkGrad(t, "db", b, db, []int{0, 1, 2, 3, 4}, loss)
	outsideUntouched(t, "dW", dwData, out, in, inMax, 0)
	if db[out] != 0 {
		t.Fatalf("db beyond the sub-network changed")
	}
	// Backward adds: a second call doubles every gradient.
	before := append([]float32(nil), dwData...)
	LinearBackward(e, dx, dW, db[:out], denseGrad(y, r), x, W)
	for i := range before {
		if d := dwData[i] - 2*before[i]; math.Abs(float64(d)) > 1e-5*math.Abs(float64(before[i]))+1e-6 {
			t.Fatalf("dW[%d] = %g after two backward calls, want %g", i, dwData[i], 2*before[i])
		}
	}
}

// TestExecMulSplitsLikeWhole checks that the row split of Exec.Mul gives the same result as one
// GEMM, in all transpose combinations, on strided views.
func TestExecMulSplitsLikeWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	one := &Exec{Gemm: testExec().Gemm, Workers: 1}
	two := testExec()
	for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
		for _, shape := range [][3]int{{300, 70, 40}, {40, 300, 600}} { // split by rows, by columns
			m, n, k := shape[0], shape[1], shape[2]
			ar, ac := m, k
			if tr[0] {
				ar, ac = k, m
			}
			br, bc := k, n
			if tr[1] {
				br, bc = n, k
			}
			a := gemm.NewMat(ar+1, ac+3, randSlice(rng, (ar+1)*(ac+3), 1)).Sub(1, ar+1, 2, ac+2)
			b := gemm.NewMat(br, bc+2, randSlice(rng, br*(bc+2), 1)).Sub(0, br, 0, bc)
			c0 := randSlice(rng, m*n, 1)
			c1 := gemm.NewMat(m, n, append([]float32(nil), c0...))
			c2 := gemm.NewMat(m, n, append([]float32(nil), c0...))
			one.Mul(tr[0], tr[1], 0.5, a, b, 1, c1)
			two.Mul(tr[0], tr[1], 0.5, a, b, 1, c2)
			for i := range c1.Data {
				if d := math.Abs(float64(c1.Data[i] - c2.Data[i])); d > 1e-4 {
					t.Fatalf("trans %v shape %v: element %d differs by %g", tr, shape, i, d)
				}
			}
		}
	}
}

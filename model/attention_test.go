package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/gemm/gonum"
	"github.com/resnas/resnas/internal/gemm/openblas"
)

// naiveAttention is the reference for attention, written as plainly as possible: triple loops
// in float64 over the same qkv layout (sections q | k | v, heads inside each), no GEMM and no
// shared scratch. It returns images·tok rows of hd values, densely.
func naiveAttention(qkv gemm.Mat, tok, heads, d int) []float64 {
	hd := heads * d
	out := make([]float64, qkv.Rows*hd)
	scale := 1 / math.Sqrt(float64(d))
	p := make([]float64, tok)
	for i := 0; i < qkv.Rows/tok; i++ {
		for h := 0; h < heads; h++ {
			for r := 0; r < tok; r++ {
				q := qkv.Row(i*tok + r)[h*d:]
				mx := math.Inf(-1)
				for c := 0; c < tok; c++ {
					k := qkv.Row(i*tok + c)[hd+h*d:]
					s := 0.0
					for j := 0; j < d; j++ {
						s += float64(q[j]) * float64(k[j])
					}
					p[c] = s * scale
					mx = max(mx, p[c])
				}
				sum := 0.0
				for c := range p {
					p[c] = math.Exp(p[c] - mx)
					sum += p[c]
				}
				o := out[(i*tok+r)*hd+h*d:]
				for j := 0; j < d; j++ {
					acc := 0.0
					for c := 0; c < tok; c++ {
						acc += p[c] / sum * float64(qkv.Row(i*tok + c)[2*hd+h*d+j])
					}
					o[j] = acc
				}
			}
		}
	}
	return out
}

func TestAttentionMatchesNaive(t *testing.T) {
	backends := map[string]gemm.Backend{"gonum": gonum.New()}
	if ob, err := openblas.Open(); err == nil {
		backends["openblas"] = ob
	}
	cases := []struct {
		images, tok, heads, d int
		// pad > 0 makes qkv and out strided views: pad extra columns on each side of the
		// data, so neither starts at column 0 nor has Stride == Cols.
		pad int
	}{
		{1, 1, 1, 1, 0},   // a lone class token: softmax of one score is 1
		{1, 5, 1, 8, 0},   // tok not a multiple of 4
		{2, 17, 3, 16, 0}, // 1 + 4² tokens, heads > 1, two images
		{3, 10, 2, 7, 3},  // strided qkv and out, odd head dim
		{2, 50, 4, 32, 5}, // 1 + 7² tokens, strided, several heads
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for name, be := range backends {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/b%d_tok%d_h%d_d%d_pad%d", name, tc.images, tc.tok, tc.heads, tc.d, tc.pad), func(t *testing.T) {
				rows, hd := tc.images*tc.tok, tc.heads*tc.d
				qkvAll := gemm.NewMat(rows, 3*hd+2*tc.pad, make([]float32, rows*(3*hd+2*tc.pad)))
				for i := range qkvAll.Data {
					qkvAll.Data[i] = float32(rng.NormFloat64())
				}
				qkv := qkvAll.Sub(0, rows, tc.pad, tc.pad+3*hd)
				outAll := gemm.NewMat(rows, hd+2*tc.pad, make([]float32, rows*(hd+2*tc.pad)))
				const sentinel = -12345
				for i := range outAll.Data {
					outAll.Data[i] = sentinel
				}
				out := outAll.Sub(0, rows, tc.pad, tc.pad+hd)
				scratch := make([]float32, tc.tok*tc.tok)

				attention(be, out, qkv, scratch, tc.tok, tc.heads, tc.d)

				want := naiveAttention(qkv, tc.tok, tc.heads, tc.d)
				worst, wr, wc := 0.0, 0, 0
				bad := false
				for r := 0; r < rows; r++ {
					for c := 0; c < hd; c++ {
						got, w := float64(out.At(r, c)), want[r*hd+c]
						diff := math.Abs(got - w)
						if diff > worst || math.IsNaN(diff) {
							worst, wr, wc = diff, r, c
						}
						if !(diff <= 1e-5+1e-5*math.Abs(w)) {
							bad = true
						}
					}
				}
				if bad {
					t.Errorf("attention differs from the naive reference: max abs diff %.3g at row %d col %d (got %v, want %v; tolerance 1e-5 abs + 1e-5 rel)",
						worst, wr, wc, out.At(wr, wc), want[wr*hd+wc])
				}
				// The padding around the strided out view must be untouched.
				for r := 0; r < rows; r++ {
					row := outAll.Row(r)
					for c := 0; c < tc.pad; c++ {
						if row[c] != sentinel || row[tc.pad+hd+c] != sentinel {
							t.Fatalf("attention wrote outside its out view in row %d", r)
						}
					}
				}
			})
		}
	}
}

// TestAttentionAllocatesNothing keeps steady-state forwards allocation-free: attention works
// in the caller's scratch. The shapes are small enough that gonum's GEMM runs serially and
// allocates nothing either, so any allocation counted here is attention's own.
func TestAttentionAllocatesNothing(t *testing.T) {
	const tok, heads, d = 17, 3, 16
	hd := heads * d
	qkv := gemm.NewMat(2*tok, 3*hd, make([]float32, 2*tok*3*hd))
	out := gemm.NewMat(2*tok, hd, make([]float32, 2*tok*hd))
	scratch := make([]float32, tok*tok)
	be := gonum.New()
	if n := testing.AllocsPerRun(10, func() { attention(be, out, qkv, scratch, tok, heads, d) }); n != 0 {
		t.Errorf("attention allocates %v times per call, want 0", n)
	}
}

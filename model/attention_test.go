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
	kernels := map[string]func(out, qkv gemm.Mat, scratch []float32, tok, heads, d int){
		// attentionSmall needs no backend; it runs under the "small" name.
		"small": func(out, qkv gemm.Mat, scratch []float32, tok, heads, d int) {
			attentionSmall(out, qkv, scratch, tok, heads, d)
		},
	}
	for name, be := range backends {
		kernels[name] = func(out, qkv gemm.Mat, scratch []float32, tok, heads, d int) {
			attention(be, out, qkv, scratch, tok, heads, d)
		}
	}
	for name, run := range kernels {
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
				scratch := make([]float32, max(tc.tok*tc.tok, smallAttnScratch(tc.tok, tc.d)))

				run(out, qkv, scratch, tc.tok, tc.heads, tc.d)

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
	scratch := make([]float32, max(tok*tok, smallAttnScratch(tok, d)))
	be := gonum.New()
	if n := testing.AllocsPerRun(10, func() { attention(be, out, qkv, scratch, tok, heads, d) }); n != 0 {
		t.Errorf("attention allocates %v times per call, want 0", n)
	}
	if n := testing.AllocsPerRun(10, func() { attentionSmall(out, qkv, scratch, tok, heads, d) }); n != 0 {
		t.Errorf("attentionSmall allocates %v times per call, want 0", n)
	}
}

// smallAttnShapes are the 32-px networks' attention shapes (fmnist-wide: 65 tokens × 6 heads
// of 8, 17 × 5 of 16, 5 × 12 of 16; fmnist: 4 heads of 32) and the largest allowed head dim.
var smallAttnShapes = []struct{ tok, heads, d int }{
	{65, 6, 8}, {17, 5, 16}, {5, 12, 16}, {5, 4, 32}, {65, 3, 16}, {50, 2, 32},
}

// TestAttentionSmallMatchesGEMM compares the loop kernel with the GEMM path it replaces, on
// every backend, at the shapes it is used for: within 1e-5 abs + 1e-5 rel.
func TestAttentionSmallMatchesGEMM(t *testing.T) {
	backends := map[string]gemm.Backend{"gonum": gonum.New()}
	if ob, err := openblas.Open(); err == nil {
		backends["openblas"] = ob
	}
	rng := rand.New(rand.NewPCG(8, 8))
	for name, be := range backends {
		for _, sh := range smallAttnShapes {
			if !useSmallAttention(sh.tok, sh.d) {
				t.Fatalf("tok %d, head dim %d: not routed to attentionSmall", sh.tok, sh.d)
			}
			const images = 3
			rows, hd := images*sh.tok, sh.heads*sh.d
			qkv := gemm.NewMat(rows, 3*hd, make([]float32, rows*3*hd))
			for i := range qkv.Data {
				qkv.Data[i] = float32(rng.NormFloat64() * 2)
			}
			want := gemm.NewMat(rows, hd, make([]float32, rows*hd))
			got := gemm.NewMat(rows, hd, make([]float32, rows*hd))
			scratch := make([]float32, max(sh.tok*sh.tok, smallAttnScratch(sh.tok, sh.d)))
			attention(be, want, qkv, scratch, sh.tok, sh.heads, sh.d)
			attentionSmall(got, qkv, scratch, sh.tok, sh.heads, sh.d)
			worst, at := 0.0, 0
			for i := range got.Data {
				g, w := float64(got.Data[i]), float64(want.Data[i])
				if d := math.Abs(g - w); d > worst || math.IsNaN(d) {
					worst, at = d, i
				}
				if !(math.Abs(g-w) <= 1e-5+1e-5*math.Abs(w)) {
					t.Fatalf("%s tok %d heads %d d %d: element %d = %v, GEMM path %v (tolerance 1e-5 abs + 1e-5 rel)", name, sh.tok, sh.heads, sh.d, i, g, w)
				}
			}
			t.Logf("%s tok %d heads %d d %d: max abs diff %.3g at %d", name, sh.tok, sh.heads, sh.d, worst, at)
		}
	}
}

// BenchmarkAttention times both kernels on a worker's chunk of 128 images at the 32-px shapes.
func BenchmarkAttention(b *testing.B) {
	bes := benchBackends(b)
	const images = 128
	for _, sh := range smallAttnShapes[:3] {
		rows, hd := images*sh.tok, sh.heads*sh.d
		qkv := gemm.NewMat(rows, 3*hd, make([]float32, rows*3*hd))
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range qkv.Data {
			qkv.Data[i] = float32(rng.NormFloat64())
		}
		out := gemm.NewMat(rows, hd, make([]float32, rows*hd))
		scratch := make([]float32, max(sh.tok*sh.tok, smallAttnScratch(sh.tok, sh.d)))
		shape := fmt.Sprintf("tok%d_h%d_d%d", sh.tok, sh.heads, sh.d)
		b.Run("small/"+shape, func(b *testing.B) {
			for b.Loop() {
				attentionSmall(out, qkv, scratch, sh.tok, sh.heads, sh.d)
			}
		})
		for name, be := range bes {
			if t, ok := be.(gemm.Threaded); ok {
				t.SetThreads(1)
			}
			b.Run(name+"/"+shape, func(b *testing.B) {
				for b.Loop() {
					attention(be, out, qkv, scratch, sh.tok, sh.heads, sh.d)
				}
			})
		}
	}
}

package vecmath

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAttentionD8 checks the fused kernel against the MatMul → SoftmaxCols → MatMulTN
// sequence it replaces (bit for bit) and against float64 attention, for token counts around
// the 16-query blocks (65: a 32-px image's stage 1), q, k, v strided as in a qkv matrix, and
// no write outside o's 8 columns of its tok rows.
func TestAttentionD8(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, tok := range []int{1, 5, 15, 16, 17, 33, 65} {
		const ldqkv, ldo = 3 * 8 * 2, 8*2 + 3 // two heads' q, k, v sections; o rows padded
		qkv := randNormal(rng, tok*ldqkv)
		for i := range qkv {
			qkv[i] *= 2
		}
		q, k, v := qkv[8:], qkv[16+8:], qkv[32+8:] // head 1
		const scale = 0.3535534
		qkv0 := slices.Clone(qkv)
		run := func(asm bool) []float32 {
			o := sentinels(tok * ldo)
			attentionD8(o[5:], ldo, q, ldqkv, k, v, ldqkv, tok, scale, make([]float32, 16*tok+256), asm)
			if !slices.Equal(qkv, qkv0) {
				t.Fatalf("tok %d: qkv changed", tok)
			}
			for i, x := range o {
				if inside := i >= 5 && (i-5)%ldo < 8 && (i-5)/ldo < tok; !inside && math.Float32bits(x) != math.Float32bits(sentinel) {
					t.Fatalf("tok %d: wrote outside o at %d", tok, i)
				}
			}
			return o[5:]
		}
		ref := run(false)
		for l := range tok {
			var sc []float64
			mx := math.Inf(-1)
			for j := range tok {
				var d float64
				for c := range 8 {
					d += float64(q[l*ldqkv+c]) * float64(k[j*ldqkv+c])
				}
				sc = append(sc, d*scale)
				mx = max(mx, d*scale)
			}
			var sum float64
			for j := range sc {
				sc[j] = math.Exp(sc[j] - mx)
				sum += sc[j]
			}
			for c := range 8 {
				var want float64
				for j := range tok {
					want += sc[j] / sum * float64(v[j*ldqkv+c])
				}
				if d := math.Abs(float64(ref[l*ldo+c]) - want); d > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("tok %d: query %d dim %d = %v, float64 %v", tok, l, c, ref[l*ldo+c], want)
				}
			}
		}
		if !useAVX512 {
			continue
		}
		got := run(true)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
				t.Fatalf("tok %d: fused kernel element %d = %v, sequence %v", tok, i, got[i], ref[i])
			}
		}
	}
}

func BenchmarkAttentionD8(b *testing.B) {
	const tok, ld = 65, 144
	rng := rand.New(rand.NewPCG(1, 2))
	qkv, o, s := randNormal(rng, tok*ld), make([]float32, tok*48), make([]float32, 16*tok+256)
	for _, asm := range packedPaths(b) {
		b.Run(packedName(asm), func(b *testing.B) {
			for b.Loop() {
				attentionD8(o, 48, qkv, ld, qkv[48:], qkv[96:], ld, tok, 0.35, s, asm)
			}
		})
	}
}

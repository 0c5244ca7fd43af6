package vecmath

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAttentionD8 checks the fused kernel against the MatMul → SoftmaxCols → MatMulTN
// sequence it replaces (bit for bit) and against float64 attention, for token counts around
// the 16-query blocks (65: a 32-px image's stage 1), strided k and v, and no write past the
// tok query columns' blocks.
func TestAttentionD8(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, tok := range []int{1, 5, 15, 16, 17, 33, 65} {
		ld := (tok + 15) &^ 15
		const ldkv = 3 * 8 * 2 // the k and v sections of a 2-head qkv row
		q := randNormal(rng, tok*8)
		kv := randNormal(rng, tok*ldkv)
		k, v := kv[3:], kv[19:]
		for i := range kv {
			kv[i] *= 2
		}
		qt := make([]float32, 8*ld)
		for l := range tok {
			for c := range 8 {
				qt[c*ld+l] = q[l*8+c]
			}
		}
		const scale = 0.3535534
		qt0, kv0 := slices.Clone(qt), slices.Clone(kv)
		ref := sentinels(8 * ld)
		attentionD8(ref, qt, ld, k, v, ldkv, tok, scale, make([]float32, 16*tok), false)
		for l := range tok {
			var sc []float64
			mx := math.Inf(-1)
			for j := range tok {
				var d float64
				for c := range 8 {
					d += float64(q[l*8+c]) * float64(k[j*ldkv+c])
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
					want += sc[j] / sum * float64(v[j*ldkv+c])
				}
				if d := math.Abs(float64(ref[c*ld+l]) - want); d > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("tok %d: query %d dim %d = %v, float64 %v", tok, l, c, ref[c*ld+l], want)
				}
			}
		}
		if !useAVX512 {
			continue
		}
		got := sentinels(8 * ld)
		attentionD8(got, qt, ld, k, v, ldkv, tok, scale, make([]float32, 16*tok), true)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(ref[i]) && i%ld < tok {
				t.Fatalf("tok %d: fused kernel element %d (dim %d, query %d) = %v, sequence %v", tok, i, i/ld, i%ld, got[i], ref[i])
			}
		}
		if !slices.Equal(qt, qt0) || !slices.Equal(kv, kv0) {
			t.Fatalf("tok %d: an input changed", tok)
		}
	}
}

func BenchmarkAttentionD8(b *testing.B) {
	const tok, ldkv = 65, 144
	ld := (tok + 15) &^ 15
	rng := rand.New(rand.NewPCG(1, 2))
	qt, kv := randNormal(rng, 8*ld), randNormal(rng, tok*ldkv)
	ot, s := make([]float32, 8*ld), make([]float32, 16*tok)
	for _, asm := range packedPaths(b) {
		b.Run(packedName(asm), func(b *testing.B) {
			for b.Loop() {
				attentionD8(ot, qt, ld, kv, kv[48:], ldkv, tok, 0.35, s, asm)
			}
		})
	}
}

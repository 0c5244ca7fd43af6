package vecmath

import "math"

// AttentionD8Fast says whether AttentionD8 runs fused in assembly on this machine and build
// (AVX-512); elsewhere it is the sequence of MatMul, SoftmaxCols and MatMulTN it stands for.
func AttentionD8Fast() bool { return useAVX512 }

// AttentionD8 runs one attention head of head dimension 8 over tok tokens: query, key and
// value j are the 8 floats at q[j·ldq:], k[j·ldkv:] and v[j·ldkv:], and o[l·ldo:] receives
// the 8 floats Σj P[j][l]·v[j], P[·][l] being the softmax over keys j of scale·(k[j]·q_l).
// Sixteen queries per call of the fused kernel — gathered into the lanes of eight vectors,
// their scores (tok × 16, in s) never leaving L1, their outputs scattered back — instead of
// a transposed copy of q, a scores matrix, its softmax, a second product and a transposed
// copy of o. Each element sees the operations of MatMul, SoftmaxCols and MatMulTN in the same
// order, so the results are the same bits. s holds at least 16·tok + 256 floats.
func AttentionD8(o []float32, ldo int, q []float32, ldq int, k, v []float32, ldkv, tok int, scale float32, s []float32) {
	attentionD8(o, ldo, q, ldq, k, v, ldkv, tok, scale, s, useAVX512)
}

func attentionD8(o []float32, ldo int, q []float32, ldq int, k, v []float32, ldkv, tok int, scale float32, s []float32, asm bool) {
	if tok <= 0 {
		return
	}
	if ldo < 8 || ldq < 8 || ldkv < 8 || 16*max(ldo, ldq) > math.MaxInt32 {
		panic("vecmath: AttentionD8: bad leading dimension")
	}
	for _, m := range []struct {
		x  []float32
		ld int
	}{{o, ldo}, {q, ldq}, {k, ldkv}, {v, ldkv}} {
		checkLen(len(m.x), (tok-1)*m.ld+8, "vecmath: AttentionD8: operand too short")
	}
	checkLen(len(s), 16*tok+256, "vecmath: AttentionD8: scratch too short")
	if !(scale > 0) {
		panic("vecmath: AttentionD8: scale must be positive")
	}
	var idx [32]int32
	for l := range 16 {
		idx[l], idx[16+l] = int32(l*ldq), int32(l*ldo)
	}
	for qb := 0; qb < tok; qb += 16 {
		nq := min(16, tok-qb)
		if asm {
			attnD8AVX512(&o[qb*ldo], &q[qb*ldq], &idx, nq, &k[0], &v[0], ldkv, tok, &s[0], scale)
			continue
		}
		// qᵀ of the block (8 × 16, zero past nq), the three steps, oᵀ back into rows.
		qt, ot, st := s[:128], s[128:256], s[256:256+16*tok]
		clear(qt)
		for l := range nq {
			for c := range 8 {
				qt[c*16+l] = q[(qb+l)*ldq+c]
			}
		}
		MatMul(st, 16, k, ldkv, qt, 16, tok, 16, 8)
		SoftmaxCols(st, tok, 16, 16, scale)
		MatMulTN(ot, 16, v, ldkv, st, 16, 8, 16, tok)
		for l := range nq {
			for c := range 8 {
				o[(qb+l)*ldo+c] = ot[c*16+l]
			}
		}
	}
}

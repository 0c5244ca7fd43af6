package vecmath

// AttentionD8Fast says whether AttentionD8 runs fused in assembly on this machine and build
// (AVX-512); elsewhere it is the sequence of MatMul, SoftmaxCols and MatMulTN it stands for.
func AttentionD8Fast() bool { return useAVX512 }

// AttentionD8 runs one attention head of head dimension 8 over tok tokens with the queries
// transposed: qt is 8 × ld (row c holds dimension c of every query; columns past tok zero;
// ld a multiple of 16, at least tok), k and v are tok rows of 8 floats at stride ldkv, and
// ot (8 × ld) receives, for every query column l, Σj P[j][l]·v[j] with P the softmax over
// keys j of scale·(k[j]·q_l). Sixteen queries per call of the fused kernel, whose scores
// (tok × 16, in s: at least 16·tok floats) never leave L1, instead of a scores matrix, its
// softmax and a second product in three passes. Each element sees the same operations in
// the same order as MatMul, SoftmaxCols and MatMulTN in sequence, so the results are the
// same bits.
func AttentionD8(ot, qt []float32, ld int, k, v []float32, ldkv, tok int, scale float32, s []float32) {
	attentionD8(ot, qt, ld, k, v, ldkv, tok, scale, s, useAVX512)
}

func attentionD8(ot, qt []float32, ld int, k, v []float32, ldkv, tok int, scale float32, s []float32, asm bool) {
	if tok <= 0 {
		return
	}
	if ld%16 != 0 || ld < tok || ldkv < 8 {
		panic("vecmath: AttentionD8: bad leading dimension")
	}
	checkLen(len(qt), 8*ld, "vecmath: AttentionD8: qt too short")
	checkLen(len(ot), 8*ld, "vecmath: AttentionD8: ot too short")
	checkLen(len(k), (tok-1)*ldkv+8, "vecmath: AttentionD8: k too short")
	checkLen(len(v), (tok-1)*ldkv+8, "vecmath: AttentionD8: v too short")
	checkLen(len(s), 16*tok, "vecmath: AttentionD8: s too short")
	if !(scale > 0) {
		panic("vecmath: AttentionD8: scale must be positive")
	}
	for qb := 0; qb < tok; qb += 16 {
		if asm {
			attnD8AVX512(&ot[qb], &qt[qb], ld, &k[0], &v[0], ldkv, tok, &s[0], scale)
			continue
		}
		MatMul(s, 16, k, ldkv, qt[qb:], ld, tok, 16, 8)
		SoftmaxCols(s, tok, 16, 16, scale)
		MatMulTN(ot[qb:], ld, v, ldkv, s, 16, 8, 16, tok)
	}
}

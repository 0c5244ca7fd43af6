package jpeg

// block is an 8×8 block of DCT coefficients in natural (row-major) order, dequantized.
type block [blockSize]int32

const blockSize = 8 * 8

// libjpeg's jidctint.c constants: FIX(x) = round(x · 2¹³).
const (
	constBits = 13
	pass1Bits = 2

	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

// descale is libjpeg's DESCALE: x / 2ⁿ rounded half up, by an arithmetic shift.
func descale(x int64, n uint) int64 { return (x + 1<<(n-1)) >> n }

// rangeLimit is libjpeg's post-IDCT range limit (jdmaster.c prepare_range_limit_table,
// indexed after adding nothing and masking with RANGE_MASK = 1023): x + 128 clamped to
// [0, 255] for x in [−512, 511], wrapping beyond as libjpeg's table does.
func rangeLimit(x int64) uint8 {
	i := int(x) & 1023
	switch {
	case i < 128:
		return uint8(i + 128)
	case i < 512:
		return 255
	case i < 1024-128:
		return 0
	}
	return uint8(i - (1024 - 128))
}

// idct1D is the Loeffler–Ligtenberg–Moschytz butterfly shared by both passes of
// jpeg_idct_islow: it returns the eight outputs before descaling, scaled by 2^constBits.
func idct1D(s0, s1, s2, s3, s4, s5, s6, s7 int64) (o [8]int64) {
	// Even part.
	z1 := (s2 + s6) * fix0_541196100
	tmp2 := z1 + s6*-fix1_847759065
	tmp3 := z1 + s2*fix0_765366865
	tmp0 := (s0 + s4) << constBits
	tmp1 := (s0 - s4) << constBits
	tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
	tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

	// Odd part.
	t0, t1, t2, t3 := s7, s5, s3, s1
	z1 = t0 + t3
	z2 := t1 + t2
	z3 := t0 + t2
	z4 := t1 + t3
	z5 := (z3 + z4) * fix1_175875602
	t0 *= fix0_298631336
	t1 *= fix2_053119869
	t2 *= fix3_072711026
	t3 *= fix1_501321110
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	z3 = z3*-fix1_961570560 + z5
	z4 = z4*-fix0_390180644 + z5
	t0 += z1 + z3
	t1 += z2 + z4
	t2 += z2 + z3
	t3 += z1 + z4

	return [8]int64{tmp10 + t3, tmp11 + t2, tmp12 + t1, tmp13 + t0, tmp13 - t0, tmp12 - t1, tmp11 - t2, tmp10 - t3}
}

// idctIslow is libjpeg's jpeg_idct_islow on dequantized coefficients b: columns first into
// a workspace scaled by 2^pass1Bits, then rows, level-shifted and range-limited into dst
// (8 rows of stride bytes). The all-zero-AC shortcuts of libjpeg give the same values as
// the full butterflies, so they are taken here too only for speed.
func idctIslow(b *block, dst []byte, stride int) {
	var ws [blockSize]int64
	for x := 0; x < 8; x++ {
		if b[8+x] == 0 && b[16+x] == 0 && b[24+x] == 0 && b[32+x] == 0 &&
			b[40+x] == 0 && b[48+x] == 0 && b[56+x] == 0 {
			dc := int64(b[x]) << pass1Bits
			for y := 0; y < 8; y++ {
				ws[8*y+x] = dc
			}
			continue
		}
		o := idct1D(int64(b[x]), int64(b[8+x]), int64(b[16+x]), int64(b[24+x]),
			int64(b[32+x]), int64(b[40+x]), int64(b[48+x]), int64(b[56+x]))
		for y := 0; y < 8; y++ {
			ws[8*y+x] = int64(int32(descale(o[y], constBits-pass1Bits))) // libjpeg's int workspace
		}
	}
	for y := 0; y < 8; y++ {
		w := ws[8*y : 8*y+8]
		row := dst[y*stride : y*stride+8]
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
			v := rangeLimit(descale(w[0], pass1Bits+3))
			for x := range row {
				row[x] = v
			}
			continue
		}
		o := idct1D(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7])
		for x := range row {
			row[x] = rangeLimit(descale(o[x], constBits+pass1Bits+3))
		}
	}
}

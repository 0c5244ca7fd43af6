package model

import "math"

// IEEE 754 binary16 storage of weights: Tensor.ToHalf at load time, float32 copies of the
// blocks a sub-network uses when its views are built.

// MaxHalf is the largest finite float16.
const MaxHalf = 65504

// HalfToFloat32 widens a float16 exactly.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0x1f: // inf, NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0: // zero, subnormal: mant × 2⁻²⁴
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// Float32ToHalf rounds to the nearest float16, ties to even; beyond ±65504 it gives ±inf.
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 // quiet NaN
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // float16 biased exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	var h uint32
	var rem, half uint32
	if e <= 0 {
		// Subnormal result: mant × 2⁻²⁴ where mant = full >> (14-e).
		shift := uint(14 - e)
		if shift > 24 {
			return sign // below half the smallest subnormal
		}
		full := mant | 0x800000
		h = full >> shift
		rem = full & (1<<shift - 1)
		half = 1 << (shift - 1)
	} else {
		h = uint32(e)<<10 | mant>>13
		rem = mant & 0x1fff
		half = 0x1000
	}
	if rem > half || (rem == half && h&1 == 1) {
		h++ // a carry into the exponent is the right result, up to inf
	}
	return sign | uint16(h)
}

// FitsHalf reports whether every value survives float16 storage without overflowing.
func FitsHalf(data []float32) bool {
	for _, v := range data {
		if v > MaxHalf || v < -MaxHalf {
			if !math.IsInf(float64(v), 0) {
				return false
			}
		}
	}
	return true
}

// ToHalf returns t in float16, rounded to nearest, or t itself when it is float16 already or
// holds a finite value beyond ±65504 (which would overflow: such a tensor stays float32).
func (t Tensor) ToHalf() Tensor {
	if t.IsHalf() || !FitsHalf(t.Data) {
		return t
	}
	h := make([]uint16, len(t.Data))
	for i, v := range t.Data {
		h[i] = Float32ToHalf(v)
	}
	return Tensor{Shape: t.Shape, Half: h}
}

// Float32 returns t in float32: t itself, or a float32 copy of a float16 tensor.
func (t Tensor) Float32() Tensor {
	if !t.IsHalf() {
		return t
	}
	d := make([]float32, len(t.Half))
	halfRun(d, t.Half)
	return Tensor{Shape: t.Shape, Data: d}
}

// MemBytes is what w's values take in memory: float16 tensors 2 bytes a value, others 4.
func (w Weights) MemBytes() (half, full int) {
	for _, t := range w {
		if t.IsHalf() {
			half += 2 * len(t.Half)
		} else {
			full += 4 * len(t.Data)
		}
	}
	return half, full
}

func halfRun(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, h := range src {
		dst[i] = HalfToFloat32(h)
	}
}

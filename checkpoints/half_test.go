package checkpoints

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/resnas/resnas/model"
)

// Every float16 widens and narrows back to itself.
func TestHalfRoundTripIsExact(t *testing.T) {
	for h := range 1 << 16 {
		f := model.HalfToFloat32(uint16(h))
		if math.IsNaN(float64(f)) {
			if back := model.Float32ToHalf(f); back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("NaN %#04x came back as %#04x", h, back)
			}
			continue
		}
		if back := model.Float32ToHalf(f); back != uint16(h) {
			t.Fatalf("%#04x → %v → %#04x", h, f, back)
		}
	}
}

// model.Float32ToHalf agrees with a brute-force nearest-even search over all finite float16s.
func TestHalfRoundingMatchesNearestEven(t *testing.T) {
	var halves []float64 // finite non-negative float16 values, ascending with their encodings
	var codes []uint16
	for h := uint16(0); h < 0x7c00; h++ {
		halves = append(halves, float64(model.HalfToFloat32(h)))
		codes = append(codes, h)
	}
	oracle := func(f float32) uint16 {
		x := math.Abs(float64(f))
		var sign uint16
		if math.Signbit(float64(f)) {
			sign = 0x8000
		}
		// Beyond the largest half plus half an ulp (2⁴) rounds to infinity.
		if x >= model.MaxHalf+16 {
			return sign | 0x7c00
		}
		i := sort.SearchFloat64s(halves, x)
		if i == len(halves) {
			return sign | codes[len(codes)-1]
		}
		if halves[i] == x || i == 0 {
			return sign | codes[i]
		}
		lo, hi := halves[i-1], halves[i]
		switch {
		case x-lo < hi-x:
			return sign | codes[i-1]
		case x-lo > hi-x:
			return sign | codes[i]
		case codes[i-1]&1 == 0:
			return sign | codes[i-1]
		}
		return sign | codes[i]
	}
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := []float32{0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e6, 5.96e-8, 2.98e-8, 2.9802322e-08,
		2.9802326e-08, 1e-10, float32(math.Inf(1)), float32(math.Inf(-1)), 6.1035156e-05, 6.1e-05, 0.1, 1.0009766}
	for range 200000 {
		// Exponents spanning subnormal halves to overflow.
		e := rng.IntN(50) - 30
		inputs = append(inputs, float32(math.Ldexp(rng.Float64()*2-1, e)))
		inputs = append(inputs, math.Float32frombits(rng.Uint32()&0x7fffffff))
	}
	for _, f := range inputs {
		if math.IsNaN(float64(f)) {
			continue
		}
		if got, want := model.Float32ToHalf(f), oracle(f); got != want {
			t.Fatalf("model.Float32ToHalf(%g) = %#04x, nearest-even %#04x", f, got, want)
		}
	}
}

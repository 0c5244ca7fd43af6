package evolution

import (
	"math/bits"
	"math/rand/v2"
)

// rngStream is the second PCG seed word; any fixed value works, it only has to never change.
const rngStream = 0x7265736e61732d65 // "resnas-e"

// rng draws the search's random numbers with fixed algorithms on top of a rand.Source, so one
// seed gives the same search, and the same journal replay, on every Go version: math/rand/v2
// does not promise that the output of its Rand methods stays the same across releases.
type rng struct{ src rand.Source }

func newRNG(seed uint64) rng { return rng{rand.NewPCG(seed, rngStream)} }

// float64 is uniform in [0, 1) with 53 random bits.
func (r rng) float64() float64 { return float64(r.src.Uint64()>>11) / (1 << 53) }

// intn is uniform in [0, n), by Lemire's multiply-and-reject method (no modulo bias).
func (r rng) intn(n int) int {
	if n <= 0 {
		panic("evolution: intn of a non-positive bound")
	}
	bound := uint64(n)
	hi, lo := bits.Mul64(r.src.Uint64(), bound)
	if lo < bound {
		threshold := -bound % bound
		for lo < threshold {
			hi, lo = bits.Mul64(r.src.Uint64(), bound)
		}
	}
	return int(hi)
}

// chance reports true with probability p: never for p ≤ 0, always for p ≥ 1. It always
// consumes one draw, so the stream does not depend on p.
func (r rng) chance(p float64) bool { return r.float64() < p }

// pick returns a uniformly chosen element of choices.
func (r rng) pick(choices []int) int { return choices[r.intn(len(choices))] }

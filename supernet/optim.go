package supernet

import (
	"math"

	"github.com/resnas/resnas/internal/nn"
)

// AdamW is PyTorch's AdamW (decoupled weight decay) as timm configures it for the reference:
// betas (0.9, 0.999), eps 1e-8, weight decay only on tensors of rank ≥ 2 other than tokens.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
}

// step applies one update at learning rate lr; t is the 1-based step count for the bias
// corrections. Every trainable tensor is updated, also parts a step's sub-networks did not
// use: their zero gradients still decay the moments and move the weights, as in the
// reference, where masked channels get zero (not absent) gradients.
func (o AdamW) step(e *nn.Exec, params []*param, lr float64, t int) {
	bc1 := 1 - math.Pow(o.Beta1, float64(t))
	bc2 := 1 - math.Pow(o.Beta2, float64(t))
	stepSize := float32(lr / bc1)
	invSqrtBC2 := float32(1 / math.Sqrt(bc2))
	b1, b2, eps := float32(o.Beta1), float32(o.Beta2), float32(o.Eps)
	for _, p := range params {
		decay := float32(1)
		if p.decay {
			decay = float32(1 - lr*o.WeightDecay)
		}
		e.For(len(p.w), 4096, func(lo, hi int) {
			w, g, m, v := p.w[lo:hi], p.g[lo:hi], p.m[lo:hi], p.v[lo:hi]
			for i := range w {
				gi := g[i]
				mi := b1*m[i] + (1-b1)*gi
				vi := b2*v[i] + (1-b2)*gi*gi
				m[i], v[i] = mi, vi
				denom := float32(math.Sqrt(float64(vi)))*invSqrtBC2 + eps
				w[i] = w[i]*decay - stepSize*mi/denom
			}
		})
	}
}

// LRAt is the learning rate at fractional epoch x of a cosine schedule with linear warm-up
// (timm's CosineLRScheduler as the reference configures it, evaluated per step rather than per
// epoch so short runs get a smooth curve): from warmupLR to peak over warmupEpochs, then
// minLR + ½(peak − minLR)(1 + cos(π·x/epochs)).
func LRAt(x float64, epochs, warmupEpochs int, peak, warmupLR, minLR float64) float64 {
	if x < float64(warmupEpochs) {
		return warmupLR + x*(peak-warmupLR)/float64(warmupEpochs)
	}
	return minLR + 0.5*(peak-minLR)*(1+math.Cos(math.Pi*x/float64(epochs)))
}

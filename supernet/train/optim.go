package train

import (
	"math"
	"sort"

	"github.com/resnas/resnas/internal/nn"
)

// AdamW is PyTorch's AdamW (decoupled weight decay) as timm configures it for the reference:
// betas (0.9, 0.999), eps 1e-8, weight decay only on tensors of rank ≥ 2 other than tokens.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
}

// step applies one update to sp's trainable tensors at learning rate lr; t is the 1-based
// step count for the bias corrections. Every trainable tensor is updated, also parts a step's
// sub-networks did not use: their zero gradients still decay the moments and move the
// weights, as in the reference, where masked channels get zero (not absent) gradients.
func (o AdamW) step(e *nn.Exec, sp *supernetParams, lr float64, t int) {
	u := adamUpdate{
		stepSize:   float32(lr / (1 - math.Pow(o.Beta1, float64(t)))),
		invSqrtBC2: float32(1 / math.Sqrt(1-math.Pow(o.Beta2, float64(t)))),
		b1:         float32(o.Beta1), b2: float32(o.Beta2), eps: float32(o.Eps),
		decay: float32(1 - lr*o.WeightDecay),
	}
	// The slabs are split evenly across workers; each chunk walks the tensors it overlaps.
	ps := sp.trainable
	e.For(len(sp.grad), 1<<14, func(lo, hi int) {
		i := sort.Search(len(ps), func(i int) bool { return ps[i].off+len(ps[i].w) > lo })
		for ; i < len(ps) && ps[i].off < hi; i++ {
			p := ps[i]
			a, b := max(lo, p.off)-p.off, min(hi, p.off+len(p.w))-p.off
			u.apply(p.w[a:b], p.g[a:b], p.m[a:b], p.v[a:b], p.decay)
		}
	})
}

// adamUpdate holds one step's constants.
type adamUpdate struct {
	stepSize, invSqrtBC2, b1, b2, eps, decay float32
}

// apply updates one range of a tensor: the moments from the gradient, then the weight, decayed
// first (decoupled weight decay) when decay is set.
func (u adamUpdate) apply(w, g, m, v []float32, decay bool) {
	d := float32(1)
	if decay {
		d = u.decay
	}
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i := range w {
		gi := g[i]
		mi := u.b1*m[i] + (1-u.b1)*gi
		vi := u.b2*v[i] + (1-u.b2)*gi*gi
		m[i], v[i] = mi, vi
		denom := float32(math.Sqrt(float64(vi)))*u.invSqrtBC2 + u.eps
		w[i] = w[i]*d - u.stepSize*mi/denom
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

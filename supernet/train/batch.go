package train

import (
	"math"
	"math/rand/v2"
)

// darkest is each channel's minimum over the first batch of the training set in storage
// order, the stand-in for a black pixel when Options.Fill is not given. It depends only
// on the data, so a resumed run gets the same value.
func (t *trainer) darkest() []float32 {
	in := t.opts.Space.Input
	for i := range t.idx {
		t.idx[i] = i
	}
	t.opts.Train.Batch(t.idx, t.raw, t.labels)
	fill := make([]float32, in.Channels)
	px := in.Size * in.Size
	for c := range fill {
		fill[c] = float32(math.Inf(1))
		for n := 0; n < len(t.idx); n++ {
			for _, v := range t.raw[(n*in.Channels+c)*px : (n*in.Channels+c+1)*px] {
				fill[c] = min(fill[c], v)
			}
		}
	}
	return fill
}

// loadBatch reads the images t.idx, augments them and stores them channels-last in the
// network's input buffer.
func (t *trainer) loadBatch(rng *rand.Rand) {
	in := t.opts.Space.Input
	t.opts.Train.Batch(t.idx, t.raw, t.labels)
	ch, s := in.Channels, in.Size
	img := ch * s * s
	for n := range t.idx {
		x := t.raw[n*img : (n+1)*img]
		t.augment(rng, x)
		dst := t.net.img[n*img : (n+1)*img]
		for c := 0; c < ch; c++ {
			for p := 0; p < s*s; p++ {
				dst[p*ch+c] = x[c*s*s+p]
			}
		}
	}
}

// augment applies, in place on one C×S×S image: a random translation by up to ShiftPad pixels
// (the crop of the padded image), a horizontal flip with probability ½, and random erasing
// (timm's RandomErasing, pixel mode: area 2–33 %, aspect 0.3–3.3, normal noise).
func (t *trainer) augment(rng *rand.Rand, x []float32) {
	o := t.opts
	ch, s := o.Space.Input.Channels, o.Space.Input.Size
	pad := o.ShiftPad
	dy, dx := 0, 0
	if pad > 0 {
		dy, dx = rng.IntN(2*pad+1)-pad, rng.IntN(2*pad+1)-pad
	}
	flip := o.Flip && rng.IntN(2) == 1
	if dy != 0 || dx != 0 || flip {
		tmp := t.aug
		for c := 0; c < ch; c++ {
			src, dst := x[c*s*s:(c+1)*s*s], tmp[c*s*s:(c+1)*s*s]
			for y := 0; y < s; y++ {
				for xx := 0; xx < s; xx++ {
					sx := xx
					if flip {
						sx = s - 1 - xx
					}
					iy, ix := y+dy, sx+dx
					if iy < 0 || iy >= s || ix < 0 || ix >= s {
						dst[y*s+xx] = t.fill[c]
					} else {
						dst[y*s+xx] = src[iy*s+ix]
					}
				}
			}
		}
		copy(x, tmp)
	}
	if o.EraseProb > 0 && rng.Float64() < o.EraseProb {
		area := float64(s * s)
		for attempt := 0; attempt < 10; attempt++ {
			target := area * (0.02 + rng.Float64()*(1.0/3-0.02))
			aspect := math.Exp(math.Log(0.3) + rng.Float64()*(math.Log(3.3)-math.Log(0.3)))
			h := int(math.Round(math.Sqrt(target * aspect)))
			w := int(math.Round(math.Sqrt(target / aspect)))
			if w >= s || h >= s || w < 1 || h < 1 {
				continue
			}
			top, left := rng.IntN(s-h+1), rng.IntN(s-w+1)
			for c := 0; c < ch; c++ {
				for y := top; y < top+h; y++ {
					for xx := left; xx < left+w; xx++ {
						x[c*s*s+y*s+xx] = float32(rng.NormFloat64())
					}
				}
			}
			break
		}
	}
}

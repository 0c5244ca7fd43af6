package train

import (
	"context"

	"github.com/resnas/resnas/model"
)

// evaluate returns the top-1 accuracy (%) of sub-network a on the validation images, with the
// training forward in eval mode (BatchNorm running statistics, no drop-path), which computes
// the inference network exactly (TestTrainForwardMatchesInference) and reuses the training
// buffers. A last partial batch is padded with its own first image; the padding is not
// counted.
func (t *trainer) evaluate(ctx context.Context, a model.Arch) (float64, error) {
	o, net := t.opts, t.net
	net.bnEval = true
	defer func() { net.bnEval = false }()
	net.noDropPath()
	groups := make([]model.Arch, o.groups())
	for i := range groups {
		groups[i] = a
	}
	in := o.Space.Input
	ch, s := in.Channels, in.Size
	img := ch * s * s
	b, g, k := o.BatchSize, o.ExamplesPerArch, a.Head.Classes
	correct, total := 0, o.Val.Len()
	for lo := 0; lo < total; lo += b {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		n := min(b, total-lo)
		for i := range t.idx {
			t.idx[i] = lo + min(i, n-1)
		}
		o.Val.Batch(t.idx, t.raw, t.labels)
		for i := 0; i < b; i++ { // channels-last, no augmentation
			x, dst := t.raw[i*img:(i+1)*img], net.img[i*img:(i+1)*img]
			for c := 0; c < ch; c++ {
				for p := 0; p < s*s; p++ {
					dst[p*ch+c] = x[c*s*s+p]
				}
			}
		}
		net.stemForward(groups[:(n+g-1)/g])
		net.run(groups[:(n+g-1)/g], t.labels, 0, false, 0)
		for i := 0; i < n; i++ {
			row := net.logits[i*k : (i+1)*k]
			best := 0
			for j := range row {
				if row[j] > row[best] {
					best = j
				}
			}
			if best == t.labels[i] {
				correct++
			}
		}
	}
	return 100 * float64(correct) / float64(total), nil
}

package supernet

import (
	"context"

	"github.com/resnas/resnas/model"
)

// evaluate returns the top-1 accuracy (%) of sub-network a on the validation images, with
// the inference forward pass running directly on the supernet's tensors (no copy).
func (t *trainer) evaluate(ctx context.Context, a model.Arch) (float64, error) {
	o := t.opts
	net, err := model.NewNet(t.p.weights(), a, o.Space.Input, o.Gemm, model.NetOptions{Threads: o.Workers})
	if err != nil {
		return 0, err
	}
	defer func() {
		// The inference pass may have given the BLAS library threads; the trainer wants one.
		if th, ok := o.Gemm.(interface{ SetThreads(int) }); ok && o.Workers > 1 {
			th.SetThreads(1)
		}
	}()
	in := o.Space.Input
	const chunk = 256
	k := a.Head.Classes
	x := make([]float32, chunk*in.Channels*in.Size*in.Size)
	logits := make([]float32, chunk*k)
	idx := make([]int, chunk)
	labels := make([]int, chunk)
	correct, total := 0, o.Val.Len()
	for lo := 0; lo < total; lo += chunk {
		n := min(chunk, total-lo)
		for i := 0; i < n; i++ {
			idx[i] = lo + i
		}
		o.Val.Batch(idx[:n], x, labels)
		if err := net.Forward(ctx, x, n, logits); err != nil {
			return 0, err
		}
		for i := 0; i < n; i++ {
			best := 0
			for j := 1; j < k; j++ {
				if logits[i*k+j] > logits[i*k+best] {
					best = j
				}
			}
			if best == labels[i] {
				correct++
			}
		}
	}
	return 100 * float64(correct) / float64(total), nil
}

// Package evaluate measures sub-networks of a supernet on image shards: top-1/top-5 accuracy
// with a confidence interval, and throughput.
package evaluate

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/resnas/resnas/data"
	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/stats"
)

// Result is the accuracy of one architecture on (a prefix of) a shard set.
type Result struct {
	Top1    float64 `json:"top1"` // fraction in [0, 1]
	Top5    float64 `json:"top5"`
	Images  int     `json:"images"`
	CI95    float64 `json:"top1_ci95"` // half-width of the 95% Wilson interval of Top1
	Seconds float64 `json:"seconds"`
	// Final is true when every image of the set was used.
	Final bool `json:"final"`
	// BN names how the stem BatchNorm statistics were obtained: "checkpoint" or
	// "recalibrated:N" (N images).
	BN string `json:"bn"`
	// Correct has a bit per image, set where the top-1 prediction was right, so that two
	// architectures evaluated on the same images can be compared pairwise.
	Correct stats.Bitset `json:"-"`
}

// Options configure an Evaluator.
type Options struct {
	Weights model.Weights
	Input   model.Input
	Backend gemm.Backend
	Threads int
	Batch   int // images per forward; default 256
	// Device, when set, runs the networks on its GPU (Weights must be the uploaded ones).
	Device *model.DeviceWeights
	// RecalibrateBN, when > 0, re-estimates the stem BatchNorm statistics on that many images
	// of the set before evaluating (reference evaluation uses the checkpoint's: 0).
	RecalibrateBN int
}

// Evaluator evaluates architectures on one shard set and caches results by architecture
// and image count. It is safe for concurrent use; each call builds its own network views.
type Evaluator struct {
	opts Options
	set  *data.Set

	mu      sync.Mutex
	cache   map[cacheKey]Result
	weights map[int]model.Weights // weights with recalibrated BN, by image count
}

type cacheKey struct {
	arch   string
	images int
	recal  int
}

// New checks that the set's images fit the network input and returns an Evaluator.
func New(set *data.Set, opts Options) (*Evaluator, error) {
	m := set.Manifest
	if m.ImageSize != opts.Input.Size || m.Channels != opts.Input.Channels {
		return nil, fmt.Errorf("%s images are %d×%d×%d, but the checkpoint expects %d×%d×%d (shards built for another model?)", m.Split, m.Channels, m.ImageSize, m.ImageSize, opts.Input.Channels, opts.Input.Size, opts.Input.Size)
	}
	if opts.Batch <= 0 {
		opts.Batch = 256
	}
	return &Evaluator{opts: opts, set: set, cache: map[cacheKey]Result{}, weights: map[int]model.Weights{}}, nil
}

// Len is the number of images available.
func (e *Evaluator) Len() int { return e.set.Len() }

// Cached returns a cached result for arch on limit images (0 = all), if any.
func (e *Evaluator) Cached(a model.Arch, limit int) (Result, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.cache[e.key(a, limit)]
	return r, ok
}

func (e *Evaluator) key(a model.Arch, limit int) cacheKey {
	n := e.set.Len()
	if limit > 0 && limit < n {
		n = limit
	}
	return cacheKey{a.String(), n, e.opts.RecalibrateBN}
}

// Evaluate runs arch on the first limit images of the set (0 = all). progress, if not nil,
// is called after every batch with images done and total.
func (e *Evaluator) Evaluate(ctx context.Context, a model.Arch, limit int, progress func(done, total int)) (Result, error) {
	if r, ok := e.Cached(a, limit); ok {
		return r, nil
	}
	k := e.key(a, limit)
	w, bn, err := e.weightsFor(ctx)
	if err != nil {
		return Result{}, err
	}
	net, err := model.NewNet(w, a, e.opts.Input, e.opts.Backend, model.NetOptions{Threads: e.opts.Threads, Device: e.opts.Device})
	if err != nil {
		return Result{}, err
	}
	r, err := Accuracy(ctx, net, e.set, k.images, e.opts.Batch, progress)
	if err != nil {
		return Result{}, err
	}
	r.BN = bn
	r.Final = k.images == e.set.Len()
	e.mu.Lock()
	e.cache[k] = r
	e.mu.Unlock()
	return r, nil
}

// weightsFor returns the weights to evaluate with, recalibrating the stem BN once.
func (e *Evaluator) weightsFor(ctx context.Context) (model.Weights, string, error) {
	n := e.opts.RecalibrateBN
	if n <= 0 {
		return e.opts.Weights, "checkpoint", nil
	}
	n = min(n, e.set.Len())
	label := fmt.Sprintf("recalibrated:%d", n)
	e.mu.Lock()
	w, ok := e.weights[n]
	e.mu.Unlock()
	if ok {
		return w, label, nil
	}
	pix := e.set.Manifest.ImageBytes()
	x := make([]float32, n*pix)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	e.set.Batch(idx, x, nil)
	w, err := model.RecalibrateStemBN(ctx, e.opts.Weights, e.opts.Input, x, n, e.opts.Backend)
	if err != nil {
		return nil, "", err
	}
	e.mu.Lock()
	e.weights[n] = w
	e.mu.Unlock()
	return w, label, nil
}

// Accuracy runs net over the first n images of set in batches and counts top-1/top-5 hits.
func Accuracy(ctx context.Context, net *model.Net, set *data.Set, n, batch int, progress func(done, total int)) (Result, error) {
	start := time.Now()
	n = min(n, set.Len())
	if n <= 0 {
		return Result{}, fmt.Errorf("no images to evaluate")
	}
	pix := set.Manifest.ImageBytes()
	classes := net.Classes()
	batch = min(batch, n)
	x := make([]float32, batch*pix)
	logits := make([]float32, batch*classes)
	labels := make([]int, batch)
	idx := make([]int, batch)
	var top1, top5 int
	correct := stats.NewBitset(n)
	for done := 0; done < n; {
		b := min(batch, n-done)
		for i := 0; i < b; i++ {
			idx[i] = done + i
		}
		set.Batch(idx[:b], x, labels)
		if err := net.Forward(ctx, x[:b*pix], b, logits); err != nil {
			return Result{}, err
		}
		for i := 0; i < b; i++ {
			r := rank(logits[i*classes:(i+1)*classes], labels[i])
			if r < 1 {
				top1++
				correct.Set(done + i)
			}
			if r < 5 {
				top5++
			}
		}
		done += b
		if progress != nil {
			progress(done, n)
		}
	}
	p := float64(top1) / float64(n)
	return Result{
		Top1:    p,
		Top5:    float64(top5) / float64(n),
		Images:  n,
		CI95:    stats.WilsonHalfWidth(top1, n),
		Seconds: time.Since(start).Seconds(),
		Correct: correct,
	}, nil
}

// rank is the number of classes scored strictly above the label's (0 = top-1 hit). A label
// outside the logits counts as a miss.
func rank(logits []float32, label int) int {
	if label < 0 || label >= len(logits) {
		return len(logits)
	}
	v := logits[label]
	r := 0
	for i, l := range logits {
		if l > v || (l == v && i < label) {
			r++
		}
	}
	return r
}

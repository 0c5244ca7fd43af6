package profiler

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/stats"
)

// ThroughputOptions configure a throughput measurement.
type ThroughputOptions struct {
	Batch   int           // images per forward (default 64)
	Warmup  int           // untimed forwards first (default 1)
	Repeats int           // timed forwards; at least 5 (default 5)
	MinTime time.Duration // keep repeating until this much was timed (default 0)
	Seed    uint64        // input pattern
}

// Throughput is measured images per second on this machine.
type Throughput struct {
	ImagesPerSec float64   `json:"images_per_sec"` // median over repeats
	Min, Max     float64   `json:"-"`
	Spread       float64   `json:"spread"` // (max-min)/median
	Repeats      int       `json:"repeats"`
	Batch        int       `json:"batch"`
	Samples      []float64 `json:"samples"` // images/s of each timed batch
}

// MeasureThroughput times net on a fixed synthetic batch: warm-up forwards, then the median
// of the timed ones, so one slow batch (a GC, another process) does not move the figure.
func MeasureThroughput(ctx context.Context, net *model.Net, opts ThroughputOptions) (Throughput, error) {
	if opts.Batch <= 0 {
		opts.Batch = 64
	}
	if opts.Warmup <= 0 {
		opts.Warmup = 1
	}
	opts.Repeats = max(opts.Repeats, 5)
	in := net.Input()
	pix := in.Channels * in.Size * in.Size
	x := make([]float32, opts.Batch*pix)
	s := opts.Seed*2654435761 + 1
	for i := range x {
		s = s*6364136223846793005 + 1442695040888963407
		x[i] = float32(int64(s>>40)%2001-1000) / 1000
	}
	out := make([]float32, opts.Batch*net.Classes())
	for i := 0; i < opts.Warmup; i++ {
		if err := net.Forward(ctx, x, opts.Batch, out); err != nil {
			return Throughput{}, err
		}
	}
	var samples []float64
	var timed time.Duration
	for len(samples) < opts.Repeats || timed < opts.MinTime {
		t0 := time.Now()
		if err := net.Forward(ctx, x, opts.Batch, out); err != nil {
			return Throughput{}, err
		}
		d := time.Since(t0)
		timed += d
		samples = append(samples, float64(opts.Batch)/d.Seconds())
	}
	for _, v := range out {
		if math.IsNaN(float64(v)) {
			return Throughput{}, fmt.Errorf("throughput: forward produced NaN")
		}
	}
	med, lo, hi := stats.Median(samples), slices.Min(samples), slices.Max(samples)
	return Throughput{
		ImagesPerSec: med, Min: lo, Max: hi,
		Spread: (hi - lo) / med, Repeats: len(samples), Batch: opts.Batch, Samples: samples,
	}, nil
}

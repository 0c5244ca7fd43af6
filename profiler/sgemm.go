package profiler

import (
	"context"
	"fmt"
	"time"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/stats"
)

// SgemmRate is the measured speed of one square single-precision GEMM: the machine's
// reference figure, against which a network's GFLOP/s say how much of the hardware it uses.
type SgemmRate struct {
	Size    int       `json:"size"`          // n of the n×n×n product
	GFLOPs  float64   `json:"gflop_per_sec"` // median of the samples
	Samples []float64 `json:"samples"`
	Threads int       `json:"threads"`
}

// MeasureSgemm times C = A·Bᵀ for n×n matrices on be at threads threads (where the backend
// can be told), repeats times after one warm-up, and returns the median rate. The operands
// are the layout the layers use (weights transposed), so the figure is the one their GEMMs
// could reach.
func MeasureSgemm(ctx context.Context, be gemm.Backend, threads, n, repeats int) (SgemmRate, error) {
	if n <= 0 {
		return SgemmRate{}, fmt.Errorf("sgemm size %d: want > 0", n)
	}
	repeats = max(repeats, 1)
	if t, ok := be.(gemm.Threaded); ok && threads > 0 {
		t.SetThreads(threads)
	}
	a := make([]float32, n*n)
	b := make([]float32, n*n)
	c := make([]float32, n*n)
	for i := range a {
		a[i] = float32(i%17) / 17
		b[i] = float32(i%13) / 13
	}
	A, B, C := gemm.NewMat(n, n, a), gemm.NewMat(n, n, b), gemm.NewMat(n, n, c)
	flop := 2 * float64(n) * float64(n) * float64(n)
	gemm.Mul(be, false, true, 1, A, B, 0, C) // warm-up: page faults, library threads
	r := SgemmRate{Size: n, Threads: threads}
	for range repeats {
		if err := ctx.Err(); err != nil {
			return SgemmRate{}, err
		}
		t0 := time.Now()
		gemm.Mul(be, false, true, 1, A, B, 0, C)
		r.Samples = append(r.Samples, flop/time.Since(t0).Seconds()/1e9)
	}
	r.GFLOPs = stats.Median(r.Samples)
	return r, nil
}

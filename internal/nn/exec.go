// Package nn holds the explicit layers of supernet training: each layer is a forward/backward
// pair over flat []float32 and gemm.Mat strided views, in the style of llm.c. Forward writes
// what backward needs into buffers the caller owns; backward ADDS into every gradient (weights
// and inputs alike), so the caller zeroes gradients once per step. No function here allocates
// per call except for goroutine bookkeeping.
//
// Weights are stored at their largest (supernet) shape and a sub-network uses the top-left
// block through gemm.Mat.Sub; weight gradients accumulate into the same sub-block.
package nn

import (
	"sync"

	"github.com/resnas/resnas/internal/gemm"
)

// Exec is what kernels need besides data: the GEMM backend and how many goroutines they may
// use. Work is split in Go into at most Workers pieces whose results never overlap, so
// results do not depend on scheduling. Backends that thread internally should be set to one
// thread when Workers > 1 (nested threading was measured slower). An Exec serves one
// goroutine at a time (it keeps a little scratch).
type Exec struct {
	Gemm    gemm.Backend
	Workers int

	ones []float32 // a row of ones for column sums as GEMMs, grown on demand
}

// onesRow returns a 1×n matrix of ones.
func (e *Exec) onesRow(n int) gemm.Mat {
	if len(e.ones) < n {
		e.ones = make([]float32, n)
		for i := range e.ones {
			e.ones[i] = 1
		}
	}
	return gemm.NewMat(1, n, e.ones[:n])
}

func (e *Exec) workers() int {
	if e.Workers < 1 {
		return 1
	}
	return e.Workers
}

// serial reports whether For(n, grain, ·) runs as one chunk on the calling goroutine. Kernels
// then call their range function directly: a closure handed to For escapes to the heap, and
// per-step allocations would follow every kernel call of a single-worker Exec.
func (e *Exec) serial(n, grain int) bool {
	return e.workers() == 1 || n <= max(grain, 1)
}

// For runs f over [0, n) split into at most Workers contiguous chunks of at least grain items,
// in parallel, and returns when all are done. The split depends only on n, grain and
// Workers, so per-chunk results are deterministic.
func (e *Exec) For(n, grain int, f func(lo, hi int)) {
	e.ForWorker(n, grain, func(_, lo, hi int) { f(lo, hi) })
}

// ForWorker is For that also passes the chunk's worker index in [0, Workers), so callers can
// give each chunk its own scratch buffer.
func (e *Exec) ForWorker(n, grain int, f func(worker, lo, hi int)) {
	if n <= 0 {
		return
	}
	w := e.workers()
	if grain < 1 {
		grain = 1
	}
	if m := (n + grain - 1) / grain; m < w {
		w = m
	}
	if w <= 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(w - 1)
	for i := 1; i < w; i++ {
		lo, hi := i*n/w, (i+1)*n/w
		go func() {
			defer wg.Done()
			f(i, lo, hi)
		}()
	}
	f(0, 0, n/w)
	wg.Wait()
}

// Mul computes c = alpha·op(a)·op(b) + beta·c like gemm.Mul, splitting c across workers
// into independent GEMMs on sub-views (no reduction is needed): by rows when c has enough of
// them, else by columns — weight gradients dW = dyᵀ·x often have few rows (output features)
// and many columns.
func (e *Exec) Mul(transA, transB bool, alpha float32, a, b gemm.Mat, beta float32, c gemm.Mat) {
	k := a.Cols
	if transA {
		k = a.Rows
	}
	// Below ~256 K multiply-adds a split costs more than it gains.
	w := e.workers()
	if w == 1 || c.Rows*c.Cols*k < 1<<18 {
		gemm.Mul(e.Gemm, transA, transB, alpha, a, b, beta, c)
		return
	}
	const rowGrain, colGrain = 32, 16
	if c.Rows >= w*rowGrain || c.Rows >= c.Cols {
		e.For(c.Rows, rowGrain, func(lo, hi int) {
			var as gemm.Mat
			if transA {
				as = a.Sub(0, a.Rows, lo, hi)
			} else {
				as = a.Sub(lo, hi, 0, a.Cols)
			}
			gemm.Mul(e.Gemm, transA, transB, alpha, as, b, beta, c.Sub(lo, hi, 0, c.Cols))
		})
		return
	}
	e.For(c.Cols, colGrain, func(lo, hi int) {
		var bs gemm.Mat
		if transB {
			bs = b.Sub(lo, hi, 0, b.Cols)
		} else {
			bs = b.Sub(0, b.Rows, lo, hi)
		}
		gemm.Mul(e.Gemm, transA, transB, alpha, a, bs, beta, c.Sub(0, c.Rows, lo, hi))
	})
}

// rows returns m's rows as a dense-row view helper: row i of m.
func row(m gemm.Mat, i int) []float32 { return m.Data[i*m.Stride : i*m.Stride+m.Cols] }

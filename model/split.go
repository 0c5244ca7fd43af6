package model

import (
	"runtime"
	"sync/atomic"

	"github.com/resnas/resnas/internal/gemm"
)

// A chunk too small to split across workers (batch 1 on two cores) used to get its spare cores
// as OpenBLAS threads; on the 32-px networks' GEMMs (65 rows, K = 40…192) those threads
// mostly spin (docs/perf-small-networks.md). Instead such a worker borrows a second goroutine
// for the Forward call, a pair, and the two share each step of every transformer block: the
// rows of LN → qkv and of proj → LN → MLP, the (image, head) units of attention, with BLAS at
// one thread. Stem, reductions and head stay on the worker: they are a small share.

// pairMaxRows is the largest chunk, in stage-1 token rows, that runs as a pair: one image of
// the 32-px networks (65 rows); a 224-px image (197 rows and more) keeps BLAS threading.
const pairMaxRows = 128

// pairSpins is how many times a waiting side polls before yielding its thread.
const pairSpins = 200

type jobKind int

const (
	jobBlockIn jobKind = iota
	jobAttention
	jobBlockOut
	jobStop
)

// splitJob is one step of a block, run by both sides of a pair on their halves.
type splitJob struct {
	kind   jobKind
	l      *layerView
	X      gemm.Mat
	b, tok int
}

// pair hands jobs to a helper goroutine that lives for one forwardChunk. The worker posts a
// job (job, then posted), runs its half, and waits until finished catches up; the helper
// waits for posted, runs the other half, and publishes finished. Both wait by polling, then
// yielding: the steps last microseconds, too short to park a thread and wake it.
type pair struct {
	job      splitJob
	posted   atomic.Uint64
	finished atomic.Uint64
	scratch  []float32 // the helper's attention scratch
}

// start launches the helper on ws (the worker's workspace, whose rows the two share).
func (p *pair) start(n *Net, ws *workspace) {
	p.posted.Store(0)
	p.finished.Store(0)
	go p.loop(n, ws)
}

func (p *pair) loop(n *Net, ws *workspace) {
	for seen := uint64(1); ; seen++ {
		for i := 0; p.posted.Load() < seen; i++ {
			if i >= pairSpins {
				runtime.Gosched()
			}
		}
		j := p.job
		if j.kind != jobStop {
			n.runPart(ws, p.scratch, &j, 1)
		}
		p.finished.Store(seen)
		if j.kind == jobStop {
			return
		}
	}
}

// run does job j on both sides and returns when both halves are done.
func (p *pair) run(n *Net, j splitJob, ws *workspace) {
	p.job = j
	seq := p.posted.Add(1)
	if j.kind != jobStop {
		n.runPart(ws, ws.scores, &j, 0)
	}
	for i := 0; p.finished.Load() < seq; i++ {
		if i >= pairSpins {
			runtime.Gosched()
		}
	}
}

// stop ends the helper.
func (p *pair) stop(n *Net, ws *workspace) { p.run(n, splitJob{kind: jobStop}, ws) }

// half is side part's share [lo, hi) of n items; the worker (part 0) takes the larger half.
func half(n, part int) (lo, hi int) {
	m := (n + 1) / 2
	if part == 0 {
		return 0, m
	}
	return m, n
}

// runPart runs side part's half of j with the given attention scratch.
func (n *Net) runPart(ws *workspace, scratch []float32, j *splitJob, part int) {
	switch j.kind {
	case jobBlockIn:
		r0, r1 := half(j.X.Rows, part)
		n.blockIn(ws, j.l, j.X, r0, r1)
	case jobAttention:
		u0, u1 := half(j.b*j.l.Heads, part)
		n.blockAttention(ws, scratch, j.l, j.b, j.tok, u0, u1)
	case jobBlockOut:
		r0, r1 := half(j.X.Rows, part)
		n.blockOut(ws, j.l, j.X, r0, r1)
	}
}

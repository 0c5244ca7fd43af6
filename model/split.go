package model

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/resnas/resnas/internal/gemm"
)

// A chunk too small to split across workers (batch 1 on two cores) used to get its spare cores
// as OpenBLAS threads; on the 32-px networks' GEMMs (65 rows, K = 40…192) those threads
// mostly spin (docs/perf-small-networks.md). Instead such a worker borrows a second goroutine
// for the Forward call, a pair, and the two share each step of every transformer block: the
// rows of LN → qkv and of proj → LN → MLP, the (image, head) units of attention, with BLAS at
// one thread. Stem, reductions and head stay on the worker: they are a small share.
//
// Each step is cut into pieces that both sides claim from one atomic word, so the worker
// never waits for a helper that has not started: when the OS runs the helper late (a loaded
// machine), the worker claims every piece itself and the pass costs what one thread costs.
// It only waits for pieces the helper has claimed and is running.

// pairMaxRows is the largest chunk, in stage-1 token rows, that runs as a pair: one image of
// the 32-px networks (65 rows); a 224-px image (197 rows and more) keeps BLAS threading.
const pairMaxRows = 128

// pairSpins is how many times a waiting side polls before yielding its thread.
const pairSpins = 200

// pieceRows is the most token rows in one piece of a row-split step: few enough that the
// piece's GEMMs take the unpacked few-row path (mulWT), and several pieces per stage-1 image.
const pieceRows = ntMaxRows

type jobKind int

const (
	jobBlockIn jobKind = iota
	jobAttention
	jobBlockOut
	// Few-row chunks share their GEMMs by output columns instead (Net.blockForward).
	jobQKVCols
	jobProjCols
	jobFC1Cols
	jobFC2Cols
)

// colPieces is how many column ranges a few-row GEMM step is cut into: more than two, so a
// side that gets its core late takes fewer.
const colPieces = 4

// splitJob is one step of a block, cut into pieces.
type splitJob struct {
	kind   jobKind
	l      *layerView
	X      gemm.Mat
	b, tok int
}

// pieces is how many pieces j is cut into.
func (j *splitJob) pieces() int {
	switch j.kind {
	case jobAttention:
		return j.b * j.l.Heads
	case jobQKVCols, jobProjCols, jobFC1Cols, jobFC2Cols:
		return colPieces
	}
	return max(2, (j.X.Rows+pieceRows-1)/pieceRows)
}

// cols is the output width a column step divides.
func (j *splitJob) cols() int {
	switch j.kind {
	case jobQKVCols:
		return 3 * j.l.Heads * j.l.HeadDim
	case jobFC1Cols:
		return j.l.MLP
	}
	return j.X.Cols
}

// The claim word holds the job's sequence number (bits 40…63), its piece count (20…39) and
// the next unclaimed piece (0…19). A claim is a compare-and-swap that checks the sequence
// number, so a helper that saw an earlier job can never take a piece of a later one, and it
// reads the job only after a claim succeeds, when the worker cannot replace it (the worker
// posts the next job only after every piece of this one is done).
const (
	claimSeqShift    = 40
	claimPiecesShift = 20
	claimMask        = 1<<20 - 1
)

// pair shares a chunk's block steps between the worker and a helper goroutine that lives for
// one forwardChunk.
type pair struct {
	job     splitJob
	claim   atomic.Uint64
	done    atomic.Int64 // pieces of the current job finished
	quit    atomic.Bool
	exited  atomic.Bool
	seq     uint64
	scratch []float32 // the helper's attention scratch
}

// start launches the helper on ws (the worker's workspace, whose rows the two share).
func (p *pair) start(n *Net, ws *workspace) {
	p.seq = 0
	p.claim.Store(0)
	p.done.Store(0)
	p.quit.Store(false)
	p.exited.Store(false)
	go p.loop(n, ws)
}

// loop is the helper: it claims pieces of whatever job is posted until told to quit.
func (p *pair) loop(n *Net, ws *workspace) {
	defer p.exited.Store(true)
	for idle := 0; !p.quit.Load(); {
		if p.claimAndRun(n, ws, p.scratch) {
			idle = 0
			continue
		}
		if idle++; idle >= pairSpins {
			runtime.Gosched()
		}
	}
}

// claimAndRun claims one piece of the posted job and runs it with scratch; false when none
// is left.
func (p *pair) claimAndRun(n *Net, ws *workspace, scratch []float32) bool {
	for {
		v := p.claim.Load()
		pieces, next := int(v>>claimPiecesShift&claimMask), int(v&claimMask)
		if next >= pieces {
			return false
		}
		if p.claim.CompareAndSwap(v, v+1) {
			n.runPiece(ws, scratch, &p.job, next, pieces)
			p.done.Add(1)
			return true
		}
	}
}

// run does job j on both sides and returns when every piece is done.
func (p *pair) run(n *Net, j splitJob, ws *workspace) {
	pieces := j.pieces()
	p.job = j
	p.done.Store(0)
	p.seq++
	p.claim.Store(p.seq<<claimSeqShift | uint64(pieces)<<claimPiecesShift)
	for p.claimAndRun(n, ws, ws.scores) {
	}
	for i := 0; p.done.Load() < int64(pieces); i++ {
		if i >= pairSpins {
			runtime.Gosched()
		}
	}
}

// stop ends the helper and waits until it has left, so the next Forward's helper is the only
// one using this pair.
func (p *pair) stop() {
	p.quit.Store(true)
	for i := 0; !p.exited.Load(); i++ {
		if i >= pairSpins {
			runtime.Gosched()
		}
	}
}

// share is piece i's range [lo, hi) of n items cut into pieces near-equal parts.
func share(n, i, pieces int) (lo, hi int) { return i * n / pieces, (i + 1) * n / pieces }

// runPiece runs piece i (of pieces) of j with the given attention scratch.
func (n *Net) runPiece(ws *workspace, scratch []float32, j *splitJob, i, pieces int) {
	switch j.kind {
	case jobBlockIn:
		r0, r1 := share(j.X.Rows, i, pieces)
		n.blockIn(ws, j.l, j.X, r0, r1)
	case jobAttention:
		n.blockAttention(ws, scratch, j.l, j.b, j.tok, i, i+1)
	case jobBlockOut:
		r0, r1 := share(j.X.Rows, i, pieces)
		n.blockOut(ws, j.l, j.X, r0, r1)
	case jobQKVCols, jobProjCols, jobFC1Cols, jobFC2Cols:
		c0, c1 := colShare(j.cols(), i, pieces, n.packed)
		if c0 >= c1 {
			return
		}
		switch j.kind {
		case jobQKVCols:
			n.qkvCols(ws, j.l, j.X.Rows, c0, c1)
		case jobProjCols:
			n.projCols(ws, j.l, j.X, c0, c1)
		case jobFC1Cols:
			n.fc1Cols(ws, j.l, j.X.Rows, c0, c1)
		case jobFC2Cols:
			n.fc2Cols(ws, j.l, j.X, c0, c1)
		}
	}
}

// colShare is piece i's range of n output columns, its ends on multiples of 4 (the few-row
// kernel's column blocks), or of 16 with packed weights (their panels), except the last.
func colShare(n, i, pieces int, packed bool) (lo, hi int) {
	align := 4
	if packed {
		align = 16
	}
	lo, hi = (i*n/pieces)&^(align-1), ((i+1)*n/pieces)&^(align-1)
	if i == pieces-1 {
		hi = n
	}
	return lo, hi
}

// pairTuner decides, per Forward of a small chunk, whether to run it as a pair. A pair wins
// on an idle machine (fmnist-wide max at batch 1: 1.0 ms against 1.5 ms on one goroutine) and
// loses when other processes hold the cores (2.7 against 1.9 ms with two busy processes on two
// cores: the helper's polling takes the worker's share). So both are timed: each mode keeps a
// moving average of its Forward times, the faster one runs, and every pairProbe-th call runs
// the other to notice a change in load. Paired and unpaired chunks run the same pieces
// (workspace.pieced), so the choice never changes a logit.
type pairTuner struct {
	calls          int
	paired, serial float64 // moving averages in seconds; 0 = not yet timed
}

// pairProbe is how often the slower mode is tried again.
const pairProbe = 16

func (t *pairTuner) choose() bool {
	t.calls++
	switch {
	case t.paired == 0:
		return true
	case t.serial == 0:
		return false
	}
	best := t.paired <= t.serial
	if t.calls%pairProbe == 0 {
		return !best
	}
	return best
}

func (t *pairTuner) record(paired bool, d time.Duration) {
	avg := &t.serial
	if paired {
		avg = &t.paired
	}
	if *avg == 0 {
		*avg = d.Seconds()
		return
	}
	*avg += (d.Seconds() - *avg) / 4
}

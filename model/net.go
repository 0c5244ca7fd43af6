package model

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/vecmath"
)

// Normalisation constants of the reference models (layers.md §3.7).
const (
	lnEps = 1e-6 // every LayerNorm
	bnEps = 1e-5 // the conv stem's BatchNorm2d
)

// NetOptions configure an inference network.
type NetOptions struct {
	// Threads is the number of cores the forward pass may use; 0 means runtime.NumCPU().
	Threads int
	// NoSplitSmall runs a chunk too small to split by images (batch 1 of a 32-px network) on
	// one goroutine. By default its transformer blocks may be shared with a second goroutine
	// (split.go), which claims pieces of each step only when it gets a core; pairTuner times
	// both ways and keeps the faster, so a loaded machine costs what one thread costs.
	NoSplitSmall bool
	// Device, when set, runs the forward pass on its GPU. The Net's weights must be the ones
	// uploaded there (the same Weights, or a copy of the map sharing their tensors).
	Device *DeviceWeights
	// NoPackedWeights leaves every GEMM to the backend (and the few-row kernel). By default,
	// where vecmath.GemmPackedFast holds, the first CPU forward lays the linear layers' weights
	// out once for vecmath.GemmPacked, which then takes every GEMM of more than ntMaxRows rows
	// against them, biases included.
	NoPackedWeights bool
}

// Net runs one architecture on a set of weights. When the weights are a supernet's, every
// weight is a strided view of the leading slice of the supernet tensor (reference.md §4.4):
// nothing is copied, so building a Net for another sub-network is cheap.
//
// A Net is not safe for concurrent Forward calls; build one per goroutine (they can share
// Weights).
type Net struct {
	arch    Arch
	in      Input
	be      gemm.Backend
	threads int

	splitSmall bool // !NetOptions.NoSplitSmall
	pairing    pairTuner

	packWanted bool // the first CPU forward packs the weights (packWeights)
	packed     bool

	stem   stemView
	tokens []float32 // class token, width C0
	pos    gemm.Mat  // stage-1 position embedding, (1+grid²) × C0
	layers []layerView
	norm   lnView
	head   linearView

	grids []int // token grid side of each stage

	stemPlan stemPlan // convStemPacked's row offsets (packWeights)

	gpu *gpuNet // set when the forward pass runs on a GPU

	mu         sync.Mutex
	wg         sync.WaitGroup
	workspaces []*workspace // one per worker goroutine, grown on demand and reused
}

type linearView struct {
	W gemm.Mat         // out × in, a view of a possibly larger out_max × in_max weight
	b []float32        // out
	p *vecmath.PackedB // W and b packed (packWeights), or nil
}

type lnView struct{ w, b []float32 }

// convView is a convolution weight (Cout, Cin, k, k) viewed as the Cout × Cin·k·k matrix of
// its leading slice; with a max-size weight the columns stay contiguous per output row.
type convView struct {
	W                   gemm.Mat
	b                   []float32        // nil when the conv has no bias
	p                   *vecmath.PackedB // W and b packed (packWeights), or nil
	cin, k, stride, pad int
}

// bnFold is an inference BatchNorm folded into a per-channel affine map.
type bnFold struct{ scale, shift []float32 }

type stemView struct {
	typ                 int
	conv1, conv2, conv3 convView // conv stem (types 4/5)
	bn1, bn2, bn3       bnFold
	proj                convView // conv_proj (types 4/5) or proj (type 0)
	mid                 int
}

type layerView struct {
	Layer
	grid int // token grid side at this layer's input

	// Transformer block.
	norm1, norm2 lnView
	q, k, v      gemm.Mat // rows of the fused qkv weight for the first Heads heads of each section
	qb, kb, vb   []float32
	fusedQKV     bool // the three sections are adjacent (all heads used): one GEMM suffices
	qkvW         gemm.Mat
	qkvB         []float32
	qkvP         *vecmath.PackedB // q, k and v rows and biases packed as one (packWeights), or nil
	proj         linearView
	fc1, fc2     linearView

	// Residual spatial reduction.
	norm           lnView
	reduce         convView
	reducePos      gemm.Mat // (g/2)² × Cout
	tokenTransform linearView
	reduceA        []int // reducePacked's row offsets (packWeights) for reduceImages images
	reduceC        []int
}

// NewNet checks that the weights hold arch (exactly, or as a leading slice of a larger
// supernet) and returns a network that runs it. Errors name the tensor and both shapes.
func NewNet(w Weights, arch Arch, in Input, be gemm.Backend, opts NetOptions) (*Net, error) {
	if in.Patch <= 0 || in.Size%in.Patch != 0 {
		return nil, fmt.Errorf("input size %d is not a multiple of patch size %d", in.Size, in.Patch)
	}
	if len(arch.Layers) == 0 {
		return nil, fmt.Errorf("architecture has no blocks")
	}
	n := &Net{arch: arch.Clone(), in: in, be: be, threads: opts.Threads, splitSmall: !opts.NoSplitSmall,
		packWanted: !opts.NoPackedWeights && opts.Device == nil && vecmath.GemmPackedFast()}
	if n.threads <= 0 {
		n.threads = runtime.NumCPU()
	}
	v := viewer{w: w}
	grid := in.Grid()
	c := arch.Stem.Width
	var err error
	if n.stem, err = v.stem(arch.Stem, in); err != nil {
		return nil, err
	}
	if n.tokens, err = v.vec("tokens", c, 3); err != nil {
		return nil, err
	}
	if n.pos, err = v.tokenMat("pos_embed", 1+grid*grid, c); err != nil {
		return nil, err
	}
	n.grids = []int{grid}
	for i, l := range arch.Layers {
		lv := layerView{Layer: l, grid: grid}
		p := fmt.Sprintf("blocks.%d.", i)
		switch l.Type {
		case TypeBlock:
			if l.Dim != c {
				return nil, fmt.Errorf("blocks.%d: width %d, but the stage is %d wide", i, l.Dim, c)
			}
			if l.Exists {
				if err := v.block(&lv, p); err != nil {
					return nil, err
				}
			}
		case TypeReduction:
			if l.In != c {
				return nil, fmt.Errorf("blocks.%d: reduction input %d, but the stage is %d wide", i, l.In, c)
			}
			if grid%2 != 0 {
				return nil, fmt.Errorf("blocks.%d: token grid %d×%d is odd and cannot be reduced (choose an image size divisible by %d)", i, grid, grid, in.Patch*2)
			}
			if err := v.reduction(&lv, p, grid); err != nil {
				return nil, err
			}
			grid /= 2
			c = l.Out
			n.grids = append(n.grids, grid)
		default:
			return nil, fmt.Errorf("blocks.%d: unknown entry type %d", i, l.Type)
		}
		n.layers = append(n.layers, lv)
	}
	if arch.Head.Dim != c {
		return nil, fmt.Errorf("head: width %d, but the last stage is %d wide", arch.Head.Dim, c)
	}
	if n.norm, err = v.ln("norm", c); err != nil {
		return nil, err
	}
	if n.head, err = v.linear("cls_head", arch.Head.Classes, c); err != nil {
		return nil, err
	}
	if opts.Device != nil {
		if n.gpu, err = newGPUNet(n, opts.Device); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// OnGPU reports whether the forward pass runs on a GPU.
func (n *Net) OnGPU() bool { return n.gpu != nil }

// GPUKernels says which build of the GPU kernels runs the network ("" on the CPU).
func (n *Net) GPUKernels() string {
	if n.gpu == nil {
		return ""
	}
	return n.gpu.dw.Kernels()
}

// Arch returns the architecture the network runs.
func (n *Net) Arch() Arch { return n.arch.Clone() }

// Input returns the image geometry the network expects.
func (n *Net) Input() Input { return n.in }

// Classes is the number of logits per image.
func (n *Net) Classes() int { return n.arch.Head.Classes }

// Forward computes logits (batch × classes) for images x (batch × C × H × W, normalised).
// Images are split across worker goroutines; each runs the whole network on its share with
// its own reused workspace, so steady-state calls do not allocate.
func (n *Net) Forward(ctx context.Context, x []float32, batch int, logits []float32) error {
	pix := n.in.Channels * n.in.Size * n.in.Size
	if len(x) < batch*pix {
		return fmt.Errorf("input holds %d values, want %d (%d images of %d×%d×%d)", len(x), batch*pix, batch, n.in.Channels, n.in.Size, n.in.Size)
	}
	if len(logits) < batch*n.Classes() {
		return fmt.Errorf("logits buffer holds %d values, want %d", len(logits), batch*n.Classes())
	}
	if batch == 0 {
		return nil
	}
	if n.gpu != nil {
		return n.forwardGPU(ctx, x, batch, logits)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.packWanted && !n.packed {
		n.packWeights()
		n.packed = true
	}

	workers := min(n.threads, batch)
	per := (batch + workers - 1) / workers
	spare := max(1, n.threads/workers)
	// A chunk of a few dozen token rows (one 32-px image) gains nothing from BLAS threads,
	// which mostly spin on its GEMMs: it runs BLAS at one thread, and its blocks are shared
	// between two goroutines (a pair, split.go) when pairTuner measures that faster.
	small := spare >= 2 && per*(1+n.in.Grid()*n.in.Grid()) <= pairMaxRows
	paired := small && n.splitSmall && n.pairing.choose()
	if t, ok := n.be.(gemm.Threaded); ok {
		// Parallelism over images beats nested BLAS threading; only a batch too small to
		// split gives the spare cores to the BLAS library, unless its chunks are small.
		if small {
			t.SetThreads(1)
		} else {
			t.SetThreads(spare)
		}
	}
	for len(n.workspaces) < workers {
		n.workspaces = append(n.workspaces, &workspace{})
	}
	// The last chunk runs on this goroutine; results go into the workspaces and the Net's
	// WaitGroup, so a steady-state call allocates only the goroutines' closures.
	last := -1
	for wi := 0; wi < workers; wi++ {
		lo, hi := wi*per, min(batch, (wi+1)*per)
		ws := n.workspaces[wi]
		ws.err = nil
		ws.paired = paired
		ws.pieced = small
		if lo >= hi {
			continue
		}
		ws.lo, ws.hi = lo, hi
		if last >= 0 {
			n.wg.Add(1)
			go n.runChunk(ctx, n.workspaces[last], x, logits, pix)
		}
		last = wi
	}
	start := time.Now()
	n.wg.Add(1)
	n.runChunk(ctx, n.workspaces[last], x, logits, pix)
	n.wg.Wait()
	if small && n.splitSmall {
		n.pairing.record(paired, time.Since(start))
	}
	for _, ws := range n.workspaces[:workers] {
		if ws.err != nil {
			return ws.err
		}
	}
	return nil
}

// runChunk runs images [ws.lo, ws.hi) and records the outcome in ws.
func (n *Net) runChunk(ctx context.Context, ws *workspace, x, logits []float32, pix int) {
	defer n.wg.Done()
	c := n.Classes()
	ws.err = n.forwardChunk(ctx, ws, x[ws.lo*pix:ws.hi*pix], ws.hi-ws.lo, logits[ws.lo*c:ws.hi*c])
}

// forwardChunk runs the network on b images with one workspace.
func (n *Net) forwardChunk(ctx context.Context, ws *workspace, x []float32, b int, logits []float32) error {
	ws.ensure(n, b)
	var p *pair
	if ws.paired {
		p = &ws.pair
		p.start(n, ws)
		defer p.stop()
	}
	grid := n.in.Grid()
	c := n.arch.Stem.Width
	tok := 1 + grid*grid
	pix := n.in.Channels * n.in.Size * n.in.Size

	// Stem and stage-1 tokens: X holds b images × tok rows × c columns, densely.
	X := gemm.NewMat(b*tok, c, ws.x)
	if n.stem.typ == TypeLinearStem {
		for i := 0; i < b; i++ {
			img := X.Sub(i*tok, (i+1)*tok, 0, c)
			n.stemForward(ws, x[i*pix:(i+1)*pix], img.Sub(1, tok, 0, c))
			copy(img.Row(0), n.tokens)
			for r := 0; r < tok; r++ {
				addTo(img.Row(r), n.pos.Row(r))
			}
		}
	} else {
		for i := 0; i < b; i += stemImages {
			nb := min(stemImages, b-i)
			n.convStem(ws, x[i*pix:(i+nb)*pix], nb, X.Sub(i*tok, (i+nb)*tok, 0, c))
		}
	}
	for li := range n.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		l := &n.layers[li]
		switch l.Type {
		case TypeBlock:
			if l.Exists {
				n.blockForward(ws, p, l, X, b, tok)
			}
		case TypeReduction:
			X = n.reductionForward(ws, l, X, b)
			grid /= 2
			tok = 1 + grid*grid
			c = l.Out
		}
	}
	// Final LN on the class token only, then the head.
	cls := gemm.NewMat(b, c, ws.ln)
	layerNormRows(cls, gemm.Mat{Rows: b, Cols: c, Stride: tok * c, Data: X.Data[:(b-1)*tok*c+c]}, n.norm)
	out := gemm.NewMat(b, n.Classes(), logits)
	linearRows(n.be, cls, n.head.W, n.head.b, n.head.p, false, out)
	return nil
}

// blockForward applies one pre-norm transformer block to X in place:
// LN → qkv → attention → proj (+ residual), then LN → MLP (+ residual). With a pair (a
// second goroutine lent to a small chunk, split.go) each step's rows, or attention's heads,
// are shared between the two.
func (n *Net) blockForward(ws *workspace, p *pair, l *layerView, X gemm.Mat, b, tok int) {
	if p == nil && !ws.pieced {
		n.blockIn(ws, l, X, 0, X.Rows)
		n.blockAttention(ws, ws.scores, l, b, tok, 0, b*l.Heads)
		n.blockOut(ws, l, X, 0, X.Rows)
		return
	}
	// With a pair each step is shared (p.run); unpaired small chunks run the same pieces one
	// after another, the same arithmetic.
	step := func(kind jobKind) {
		j := splitJob{kind: kind, l: l, X: X, b: b, tok: tok}
		if p != nil {
			p.run(n, j, ws)
			return
		}
		pieces := j.pieces()
		for i := range pieces {
			n.runPiece(ws, ws.scores, &j, i, pieces)
		}
	}
	if X.Rows > ntMaxRows {
		step(jobBlockIn)
		step(jobAttention)
		step(jobBlockOut)
		return
	}
	// Too few rows to share by rows (the last stage at batch 1: 5): every GEMM is shared by
	// output columns, so each side streams half of the weights, which is what these steps
	// wait on. The LayerNorms (a few rows) run on this goroutine between the steps.
	rows, c := X.Rows, X.Cols
	layerNormRows(gemm.NewMat(rows, c, ws.ln), X, l.norm1)
	step(jobQKVCols)
	step(jobAttention)
	step(jobProjCols)
	layerNormRows(gemm.NewMat(rows, c, ws.ln), X, l.norm2)
	step(jobFC1Cols)
	step(jobFC2Cols)
}

// qkvCols computes output columns [c0, c1) of LN1(X)·Wqkvᵀ + b (LN1 already in ws.ln) for a
// few-row chunk; the range may span the q, k and v sections.
func (n *Net) qkvCols(ws *workspace, l *layerView, rows, c0, c1 int) {
	hd := l.Heads * l.HeadDim
	y := gemm.NewMat(rows, l.Dim, ws.ln)
	qkv := gemm.NewMat(rows, 3*hd, ws.qkv)
	if l.qkvP != nil {
		vecmath.GemmPackedCols(qkv.Data, qkv.Stride, y.Data, y.Stride, rows, l.qkvP, false, c0, c1)
		return
	}
	for s, sec := range [3]struct {
		w gemm.Mat
		b []float32
	}{{l.q, l.qb}, {l.k, l.kb}, {l.v, l.vb}} {
		lo, hi := max(c0, s*hd), min(c1, (s+1)*hd)
		if lo >= hi {
			continue
		}
		dst := qkv.Sub(0, rows, lo, hi)
		mulWT(n.be, y, sec.w.Sub(lo-s*hd, hi-s*hd, 0, l.Dim), false, dst)
		addBiasRows(dst, sec.b[lo-s*hd:hi-s*hd])
	}
}

// projCols adds output columns [c0, c1) of o·Wprojᵀ + b into X (the residual).
func (n *Net) projCols(ws *workspace, l *layerView, X gemm.Mat, c0, c1 int) {
	hd := l.Heads * l.HeadDim
	o := gemm.NewMat(X.Rows, hd, ws.attn)
	if l.proj.p != nil {
		vecmath.GemmPackedCols(X.Data, X.Stride, o.Data, o.Stride, X.Rows, l.proj.p, true, c0, c1)
		return
	}
	dst := X.Sub(0, X.Rows, c0, c1)
	mulWT(n.be, o, l.proj.W.Sub(c0, c1, 0, hd), true, dst)
	addBiasRows(dst, l.proj.b[c0:c1])
}

// fc1Cols computes hidden columns [c0, c1) of GELU(LN2(X)·W1ᵀ + b1) (LN2 already in ws.ln).
func (n *Net) fc1Cols(ws *workspace, l *layerView, rows, c0, c1 int) {
	y := gemm.NewMat(rows, l.Dim, ws.ln)
	if l.fc1.p != nil {
		all := gemm.NewMat(rows, l.MLP, ws.hidden)
		vecmath.GemmPackedCols(all.Data, all.Stride, y.Data, y.Stride, rows, l.fc1.p, false, c0, c1)
		for r := 0; r < rows; r++ {
			vecmath.GELUInPlace(all.Row(r)[c0:c1])
		}
		return
	}
	hid := gemm.NewMat(rows, l.MLP, ws.hidden).Sub(0, rows, c0, c1)
	mulWT(n.be, y, l.fc1.W.Sub(c0, c1, 0, l.Dim), false, hid)
	for r := 0; r < rows; r++ {
		biasGELU(hid.Row(r), l.fc1.b[c0:c1])
	}
}

// fc2Cols adds output columns [c0, c1) of hid·W2ᵀ + b2 into X (the residual).
func (n *Net) fc2Cols(ws *workspace, l *layerView, X gemm.Mat, c0, c1 int) {
	hid := gemm.NewMat(X.Rows, l.MLP, ws.hidden)
	if l.fc2.p != nil {
		vecmath.GemmPackedCols(X.Data, X.Stride, hid.Data, hid.Stride, X.Rows, l.fc2.p, true, c0, c1)
		return
	}
	dst := X.Sub(0, X.Rows, c0, c1)
	mulWT(n.be, hid, l.fc2.W.Sub(c0, c1, 0, l.MLP), true, dst)
	addBiasRows(dst, l.fc2.b[c0:c1])
}

// blockTile is how many token rows blockIn and blockOut take through their steps at a time:
// a chunk's activations (at batch 256, 128 images × 65 rows × 120 hidden units is 4 MB) would
// leave the cache between a GEMM and the elementwise pass after it; a tile's stay in L2, and
// the GEMMs keep 512 rows, enough for BLAS's blocking.
const blockTile = 512

// blockIn is LN → qkv (with bias) for token rows [r0, r1) of X, into ws.ln and ws.qkv.
func (n *Net) blockIn(ws *workspace, l *layerView, X gemm.Mat, r0, r1 int) {
	for t0 := r0; t0 < r1; t0 += blockTile {
		n.blockInTile(ws, l, X, t0, min(r1, t0+blockTile))
	}
}

func (n *Net) blockInTile(ws *workspace, l *layerView, X gemm.Mat, r0, r1 int) {
	rows, c := X.Rows, X.Cols
	hd := l.Heads * l.HeadDim
	y := gemm.NewMat(rows, c, ws.ln).Sub(r0, r1, 0, c)
	layerNormRows(y, X.Sub(r0, r1, 0, c), l.norm1)
	qkv := gemm.NewMat(rows, 3*hd, ws.qkv).Sub(r0, r1, 0, 3*hd)
	if l.qkvP != nil {
		linearRows(n.be, y, gemm.Mat{}, nil, l.qkvP, false, qkv)
	} else if l.fusedQKV {
		mulWT(n.be, y, l.qkvW, false, qkv)
		addBiasRows(qkv, l.qkvB)
	} else {
		for s, sec := range [3]struct {
			w gemm.Mat
			b []float32
		}{{l.q, l.qb}, {l.k, l.kb}, {l.v, l.vb}} {
			dst := qkv.Sub(0, r1-r0, s*hd, (s+1)*hd)
			mulWT(n.be, y, sec.w, false, dst)
			addBiasRows(dst, sec.b)
		}
	}
}

// blockAttention runs attention units [u0, u1) of the chunk's b images, unit i·Heads+h being
// head h of image i, from ws.qkv into ws.attn, with its own scratch.
func (n *Net) blockAttention(ws *workspace, scratch []float32, l *layerView, b, tok, u0, u1 int) {
	rows, hd := b*tok, l.Heads*l.HeadDim
	qkv := gemm.NewMat(rows, 3*hd, ws.qkv)
	o := gemm.NewMat(rows, hd, ws.attn)
	if useSmallAttention(tok, l.HeadDim) {
		attentionSmallUnits(o, qkv, scratch, tok, l.Heads, l.HeadDim, u0, u1)
	} else {
		attentionUnits(n.be, o, qkv, scratch, tok, l.Heads, l.HeadDim, u0, u1)
	}
}

// blockOut is proj (+ residual) → LN → MLP (+ residual) for token rows [r0, r1) of X, a
// tile at a time.
func (n *Net) blockOut(ws *workspace, l *layerView, X gemm.Mat, r0, r1 int) {
	for t0 := r0; t0 < r1; t0 += blockTile {
		n.blockOutTile(ws, l, X, t0, min(r1, t0+blockTile))
	}
}

func (n *Net) blockOutTile(ws *workspace, l *layerView, X gemm.Mat, r0, r1 int) {
	rows, c := X.Rows, X.Cols
	hd := l.Heads * l.HeadDim
	o := gemm.NewMat(rows, hd, ws.attn).Sub(r0, r1, 0, hd)
	Xr := X.Sub(r0, r1, 0, c)
	// x += proj(o) + b: the residual is the GEMM's accumulator.
	linearRows(n.be, o, l.proj.W, l.proj.b, l.proj.p, true, Xr)
	y := gemm.NewMat(rows, c, ws.ln).Sub(r0, r1, 0, c)
	layerNormRows(y, Xr, l.norm2)
	hid := gemm.NewMat(rows, l.MLP, ws.hidden).Sub(r0, r1, 0, l.MLP)
	if l.fc1.p != nil {
		// The packed GEMM adds the bias; the tile's hidden rows are contiguous, so GELU is
		// one call over all of them.
		linearRows(n.be, y, l.fc1.W, l.fc1.b, l.fc1.p, false, hid)
		vecmath.GELUInPlace(hid.Data[:(r1-r0)*l.MLP])
	} else {
		mulWT(n.be, y, l.fc1.W, false, hid)
		for r := 0; r < r1-r0; r++ {
			biasGELU(hid.Row(r), l.fc1.b)
		}
	}
	linearRows(n.be, hid, l.fc2.W, l.fc2.b, l.fc2.p, true, Xr)
}

// reductionForward applies a residual spatial reduction and returns the new token matrix,
// which lives in the workspace's other token buffer. The class tokens of all b images are one
// GEMM (strided views, a row per image); the patch convs run reduceImages images per GEMM,
// their im2col rows stacked, through scratch from which each output row is assembled.
func (n *Net) reductionForward(ws *workspace, l *layerView, X gemm.Mat, b int) gemm.Mat {
	g := l.grid
	tokIn, g2 := 1+g*g, g/2
	gg := g2 * g2
	tokOut := 1 + gg
	cin, cout := l.In, l.Out
	y := gemm.NewMat(X.Rows, cin, ws.ln)
	layerNormRows(y, X, l.norm)
	ws.swapTokens()
	out := gemm.NewMat(b*tokOut, cout, ws.x)
	// Class tokens: LN → Linear, plus the un-normalised token zero-padded to cout.
	clsIn := gemm.Mat{Rows: b, Cols: cin, Stride: tokIn * cin, Data: y.Data[:(b-1)*tokIn*cin+cin]}
	clsOut := gemm.Mat{Rows: b, Cols: cout, Stride: tokOut * cout, Data: out.Data[:(b-1)*tokOut*cout+cout]}
	t := &l.tokenTransform
	linearRows(n.be, clsIn, t.W, t.b, t.p, false, clsOut)
	for i := 0; i < b; i++ {
		addTo(out.Row(i * tokOut)[:cin], X.Row(i*tokIn))
	}
	// Patches: 3×3/s2/p1 conv of the LN'd grid (tokens are row-major h·g+w, HWC).
	if l.reduce.p != nil {
		n.reducePacked(ws, l, X, y, out, b)
		return out
	}
	for i0 := 0; i0 < b; i0 += reduceImages {
		nb := min(reduceImages, b-i0)
		cols := gemm.NewMat(nb*gg, cin*9, ws.cols)
		for i := 0; i < nb; i++ {
			yi := y.Sub((i0+i)*tokIn+1, (i0+i+1)*tokIn, 0, cin)
			im2colHWC(cols.Sub(i*gg, (i+1)*gg, 0, cin*9), yi, g, g, 3, 2, 1)
		}
		patches := gemm.NewMat(nb*gg, cout, ws.patches)
		linearRows(n.be, cols, l.reduce.W, l.reduce.b, l.reduce.p, false, patches)
		for i := 0; i < nb; i++ {
			xi := X.Sub((i0+i)*tokIn, (i0+i+1)*tokIn, 0, cin)
			oi := out.Sub((i0+i)*tokOut, (i0+i+1)*tokOut, 0, cout)
			for r := 0; r < gg; r++ {
				row := oi.Row(1 + r)
				copy(row, patches.Row(i*gg+r))
				reduceSkip(row, xi, l.reducePos.Row(r), r, g)
			}
		}
	}
	return out
}

// reduceSkip adds a reduced token's position embedding and its skip path, the 2×2 average
// pool of the pre-LN patches (xi: one image's input tokens, grid g) on the first cin
// channels, to row, output token r's patch conv.
func reduceSkip(row []float32, xi gemm.Mat, pos []float32, r, g int) {
	addTo(row, pos)
	g2 := g / 2
	oy, ox := r/g2, r%g2
	p00 := xi.Row(1 + (2*oy)*g + 2*ox)
	p01 := xi.Row(1 + (2*oy)*g + 2*ox + 1)
	p10 := xi.Row(1 + (2*oy+1)*g + 2*ox)
	p11 := xi.Row(1 + (2*oy+1)*g + 2*ox + 1)
	for ch := range xi.Cols {
		row[ch] += (p00[ch] + p01[ch] + p10[ch] + p11[ch]) * 0.25
	}
}

// reducePacked is a reduction's patch conv as an implicit convolution (vecmath.ConvPacked)
// over reduceImages images at a time: their LN'd grids y are copied into zero-bordered HWC
// images, and each output token is written straight into its row of out, then gets its
// position embedding and skip path.
func (n *Net) reducePacked(ws *workspace, l *layerView, X, y, out gemm.Mat, b int) {
	g, cin := l.grid, l.In
	gp := g + 2
	gg := (g / 2) * (g / 2)
	tokIn, tokOut := 1+g*g, 1+gg
	stride := gp * gp * cin
	segs := [3]int{0, gp * cin, 2 * gp * cin}
	for i0 := 0; i0 < b; i0 += reduceImages {
		nb := min(reduceImages, b-i0)
		pad := ws.padGrid[:nb*stride]
		clearBorder(pad, nb, gp, cin)
		for i := 0; i < nb; i++ {
			src := y.Data[((i0+i)*tokIn+1)*cin:]
			for r := 0; r < g; r++ {
				copy(pad[i*stride+((r+1)*gp+1)*cin:i*stride+((r+1)*gp+1+g)*cin], src[r*g*cin:(r+1)*g*cin])
			}
		}
		dst := out.Data[i0*tokOut*out.Stride:]
		vecmath.ConvPacked(dst, l.reduceC[:nb*gg], pad, l.reduceA[:nb*gg], segs[:], l.reduce.p, false, false)
		for i := 0; i < nb; i++ {
			xi := X.Sub((i0+i)*tokIn, (i0+i+1)*tokIn, 0, cin)
			for r := 0; r < gg; r++ {
				reduceSkip(out.Row((i0+i)*tokOut+1+r), xi, l.reducePos.Row(r), r, g)
			}
		}
	}
}

// reduceImages is how many images a reduction's patch conv takes per GEMM (as the stem's).
const reduceImages = stemImages

// stemForward embeds one image (C × H × W) into grid² tokens (rows of dst) with the linear
// stem (type 0); conv stems run in convStem.
func (n *Net) stemForward(ws *workspace, img []float32, dst gemm.Mat) {
	s := &n.stem
	in := n.in
	g := in.Grid()
	cols := gemm.NewMat(g*g, in.Channels*in.Patch*in.Patch, ws.cols)
	im2colCHW(cols, img, in.Channels, in.Size, in.Size, in.Patch, in.Patch, 0)
	linearRows(n.be, cols, s.proj.W, s.proj.b, s.proj.p, false, dst)
}

// stemImages is how many images the conv stem embeds at once: their im2col columns lie side
// by side, so each conv is one GEMM of mid × stemImages·HW (12 × 2048 × 108 for the 32-px
// stems) instead of one per image, with the largest im2col (about 0.9 MB) still in cache.
const stemImages = 8

// convStem embeds nb images (C × H × W each) with the conv stem (types 4/5) and writes their
// stage-1 tokens, class token and position embedding included, into X (nb·tok rows).
// Activations are mid × nb·HW matrices: channel ch of image i is row ch, columns
// [i·HW, (i+1)·HW), so every BatchNorm+ReLU is one call per channel for all nb images.
func (n *Net) convStem(ws *workspace, x []float32, nb int, X gemm.Mat) {
	s := &n.stem
	if s.conv1.p != nil {
		n.convStemPacked(ws, x, nb, X)
		return
	}
	in := n.in
	h := convOut(in.Size, 3, 2, 1)
	hw := h * h
	m := s.mid
	wide := nb * hw
	x0 := gemm.NewMat(m, wide, ws.stemA)
	t := gemm.NewMat(m, wide, ws.stemB)
	t2 := gemm.NewMat(m, wide, ws.stemC)
	colsT := gemm.NewMat(max(m, in.Channels)*9, wide, ws.cols)
	// conv: out(Cout × nb·HW) = W(Cout × Cin·9) · cols(Cin·9 × nb·HW). Image i of src starts
	// at src[i·imgStride] with channel planes chanStride apart.
	conv := func(dst gemm.Mat, src []float32, imgStride, chanStride, cin, size int, cv convView, bn bnFold) {
		c := colsT.Sub(0, cin*9, 0, wide)
		for i := 0; i < nb; i++ {
			im2colT(c.Sub(0, cin*9, i*hw, (i+1)*hw), src[i*imgStride:], chanStride, cin, size, size, 3, cv.stride, cv.pad)
		}
		gemm.Mul(n.be, false, false, 1, cv.W, c, 0, dst)
		for ch := 0; ch < dst.Rows; ch++ {
			bnReLU(dst.Row(ch), bn.scale[ch], bn.shift[ch])
		}
	}
	pix := in.Channels * in.Size * in.Size
	conv(x0, x, pix, in.Size*in.Size, in.Channels, in.Size, s.conv1, s.bn1)
	conv(t, x0.Data, hw, wide, m, h, s.conv2, s.bn2)
	conv(t2, t.Data, hw, wide, m, h, s.conv3, s.bn3)
	addTo(t2.Data, x0.Data)
	// conv_proj: kernel = stride = patch/2; tokens(nb·g² × C) = cols(nb·g² × m·k²) · Wᵀ, into
	// scratch (ws.ln is free until the first block), then placed after each class token.
	k := in.Patch / 2
	g := h / k
	gg := g * g
	cols := gemm.NewMat(nb*gg, m*k*k, ws.cols)
	for i := 0; i < nb; i++ {
		im2colPatches(cols.Sub(i*gg, (i+1)*gg, 0, m*k*k), t2.Data[i*hw:], wide, m, h, h, k)
	}
	c := X.Cols
	tokens := gemm.NewMat(nb*gg, c, ws.ln)
	linearRows(n.be, cols, s.proj.W, s.proj.b, s.proj.p, false, tokens)
	tok := 1 + gg
	for i := 0; i < nb; i++ {
		cls := X.Row(i * tok)
		copy(cls, n.tokens)
		addTo(cls, n.pos.Row(0))
		for r := 0; r < gg; r++ {
			row := X.Row(i*tok + 1 + r)
			copy(row, tokens.Row(i*gg+r))
			addTo(row, n.pos.Row(1+r))
		}
	}
}

// convStemPacked is convStem with implicit convolutions (vecmath.ConvPacked) over
// zero-bordered HWC images: the BatchNorms are folded into the packed weights and the ReLUs
// into the kernels, conv3 adds its output into conv1's (the stem's residual), and conv_proj
// writes each token straight into its row of X.
func (n *Net) convStemPacked(ws *workspace, x []float32, nb int, X gemm.Mat) {
	s := &n.stem
	in := n.in
	C, S := in.Channels, in.Size
	h := convOut(S, 3, 2, 1)
	hw := h * h
	m := s.mid
	sp, hp := S+2, h+2
	inStride, midStride := sp*sp*C, hp*hp*m
	pin, x0, t := ws.padIn[:nb*inStride], ws.padA[:nb*midStride], ws.padB[:nb*midStride]
	clearBorder(pin, nb, sp, C)
	clearBorder(x0, nb, hp, m)
	clearBorder(t, nb, hp, m)
	pix := C * S * S
	for i := 0; i < nb; i++ {
		img := x[i*pix : (i+1)*pix]
		for y := 0; y < S; y++ {
			dst := pin[i*inStride+((y+1)*sp+1)*C : i*inStride+((y+1)*sp+1+S)*C]
			if C == 1 {
				copy(dst, img[y*S:(y+1)*S])
				continue
			}
			for xx := 0; xx < S; xx++ {
				for ci := 0; ci < C; ci++ {
					dst[xx*C+ci] = img[ci*S*S+y*S+xx]
				}
			}
		}
	}
	pl := &n.stemPlan
	vecmath.ConvPacked(x0, pl.midC[:nb*hw], pin, pl.conv1A[:nb*hw], pl.conv1Segs, s.conv1.p, true, false)
	// conv2 (3×3, stride 1) into t, then conv3 back onto x0: x0 + relu(bn(conv3(t))).
	vecmath.ConvPacked(t, pl.midC[:nb*hw], x0, pl.conv2A[:nb*hw], pl.conv2Segs, s.conv2.p, true, false)
	vecmath.ConvPacked(x0, pl.midC[:nb*hw], t, pl.conv2A[:nb*hw], pl.conv2Segs, s.conv3.p, true, true)
	// conv_proj: kernel = stride = patch/2 over the interior of x0, into the token rows.
	gg := len(pl.projA) / stemImages
	tok := 1 + gg
	vecmath.ConvPacked(X.Data, pl.projC[:nb*gg], x0, pl.projA[:nb*gg], pl.projSegs, s.proj.p, false, false)
	for i := 0; i < nb; i++ {
		cls := X.Row(i * tok)
		copy(cls, n.tokens)
		addTo(cls, n.pos.Row(0))
		for r := 0; r < gg; r++ {
			addTo(X.Row(i*tok+1+r), n.pos.Row(1+r))
		}
	}
}

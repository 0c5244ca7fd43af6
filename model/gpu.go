package model

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"unsafe"

	"gonum.org/v1/gonum/blas"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/gemm/cuda"
	"github.com/resnas/resnas/internal/gpukernels"
)

// DeviceWeights are a checkpoint's tensors uploaded to a GPU once. Every Net built with them
// (NetOptions.Device) runs on that GPU, its weights strided views of the uploaded supernet
// tensors, as on the CPU. They also hold the GPU's activation workspace, shared by all those
// Nets: forward passes on one DeviceWeights run one at a time.
type DeviceWeights struct {
	dev   *cuda.Device
	kern  *gpukernels.Kernels
	w     Weights // kept alive: spans refer to its host memory
	store *cuda.Buffer
	spans []hostSpan // sorted by host address

	mu     sync.Mutex
	extras map[uint64]extraVec // host-derived vectors (folded BatchNorm) by content hash
	arenas []*cuda.Buffer      // their storage; the last has room from used on
	used   int
	ws     gpuWorkspace
	budget int // workspace bytes; larger batches run in chunks of images
	closed bool
}

// extraVec is an uploaded host-derived vector and the values it holds.
type extraVec struct {
	values []float32
	at     cuda.DevPtr
}

// hostSpan maps a tensor's host values to their place in the device store.
type hostSpan struct {
	start uintptr
	n     int
	off   int
}

const (
	arenaFloats = 1 << 16
	// defaultGPUBudget bounds the activation workspace: 1 GiB keeps Tiny at 224 px in chunks
	// of about 60 images, which fill an H100, and fits any GPU the weights fit on.
	defaultGPUBudget = 1 << 30
)

// UploadWeights copies w to dev (one allocation) and loads the forward pass's kernels.
func UploadWeights(dev *cuda.Device, w Weights) (*DeviceWeights, error) {
	names := make([]string, 0, len(w))
	total := 0
	for name, t := range w {
		if t.IsHalf() {
			return nil, fmt.Errorf("upload weights: %s is held in float16, which only the CPU path reads (load without float16 weights to run on the GPU)", name)
		}
		if len(t.Data) > 0 {
			names = append(names, name)
			total += len(t.Data)
		}
	}
	if total == 0 {
		return nil, fmt.Errorf("upload weights: no tensors")
	}
	slices.Sort(names)
	kern, err := gpukernels.Load(dev)
	if err != nil {
		return nil, err
	}
	store, err := dev.Alloc(total)
	if err != nil {
		kern.Close()
		return nil, fmt.Errorf("upload weights: %w", err)
	}
	dw := &DeviceWeights{dev: dev, kern: kern, w: w, store: store, extras: map[uint64]extraVec{}, budget: defaultGPUBudget}
	off := 0
	for _, name := range names {
		data := w[name].Data
		if err := dev.Upload(store, off, data); err != nil {
			dw.Close()
			return nil, fmt.Errorf("upload weights: %s: %w", name, err)
		}
		dw.spans = append(dw.spans, hostSpan{start: uintptr(unsafe.Pointer(&data[0])), n: len(data), off: off})
		off += len(data)
	}
	slices.SortFunc(dw.spans, func(a, b hostSpan) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return 0
	})
	return dw, nil
}

// SetWorkspaceBudget bounds the activation memory forward passes use (bytes, default 1 GiB);
// batches that need more run in chunks of images. At least one image always runs.
func (dw *DeviceWeights) SetWorkspaceBudget(bytes int) {
	dw.mu.Lock()
	defer dw.mu.Unlock()
	dw.budget = bytes
}

// Kernels says which build of the GPU kernels the driver loaded, e.g. "PTX for sm_75".
func (dw *DeviceWeights) Kernels() string { return dw.kern.Target() }

// WorkspaceBytes is the GPU memory the activation workspace holds now.
func (dw *DeviceWeights) WorkspaceBytes() int {
	dw.mu.Lock()
	defer dw.mu.Unlock()
	n := 0
	for _, p := range dw.ws.buffers() {
		if *p != nil {
			n += (*p).Len()
		}
	}
	return 4 * n
}

// Device is the GPU the weights live on.
func (dw *DeviceWeights) Device() *cuda.Device { return dw.dev }

// Close frees the weights, workspace and kernels; Nets built on them must not run afterwards.
func (dw *DeviceWeights) Close() error {
	dw.mu.Lock()
	defer dw.mu.Unlock()
	if dw.closed {
		return nil
	}
	dw.closed = true
	errs := []error{dw.store.Free(), dw.ws.free(), dw.kern.Close()}
	for _, a := range dw.arenas {
		errs = append(errs, a.Free())
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// locate finds the device offset of host values v[:n], which must lie inside one uploaded
// tensor (a view of the weights dw was made from).
func (dw *DeviceWeights) locate(v []float32, n int) (int, bool) {
	if n == 0 || len(v) == 0 {
		return 0, false
	}
	p := uintptr(unsafe.Pointer(&v[0]))
	i, _ := slices.BinarySearchFunc(dw.spans, p, func(s hostSpan, p uintptr) int {
		switch {
		case s.start+uintptr(s.n)*4 <= p:
			return -1
		case s.start > p:
			return 1
		}
		return 0
	})
	if i == len(dw.spans) {
		return 0, false
	}
	s := dw.spans[i]
	if p < s.start {
		return 0, false
	}
	first := int(p-s.start) / 4
	if first+n > s.n {
		return 0, false
	}
	return s.off + first, true
}

// extra uploads a host-derived vector once (by content) and returns its device address.
func (dw *DeviceWeights) extra(v []float32) (cuda.DevPtr, error) {
	h := fnv.New64a()
	h.Write(unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)))
	key := h.Sum64() ^ uint64(len(v))<<48
	dw.mu.Lock()
	defer dw.mu.Unlock()
	if e, ok := dw.extras[key]; ok && slices.Equal(e.values, v) {
		return e.at, nil
	}
	if len(dw.arenas) == 0 || dw.used+len(v) > dw.arenas[len(dw.arenas)-1].Len() {
		a, err := dw.dev.Alloc(max(arenaFloats, len(v)))
		if err != nil {
			return 0, err
		}
		dw.arenas = append(dw.arenas, a)
		dw.used = 0
	}
	a := dw.arenas[len(dw.arenas)-1]
	if err := dw.dev.Upload(a, dw.used, v); err != nil {
		return 0, err
	}
	p := a.Ptr(dw.used)
	dw.used += len(v)
	dw.extras[key] = extraVec{values: slices.Clone(v), at: p}
	return p, nil
}

// gpuLinear is a weight matrix (a view of the device store) and its bias.
type gpuLinear struct {
	W cuda.DMat
	b cuda.DevPtr
}

type gpuLN struct{ w, b cuda.DevPtr }

type gpuLayer struct {
	norm1, norm2   gpuLN
	qkv            [3]gpuLinear // q, k and v sections
	qkvFused       gpuLinear    // all three, when adjacent
	proj, fc1, fc2 gpuLinear

	norm           gpuLN
	reduce         gpuLinear
	reducePos      cuda.DMat
	tokenTransform gpuLinear
}

// gpuNet is a Net's weights on the GPU.
type gpuNet struct {
	dw        *DeviceWeights
	proj      gpuLinear    // linear stem or conv_proj
	conv      [3]cuda.DMat // conv stem
	bnScale   [3]cuda.DevPtr
	bnShift   [3]cuda.DevPtr
	tokens    cuda.DevPtr
	pos       cuda.DMat
	layers    []gpuLayer
	norm      gpuLN
	head      gpuLinear
	imageSize int // floats of workspace one image needs, for chunking
}

// translator turns a Net's host views into device views, keeping the first failure.
type translator struct {
	dw  *DeviceWeights
	err error
}

func (t *translator) fail(what string) {
	if t.err == nil {
		t.err = fmt.Errorf("%s: not among the weights uploaded to the GPU (Net built from other weights than its DeviceWeights?)", what)
	}
}

func (t *translator) vec(what string, v []float32) cuda.DevPtr {
	off, ok := t.dw.locate(v, len(v))
	if !ok {
		t.fail(what)
		return 0
	}
	return t.dw.store.Ptr(off)
}

func (t *translator) mat(what string, m gemm.Mat) cuda.DMat {
	n := 0
	if m.Rows > 0 {
		n = (m.Rows-1)*m.Stride + m.Cols
	}
	off, ok := t.dw.locate(m.Data, n)
	if !ok {
		t.fail(what)
		return cuda.DMat{}
	}
	return cuda.DMat{Buf: t.dw.store, Off: off, Rows: m.Rows, Cols: m.Cols, Stride: m.Stride}
}

func (t *translator) linear(what string, l linearView) gpuLinear {
	return gpuLinear{W: t.mat(what+".weight", l.W), b: t.vec(what+".bias", l.b)}
}

func (t *translator) ln(what string, l lnView) gpuLN {
	return gpuLN{w: t.vec(what+".weight", l.w), b: t.vec(what+".bias", l.b)}
}

func (t *translator) extra(v []float32) cuda.DevPtr {
	p, err := t.dw.extra(v)
	if err != nil && t.err == nil {
		t.err = err
	}
	return p
}

// newGPUNet translates every view of n to the device.
func newGPUNet(n *Net, dw *DeviceWeights) (*gpuNet, error) {
	t := &translator{dw: dw}
	g := &gpuNet{dw: dw}
	s := &n.stem
	g.proj = gpuLinear{W: t.mat("stem projection", s.proj.W), b: t.vec("stem bias", s.proj.b)}
	if s.typ != TypeLinearStem {
		for i, cv := range []convView{s.conv1, s.conv2, s.conv3} {
			g.conv[i] = t.mat(fmt.Sprintf("patch_embed.conv%d", i+1), cv.W)
		}
		for i, bn := range []bnFold{s.bn1, s.bn2, s.bn3} {
			g.bnScale[i], g.bnShift[i] = t.extra(bn.scale), t.extra(bn.shift)
		}
	}
	g.tokens = t.vec("tokens", n.tokens)
	g.pos = t.mat("pos_embed", n.pos)
	for i := range n.layers {
		l := &n.layers[i]
		p := fmt.Sprintf("blocks.%d.", i)
		var gl gpuLayer
		switch {
		case l.Type == TypeBlock && l.Exists:
			gl.norm1, gl.norm2 = t.ln(p+"norm1", l.norm1), t.ln(p+"norm2", l.norm2)
			gl.qkv[0] = gpuLinear{t.mat(p+"q", l.q), t.vec(p+"q bias", l.qb)}
			gl.qkv[1] = gpuLinear{t.mat(p+"k", l.k), t.vec(p+"k bias", l.kb)}
			gl.qkv[2] = gpuLinear{t.mat(p+"v", l.v), t.vec(p+"v bias", l.vb)}
			if l.fusedQKV {
				gl.qkvFused = gpuLinear{t.mat(p+"qkv", l.qkvW), t.vec(p+"qkv bias", l.qkvB)}
			}
			gl.proj = t.linear(p+"attn.proj", l.proj)
			gl.fc1, gl.fc2 = t.linear(p+"mlp.fc1", l.fc1), t.linear(p+"mlp.fc2", l.fc2)
		case l.Type == TypeReduction:
			gl.norm = t.ln(p+"norm", l.norm)
			gl.reduce = gpuLinear{W: t.mat(p+"patch_reduce", l.reduce.W), b: t.vec(p+"patch_reduce.bias", l.reduce.b)}
			gl.reducePos = t.mat(p+"pos_embed", l.reducePos)
			gl.tokenTransform = t.linear(p+"token_transform", l.tokenTransform)
		}
		g.layers = append(g.layers, gl)
	}
	g.norm = t.ln("norm", n.norm)
	g.head = t.linear("cls_head", n.head)
	if t.err != nil {
		return nil, t.err
	}
	g.imageSize = gpuSizes(n, 1).total()
	return g, nil
}

// gpuSizeList counts the GPU workspace floats for a chunk of images: every activation of
// every image of the chunk, since the layers run batched over it.
type gpuSizeList struct {
	input, tokens, qkv, attn, hidden, scores, cols, stem, logits int
}

func (s gpuSizeList) total() int {
	return s.input + 3*s.tokens + s.qkv + s.attn + s.hidden + s.scores + s.cols + 3*s.stem + s.logits
}

func gpuSizes(n *Net, b int) gpuSizeList {
	s := n.imageSizes()
	in := n.in
	return gpuSizeList{
		input: b * in.Channels * in.Size * in.Size, logits: b * n.Classes(),
		tokens: b * s.tokens, qkv: b * s.qkv, attn: b * s.attn, hidden: b * s.hidden,
		scores: b * s.allScores, cols: b * s.cols, stem: b * s.stem,
	}
}

// gpuWorkspace holds activations on the GPU; buffers only grow.
type gpuWorkspace struct {
	input, x, xAlt, ln, qkv, attn, hidden, scores, cols, stemA, stemB, stemC, logits *cuda.Buffer
}

func (ws *gpuWorkspace) buffers() []**cuda.Buffer {
	return []**cuda.Buffer{&ws.input, &ws.x, &ws.xAlt, &ws.ln, &ws.qkv, &ws.attn, &ws.hidden, &ws.scores, &ws.cols,
		&ws.stemA, &ws.stemB, &ws.stemC, &ws.logits}
}

// ensure makes every buffer hold at least what s asks. Buffers only grow, except when growing
// them would pass budget bytes in all (each Net sized its chunks for its own profile of
// activations, so the largest of each buffer could add up to more): then they are reallocated
// at exactly s.
func (ws *gpuWorkspace) ensure(dev *cuda.Device, s gpuSizeList, budget int) error {
	want := []int{s.input, s.tokens, s.tokens, s.tokens, s.qkv, s.attn, s.hidden, s.scores, s.cols, s.stem, s.stem, s.stem, s.logits}
	grown := 0
	for i, p := range ws.buffers() {
		n := max(1, want[i])
		if *p != nil {
			n = max(n, (*p).Len())
		}
		grown += n
	}
	shrink := grown*4 > budget
	for i, p := range ws.buffers() {
		n := max(1, want[i])
		if *p != nil && (*p).Len() >= n && !(shrink && (*p).Len() > n) {
			continue
		}
		if err := (*p).Free(); err != nil {
			return err
		}
		*p = nil
		b, err := dev.Alloc(n)
		if err != nil {
			return err
		}
		*p = b
	}
	return nil
}

func (ws *gpuWorkspace) free() error {
	var first error
	for _, p := range ws.buffers() {
		if err := (*p).Free(); err != nil && first == nil {
			first = err
		}
		*p = nil
	}
	return first
}

// forwardGPU runs Forward on the GPU, in chunks of images that fit the workspace budget.
func (n *Net) forwardGPU(ctx context.Context, x []float32, batch int, logits []float32) error {
	g := n.gpu
	dw := g.dw
	dw.mu.Lock()
	defer dw.mu.Unlock()
	if dw.closed {
		return fmt.Errorf("GPU weights already closed")
	}
	per := max(1, min(batch, dw.budget/4/max(1, g.imageSize)))
	pix := n.in.Channels * n.in.Size * n.in.Size
	classes := n.Classes()
	for lo := 0; lo < batch; lo += per {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(batch, lo+per)
		if err := n.gpuChunk(x[lo*pix:hi*pix], hi-lo, logits[lo*classes:hi*classes]); err != nil {
			return fmt.Errorf("GPU forward: %w", err)
		}
	}
	return nil
}

// gpuChunk runs b images: the CPU forward's steps, batched over images, every activation on
// the GPU. Only the images go up and the logits come down. The calls, which only queue work,
// are issued as one batch from this goroutine.
func (n *Net) gpuChunk(x []float32, b int, logits []float32) error {
	dw := n.gpu.dw
	if err := dw.ws.ensure(dw.dev, gpuSizes(n, b), dw.budget); err != nil {
		return err
	}
	return dw.dev.Batch(func(q *cuda.Batch) error { return n.gpuQueue(q, x, b, logits) })
}

func (n *Net) gpuQueue(q *cuda.Batch, x []float32, b int, logits []float32) error {
	g := n.gpu
	dw := g.dw
	k := dw.kern.In(q)
	ws := &dw.ws
	if err := q.Upload(ws.input, 0, x); err != nil {
		return err
	}
	e := errs{}
	in := n.in
	grid, c := in.Grid(), n.arch.Stem.Width
	tok := 1 + grid*grid
	xBuf, altBuf := ws.x, ws.xAlt
	X := cuda.DMat{Buf: xBuf, Rows: b * tok, Cols: c, Stride: c}

	// Stem: image patches → rows 1.. of each image's token block.
	src := ws.input
	channels, size, patch := in.Channels, in.Size, in.Patch
	if n.stem.typ != TypeLinearStem {
		m := n.stem.mid
		h := convOut(in.Size, 3, 2, 1)
		hw := h * h
		conv := func(dst, from *cuda.Buffer, i, cin, size, stride int) {
			geom := gpukernels.Conv{Batch: b, Channels: cin, Size: size, Kernel: 3, Stride: stride, Pad: 1}
			e.add(k.Im2colCols(ws.cols, 0, from, 0, geom))
			W := g.conv[i]
			e.add(q.SgemmStridedBatched(blas.NoTrans, blas.NoTrans, m, hw, cin*9, 1, W.Buf, W.Off, W.Stride, 0,
				ws.cols, 0, hw, cin*9*hw, 0, dst, 0, hw, m*hw, b))
			e.add(k.ScaleShiftReLU(dst, g.bnScale[i], g.bnShift[i], b, m, hw))
		}
		conv(ws.stemA, ws.input, 0, in.Channels, in.Size, 2)
		conv(ws.stemB, ws.stemA, 1, m, h, 1)
		conv(ws.stemC, ws.stemB, 2, m, h, 1)
		e.add(k.Add(ws.stemC, ws.stemA, b*m*hw))
		src, channels, size, patch = ws.stemC, m, h, in.Patch/2
	}
	geom := gpukernels.Conv{Batch: b, Channels: channels, Size: size, Kernel: patch, Stride: patch}
	e.add(k.Im2colRows(ws.cols, 0, src, 0, geom))
	K := channels * patch * patch
	P := g.proj.W
	e.add(q.SgemmStridedBatched(blas.NoTrans, blas.Trans, grid*grid, c, K, 1, ws.cols, 0, K, grid*grid*K,
		P.Buf, P.Off, P.Stride, 0, 0, xBuf, c, c, tok*c, b))
	e.add(k.EmbedTokens(X, g.tokens, g.proj.b, g.pos, b, tok))

	for li := range n.layers {
		if e.err != nil {
			return e.err
		}
		l, gl := &n.layers[li], &g.layers[li]
		switch l.Type {
		case TypeBlock:
			if l.Exists {
				n.gpuBlock(q, k, &e, l, gl, X, b, tok)
			}
		case TypeReduction:
			gg := l.grid
			tokIn, g2 := 1+gg*gg, gg/2
			tokOut := 1 + g2*g2
			cin, cout := l.In, l.Out
			Y := cuda.DMat{Buf: ws.ln, Rows: b * tokIn, Cols: cin, Stride: cin}
			e.add(k.LayerNorm(Y, X, gl.norm.w, gl.norm.b, lnEps))
			out := cuda.DMat{Buf: altBuf, Rows: b * tokOut, Cols: cout, Stride: cout}
			clsIn := cuda.DMat{Buf: ws.ln, Rows: b, Cols: cin, Stride: tokIn * cin}
			clsOut := cuda.DMat{Buf: altBuf, Rows: b, Cols: cout, Stride: tokOut * cout}
			e.add(q.Mul(false, true, 1, clsIn, gl.tokenTransform.W, 0, clsOut))
			e.add(k.Im2colTokens(ws.cols, ws.ln, cin, tokIn*cin, b, gg, cin))
			R := gl.reduce.W
			e.add(q.SgemmStridedBatched(blas.NoTrans, blas.Trans, g2*g2, cout, cin*9, 1, ws.cols, 0, cin*9, g2*g2*cin*9,
				R.Buf, R.Off, R.Stride, 0, 0, altBuf, cout, cout, tokOut*cout, b))
			e.add(k.ReduceFinish(out, X, gl.tokenTransform.b, gl.reduce.b, gl.reducePos, b, gg))
			xBuf, altBuf = altBuf, xBuf
			X = out
			grid, c, tok = g2, cout, tokOut
		}
	}
	cls := cuda.DMat{Buf: ws.ln, Rows: b, Cols: c, Stride: c}
	e.add(k.LayerNorm(cls, cuda.DMat{Buf: X.Buf, Rows: b, Cols: c, Stride: tok * c}, g.norm.w, g.norm.b, lnEps))
	out := cuda.DMat{Buf: ws.logits, Rows: b, Cols: n.Classes(), Stride: n.Classes()}
	e.add(q.Mul(false, true, 1, cls, g.head.W, 0, out))
	e.add(k.BiasRows(out, g.head.b))
	if e.err != nil {
		return e.err
	}
	return q.Download(logits[:b*n.Classes()], ws.logits, 0)
}

// gpuBlock queues one pre-norm transformer block on X (b images of tok rows), in place:
// LN → qkv → attention (gpuAttention) → proj (+ residual), then LN → MLP (+ residual).
func (n *Net) gpuBlock(q *cuda.Batch, k *gpukernels.Kernels, e *errs, l *layerView, gl *gpuLayer, X cuda.DMat, b, tok int) {
	ws := &n.gpu.dw.ws
	rows, c := X.Rows, X.Cols
	d := l.HeadDim
	hd := l.Heads * d
	Y := cuda.DMat{Buf: ws.ln, Rows: rows, Cols: c, Stride: c}
	e.add(k.LayerNorm(Y, X, gl.norm1.w, gl.norm1.b, lnEps))
	QKV := cuda.DMat{Buf: ws.qkv, Rows: rows, Cols: 3 * hd, Stride: 3 * hd}
	if l.fusedQKV {
		e.add(q.Mul(false, true, 1, Y, gl.qkvFused.W, 0, QKV))
		e.add(k.BiasRows(QKV, gl.qkvFused.b))
	} else {
		for s, sec := range gl.qkv {
			dst := QKV.Sub(0, rows, s*hd, (s+1)*hd)
			e.add(q.Mul(false, true, 1, Y, sec.W, 0, dst))
			e.add(k.BiasRows(dst, sec.b))
		}
	}
	O := cuda.DMat{Buf: ws.attn, Rows: rows, Cols: hd, Stride: hd}
	gpuAttention(q, k, e, O, QKV, ws.scores, tok, l.Heads, d)
	e.add(q.Mul(false, true, 1, O, gl.proj.W, 1, X))
	e.add(k.BiasRows(X, gl.proj.b))
	e.add(k.LayerNorm(Y, X, gl.norm2.w, gl.norm2.b, lnEps))
	H := cuda.DMat{Buf: ws.hidden, Rows: rows, Cols: l.MLP, Stride: l.MLP}
	e.add(q.Mul(false, true, 1, Y, gl.fc1.W, 0, H))
	e.add(k.BiasGELU(H, gl.fc1.b))
	e.add(q.Mul(false, true, 1, H, gl.fc2.W, 1, X))
	e.add(k.BiasRows(X, gl.fc2.b))
}

// errs keeps the first error of a sequence of queued GPU calls; later calls still run but the
// chunk fails.
type errs struct{ err error }

func (e *errs) add(err error) {
	if err != nil && e.err == nil {
		e.err = err
	}
}

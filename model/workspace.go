package model

// workspace holds one worker's activations. It is sized for the largest layer of the net
// and the largest chunk seen so far, and only grows, so steady-state forwards allocate nothing.
type workspace struct {
	x, xAlt   []float32 // token matrices; a reduction writes into the other one
	ln        []float32 // normalised tokens
	qkv, attn []float32
	hidden    []float32
	scores    []float32 // one head's tok × tok attention, or attentionSmall's scratch
	cols      []float32 // im2col of a conv
	patches   []float32 // a reduction's patch-conv output, reduceImages images
	stemA     []float32 // conv stem activations, one image
	stemB     []float32
	stemC     []float32

	// Implicit convolutions (packed weights): zero-bordered HWC images (convStemPacked,
	// reducePacked).
	padIn, padA, padB []float32
	padGrid           []float32

	lo, hi int   // images of the current chunk
	err    error // outcome of the current chunk

	paired bool // the chunk runs its blocks as a pair (split.go)
	pieced bool // the chunk runs its blocks in pair pieces, paired or not (same arithmetic)
	pair   pair
}

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// imageSizes are the largest activations of one image over the net's layers, in floats:
// what the CPU workspace holds per image (or once, for per-image scratch) and the GPU one per
// image of a chunk.
type imageSizes struct {
	tokens    int // a token matrix (also its LayerNorm)
	qkv, attn int
	hidden    int
	scores    int // one head's tok × tok attention (or attentionSmall's scratch)
	allScores int // every head's
	cols      int // the largest im2col: stem, patch projection or reduction
	patches   int // the largest reduction patch-conv output
	stem      int // one conv-stem activation (0 for a linear stem)

	// Packed implicit convolutions: a zero-bordered input image and stem activation, and a
	// reduction's zero-bordered grid.
	padIn, padMid, padGrid int
}

func (n *Net) imageSizes() imageSizes {
	var s imageSizes
	grid, c := n.in.Grid(), n.arch.Stem.Width
	tok := 1 + grid*grid
	s.tokens = tok * c
	for _, l := range n.layers {
		switch l.Type {
		case TypeBlock:
			if !l.Exists {
				continue
			}
			hd := l.Heads * l.HeadDim
			s.qkv = max(s.qkv, tok*3*hd)
			s.attn = max(s.attn, tok*hd)
			s.hidden = max(s.hidden, tok*l.MLP)
			s.scores = max(s.scores, tok*tok)
			if useSmallAttention(tok, l.HeadDim) {
				s.scores = max(s.scores, smallAttnScratch(tok, l.HeadDim))
			}
			s.allScores = max(s.allScores, l.Heads*tok*tok)
		case TypeReduction:
			g2 := grid / 2
			s.cols = max(s.cols, g2*g2*l.In*9)
			s.patches = max(s.patches, g2*g2*l.Out)
			s.padGrid = max(s.padGrid, (grid+2)*(grid+2)*l.In)
			grid, c = g2, l.Out
			tok = 1 + grid*grid
			s.tokens = max(s.tokens, tok*c)
		}
	}
	in := n.in
	if n.stem.typ == TypeLinearStem {
		g := in.Grid()
		s.cols = max(s.cols, g*g*in.Channels*in.Patch*in.Patch)
	} else {
		h := convOut(in.Size, 3, 2, 1)
		m := n.stem.mid
		s.stem = m * h * h
		k := in.Patch / 2
		g := h / k
		s.cols = max(s.cols, max(m, in.Channels)*9*h*h, g*g*m*k*k)
		s.padIn = (in.Size + 2) * (in.Size + 2) * in.Channels
		s.padMid = (h + 2) * (h + 2) * m
	}
	return s
}

// ensure sizes the buffers for b images of net n: token-sized activations for all of them,
// scratch (scores, im2col) for one image at a time, the conv stem's for stemImages.
func (ws *workspace) ensure(n *Net, b int) {
	s := n.imageSizes()
	ws.x = grow(ws.x, b*s.tokens)
	ws.xAlt = grow(ws.xAlt, b*s.tokens)
	ws.ln = grow(ws.ln, b*s.tokens)
	ws.qkv = grow(ws.qkv, b*s.qkv)
	ws.attn = grow(ws.attn, b*s.attn)
	ws.hidden = grow(ws.hidden, b*s.hidden)
	ws.scores = grow(ws.scores, s.scores)
	if ws.paired {
		ws.pair.scratch = grow(ws.pair.scratch, s.scores)
	}
	// The conv stem and the reductions' patch convs run up to stemImages (= reduceImages)
	// images at once; the linear stem takes one image's worth of cols.
	si := min(b, max(stemImages, reduceImages))
	ws.cols = grow(ws.cols, si*s.cols)
	ws.patches = grow(ws.patches, si*s.patches)
	ws.stemA = grow(ws.stemA, si*s.stem)
	ws.stemB = grow(ws.stemB, si*s.stem)
	ws.stemC = grow(ws.stemC, si*s.stem)
	if n.packed {
		ws.padIn = grow(ws.padIn, si*s.padIn)
		ws.padA = grow(ws.padA, si*s.padMid)
		ws.padB = grow(ws.padB, si*s.padMid)
		ws.padGrid = grow(ws.padGrid, si*s.padGrid)
	}
}

// clearBorder zeroes the one-pixel border of n side × side images of c channels (HWC) lying
// one after another in buf: the padding an implicit convolution reads.
func clearBorder(buf []float32, n, side, c int) {
	row := side * c
	for i := 0; i < n; i++ {
		img := buf[i*side*row : (i+1)*side*row]
		clear(img[:row])
		clear(img[(side-1)*row:])
		for y := 1; y < side-1; y++ {
			clear(img[y*row : y*row+c])
			clear(img[(y+1)*row-c : (y+1)*row])
		}
	}
}

// swapTokens exchanges the two token buffers, so a reduction can read one and write the other.
func (ws *workspace) swapTokens() { ws.x, ws.xAlt = ws.xAlt, ws.x }

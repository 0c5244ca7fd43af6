package model

// workspace holds one worker's activations. It is sized for the largest layer of the net
// and the largest chunk seen so far, and only grows, so steady-state forwards allocate nothing.
type workspace struct {
	x, xAlt   []float32 // token matrices; a reduction writes into the other one
	ln        []float32 // normalised tokens
	qkv, attn []float32
	hidden    []float32
	scores    []float32 // one head's tok × tok attention
	cols      []float32 // im2col of a conv
	stemA     []float32 // conv stem activations, one image
	stemB     []float32
	stemC     []float32

	lo, hi int   // images of the current chunk
	err    error // outcome of the current chunk
}

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// ensure sizes the buffers for b images of net n.
func (ws *workspace) ensure(n *Net, b int) {
	var tokens, ln, qkv, attn, hidden, scores, cols int
	grid, c := n.in.Grid(), n.arch.Stem.Width
	tok := 1 + grid*grid
	tokens = b * tok * c
	ln = tokens
	scores = tok * tok
	for _, l := range n.layers {
		switch l.Type {
		case TypeBlock:
			if !l.Exists {
				continue
			}
			hd := l.Heads * l.HeadDim
			qkv = max(qkv, b*tok*3*hd)
			attn = max(attn, b*tok*hd)
			hidden = max(hidden, b*tok*l.MLP)
		case TypeReduction:
			g2 := grid / 2
			cols = max(cols, g2*g2*l.In*9)
			grid, c = g2, l.Out
			tok = 1 + grid*grid
			tokens = max(tokens, b*tok*c)
		}
	}
	in := n.in
	var stem int
	if n.stem.typ == TypeLinearStem {
		g := in.Grid()
		cols = max(cols, g*g*in.Channels*in.Patch*in.Patch)
	} else {
		h := (in.Size-1)/2 + 1
		m := n.stem.mid
		stem = m * h * h
		k := in.Patch / 2
		g := h / k
		cols = max(cols, max(m, in.Channels)*9*h*h, g*g*m*k*k)
	}
	ws.x = grow(ws.x, tokens)
	ws.xAlt = grow(ws.xAlt, tokens)
	ws.ln = grow(ws.ln, max(ln, tokens))
	ws.qkv = grow(ws.qkv, qkv)
	ws.attn = grow(ws.attn, attn)
	ws.hidden = grow(ws.hidden, hidden)
	ws.scores = grow(ws.scores, scores)
	ws.cols = grow(ws.cols, cols)
	ws.stemA = grow(ws.stemA, stem)
	ws.stemB = grow(ws.stemB, stem)
	ws.stemC = grow(ws.stemC, stem)
}

// swapTokens exchanges the two token buffers, so a reduction can read one and write the other.
func (ws *workspace) swapTokens() { ws.x, ws.xAlt = ws.xAlt, ws.x }

package model

import (
	"fmt"
	"math"

	"github.com/resnas/resnas/internal/gemm"
)

// viewer cuts the views a Net needs out of a weight map, checking every shape: a tensor must
// be at least as large as the architecture asks in every sliced dimension and equal in the
// others (kernel sizes, token counts).
type viewer struct{ w Weights }

func (v viewer) get(key string, rank int) (Tensor, error) {
	t, ok := v.w[key]
	if !ok {
		return Tensor{}, fmt.Errorf("weights: missing %s (checkpoint of another architecture?)", key)
	}
	if len(t.Shape) != rank {
		return Tensor{}, fmt.Errorf("weights: %s has shape %v, want a %d-D tensor", key, t.Shape, rank)
	}
	if t.Numel() != t.Len() {
		return Tensor{}, fmt.Errorf("weights: %s has shape %v but %d values", key, t.Shape, t.Len())
	}
	return t, nil
}

// block views rows [r0,r1) and columns [0,c) of t seen as a rows×cols matrix: a view of a
// float32 tensor, or a float32 copy of that block of a float16 one, so a sub-network of
// float16 weights holds float32 copies of only what it uses.
func block(t Tensor, rows, cols, r0, r1, c int) gemm.Mat {
	if !t.IsHalf() {
		return gemm.NewMat(rows, cols, t.Data).Sub(r0, r1, 0, c)
	}
	out := make([]float32, (r1-r0)*c)
	for r := r0; r < r1; r++ {
		halfRun(out[(r-r0)*c:(r-r0+1)*c], t.Half[r*cols:r*cols+c])
	}
	return gemm.Mat{Rows: r1 - r0, Cols: c, Stride: c, Data: out}
}

// leading is the first n values of t: a view, or a float32 copy of float16 ones.
func leading(t Tensor, n int) []float32 {
	if !t.IsHalf() {
		return t.Data[:n]
	}
	out := make([]float32, n)
	halfRun(out, t.Half[:n])
	return out
}

func tooSmall(key string, shape []int, want ...int) error {
	return fmt.Errorf("weights: %s has shape %v, too small for %v (architecture larger than the supernet?)", key, shape, want)
}

// vec views the first n values of a 1-D tensor (rank 1) or of the last axis of a (1, 1, n)
// tensor (rank 3, the class token).
func (v viewer) vec(key string, n, rank int) ([]float32, error) {
	t, err := v.get(key, rank)
	if err != nil {
		return nil, err
	}
	last := t.Shape[rank-1]
	for _, d := range t.Shape[:rank-1] {
		if d != 1 {
			return nil, fmt.Errorf("weights: %s has shape %v, want leading dimensions of 1", key, t.Shape)
		}
	}
	if last < n {
		return nil, tooSmall(key, t.Shape, n)
	}
	return leading(t, n), nil
}

// mat views rows [0,rows) and columns [0,cols) of a 2-D tensor.
func (v viewer) mat(key string, rows, cols int) (gemm.Mat, error) {
	t, err := v.get(key, 2)
	if err != nil {
		return gemm.Mat{}, err
	}
	if t.Shape[0] < rows || t.Shape[1] < cols {
		return gemm.Mat{}, tooSmall(key, t.Shape, rows, cols)
	}
	return block(t, t.Shape[0], t.Shape[1], 0, rows, cols), nil
}

// tokenMat views a (1, tokens, C) position embedding as tokens × c; the token count must match.
func (v viewer) tokenMat(key string, tokens, c int) (gemm.Mat, error) {
	t, err := v.get(key, 3)
	if err != nil {
		return gemm.Mat{}, err
	}
	if t.Shape[0] != 1 || t.Shape[1] != tokens {
		return gemm.Mat{}, fmt.Errorf("weights: %s has shape %v, want (1, %d, ≥%d) (trained at another image size?)", key, t.Shape, tokens, c)
	}
	if t.Shape[2] < c {
		return gemm.Mat{}, tooSmall(key, t.Shape, 1, tokens, c)
	}
	return block(t, tokens, t.Shape[2], 0, tokens, c), nil
}

func (v viewer) linear(prefix string, out, in int) (linearView, error) {
	w, err := v.mat(prefix+".weight", out, in)
	if err != nil {
		return linearView{}, err
	}
	b, err := v.vec(prefix+".bias", out, 1)
	if err != nil {
		return linearView{}, err
	}
	return linearView{W: w, b: b}, nil
}

func (v viewer) ln(prefix string, c int) (lnView, error) {
	w, err := v.vec(prefix+".weight", c, 1)
	if err != nil {
		return lnView{}, err
	}
	b, err := v.vec(prefix+".bias", c, 1)
	if err != nil {
		return lnView{}, err
	}
	return lnView{w: w, b: b}, nil
}

// conv views the leading (cout, cin) slice of a (Cout, Cin, k, k) weight as a cout × cin·k²
// matrix whose rows keep the supernet's stride Cin·k².
func (v viewer) conv(prefix string, cout, cin, k, stride, pad int, bias bool) (convView, error) {
	key := prefix + ".weight"
	t, err := v.get(key, 4)
	if err != nil {
		return convView{}, err
	}
	if t.Shape[2] != k || t.Shape[3] != k {
		return convView{}, fmt.Errorf("weights: %s has shape %v, want a %d×%d kernel (other patch size?)", key, t.Shape, k, k)
	}
	if t.Shape[0] < cout || t.Shape[1] < cin {
		return convView{}, tooSmall(key, t.Shape, cout, cin, k, k)
	}
	cv := convView{
		W:   block(t, t.Shape[0], t.Shape[1]*k*k, 0, cout, cin*k*k),
		cin: cin, k: k, stride: stride, pad: pad,
	}
	if bias {
		if cv.b, err = v.vec(prefix+".bias", cout, 1); err != nil {
			return convView{}, err
		}
	}
	return cv, nil
}

// bn folds an inference BatchNorm2d into scale and shift: y = x·scale + shift. Its running
// statistics are read under stats (prefix itself, or a stem's per-mid-width statistics).
func (v viewer) bn(prefix, stats string, c int) (bnFold, error) {
	var p [4][]float32
	for i, key := range []string{prefix + ".weight", prefix + ".bias", stats + ".running_mean", stats + ".running_var"} {
		var err error
		if p[i], err = v.vec(key, c, 1); err != nil {
			return bnFold{}, err
		}
	}
	f := bnFold{scale: make([]float32, c), shift: make([]float32, c)}
	for i := 0; i < c; i++ {
		s := p[0][i] / float32(math.Sqrt(float64(p[3][i])+bnEps))
		f.scale[i] = s
		f.shift[i] = p[1][i] - p[2][i]*s
	}
	return f, nil
}

// StemBNPrefix is the state_dict prefix of conv stem BatchNorm layer (1 to 3).
func StemBNPrefix(layer int) string { return fmt.Sprintf("patch_embed.conv%d.bn", layer) }

// StemBNStatsPrefix is where a supernet with a searchable stem width keeps the running
// statistics of stem BatchNorm layer (1 to 3) for mid width mid, below the largest. A narrower
// stem's second and third convolutions see other inputs than the full one's, so each width
// needs its own statistics (switchable BatchNorm, as in slimmable networks); the affine
// weights stay shared, as leading slices. The reference's own keys hold the largest width's.
func StemBNStatsPrefix(layer, mid int) string {
	return fmt.Sprintf("patch_embed.conv%d.bn.mid%d", layer, mid)
}

// StemBNStats is the prefix of the running statistics a stem of mid width mid uses in w: its
// own when w has them, else the leading slice of the largest width's (every reference
// checkpoint, whose stems are not searched).
func StemBNStats(w Weights, layer, mid int) string {
	if p := StemBNStatsPrefix(layer, mid); hasKey(w, p+".running_mean") && hasKey(w, p+".running_var") {
		return p
	}
	return StemBNPrefix(layer)
}

func hasKey(w Weights, k string) bool { _, ok := w[k]; return ok }

func (v viewer) stem(s Stem, in Input) (stemView, error) {
	sv := stemView{typ: s.Type}
	var err error
	switch s.Type {
	case TypeLinearStem:
		sv.proj, err = v.conv("patch_embed.proj", s.Width, in.Channels, in.Patch, in.Patch, 0, true)
		return sv, err
	case TypeConvStem, TypeConvStemMid:
		m := s.Mid
		if s.Type == TypeConvStem && m == 0 {
			m = DefaultStemMid
		}
		if in.Patch%2 != 0 {
			return sv, fmt.Errorf("conv stem needs an even patch size, got %d", in.Patch)
		}
		sv.mid = m
		if sv.conv1, err = v.conv("patch_embed.conv1.conv", m, in.Channels, 3, 2, 1, false); err != nil {
			return sv, err
		}
		if sv.conv2, err = v.conv("patch_embed.conv2.conv", m, m, 3, 1, 1, false); err != nil {
			return sv, err
		}
		if sv.conv3, err = v.conv("patch_embed.conv3.conv", m, m, 3, 1, 1, false); err != nil {
			return sv, err
		}
		for i, dst := range []*bnFold{&sv.bn1, &sv.bn2, &sv.bn3} {
			if *dst, err = v.bn(StemBNPrefix(i+1), StemBNStats(v.w, i+1, m), m); err != nil {
				return sv, err
			}
		}
		k := in.Patch / 2
		sv.proj, err = v.conv("patch_embed.conv_proj", s.Width, m, k, k, 0, true)
		return sv, err
	}
	return sv, fmt.Errorf("stem: unknown entry type %d (want 0, 4 or 5)", s.Type)
}

// block cuts a transformer block's views. qkv is sliced per section: the first Heads heads
// of q, of k and of v (reference.md §4.4), which are row blocks of the fused weight.
func (v viewer) block(l *layerView, p string) error {
	var err error
	if l.norm1, err = v.ln(p+"norm1", l.Dim); err != nil {
		return err
	}
	if l.norm2, err = v.ln(p+"norm2", l.Dim); err != nil {
		return err
	}
	hd := l.Heads * l.HeadDim
	key := p + "attn.qkv.weight"
	t, err := v.get(key, 2)
	if err != nil {
		return err
	}
	rows := t.Shape[0]
	if rows%3 != 0 || rows/3 < hd || t.Shape[1] < l.Dim {
		return fmt.Errorf("weights: %s has shape %v, too small for %d heads of %d on width %d", key, t.Shape, l.Heads, l.HeadDim, l.Dim)
	}
	maxHD := rows / 3
	if maxHD%l.HeadDim != 0 {
		return fmt.Errorf("weights: %s has %d rows per section, not a multiple of head dim %d (wrong head dim?)", key, maxHD, l.HeadDim)
	}
	bias, err := v.vec(p+"attn.qkv.bias", rows, 1)
	if err != nil {
		return err
	}
	l.qb, l.kb, l.vb = bias[:hd], bias[maxHD:maxHD+hd], bias[2*maxHD:2*maxHD+hd]
	if hd == maxHD {
		l.fusedQKV = true
		l.qkvW = block(t, rows, t.Shape[1], 0, rows, l.Dim)
		l.qkvB = bias
		l.q, l.k, l.v = l.qkvW.Sub(0, hd, 0, l.Dim), l.qkvW.Sub(maxHD, maxHD+hd, 0, l.Dim), l.qkvW.Sub(2*maxHD, 2*maxHD+hd, 0, l.Dim)
	} else {
		l.q = block(t, rows, t.Shape[1], 0, hd, l.Dim)
		l.k = block(t, rows, t.Shape[1], maxHD, maxHD+hd, l.Dim)
		l.v = block(t, rows, t.Shape[1], 2*maxHD, 2*maxHD+hd, l.Dim)
	}
	if l.proj, err = v.linear(p+"attn.proj", l.Dim, hd); err != nil {
		return err
	}
	if l.fc1, err = v.linear(p+"mlp.fc1", l.MLP, l.Dim); err != nil {
		return err
	}
	l.fc2, err = v.linear(p+"mlp.fc2", l.Dim, l.MLP)
	return err
}

func (v viewer) reduction(l *layerView, p string, grid int) error {
	if l.Out < l.In {
		return fmt.Errorf("%sreduction: output width %d is smaller than input %d", p, l.Out, l.In)
	}
	var err error
	if l.norm, err = v.ln(p+"norm", l.In); err != nil {
		return err
	}
	if l.reduce, err = v.conv(p+"patch_reduce", l.Out, l.In, 3, 2, 1, true); err != nil {
		return err
	}
	g2 := grid / 2
	if l.reducePos, err = v.tokenMat(p+"pos_embed", g2*g2, l.Out); err != nil {
		return err
	}
	l.tokenTransform, err = v.linear(p+"token_transform", l.Out, l.In)
	return err
}

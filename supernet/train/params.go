package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// param is one state_dict tensor of the supernet at its largest shape, with its gradient and
// AdamW moments (nil for BatchNorm running statistics, which are not trained).
type param struct {
	key   string
	shape []int
	w, g  []float32
	m, v  []float32
	decay bool // weight decay applies (not for 1-D tensors and tokens, as timm's optimizer)
	off   int  // where a trainable tensor starts in supernetParams' slabs
}

// mat views the tensor (data is w or g) as a matrix: first axis × the product of the rest,
// as a (Cout, Cin, k, k) conv weight is (Cout, Cin·k²).
func (p *param) mat(data []float32) gemm.Mat {
	cols := 1
	for _, d := range p.shape[1:] {
		cols *= d
	}
	return gemm.NewMat(p.shape[0], cols, data)
}

// tokenMat views a (1, T, C) position embedding as T × C.
func (p *param) tokenMat(data []float32) gemm.Mat {
	return gemm.NewMat(p.shape[1], p.shape[2], data)
}

type bnParams struct{ w, b, mean, vari *param }

// bnStats are one stem BatchNorm layer's running statistics for one mid width.
type bnStats struct{ mean, vari *param }

type layerParams struct {
	// Transformer block.
	norm1w, norm1b, qkvW, qkvB, projW, projB, norm2w, norm2b, fc1W, fc1B, fc2W, fc2B *param
	maxHD                                                                            int     // Hmax·D, the qkv section width
	dropRate                                                                         float32 // drop-path rate of this block
	// Residual spatial reduction.
	pos, normW, normB, convW, convB, tokW, tokB *param
}

// supernetParams holds every tensor of the supernet at the largest architecture, named and
// shaped as the reference state_dict (reference.md §4.2), plus quick references by role.
type supernetParams struct {
	space   supernet.Space
	in      model.Input
	maxArch model.Arch
	mid     int
	// midStats[w] are the stem BatchNorm layers' running statistics at mid width w: the
	// reference tensors at the largest width, their own (model.StemBNStatsPrefix) below it.
	midStats map[int][3]bnStats

	all   []*param // in model.ParamShapes order
	byKey map[string]*param

	tokens, pos  *param
	conv         [3]*param
	bn           [3]bnParams
	projW, projB *param
	layers       []layerParams
	normW, normB *param
	headW, headB *param
	trainable    []*param // everything but BatchNorm running statistics
	// The trainable tensors' weights, gradients and AdamW moments, each back to back in
	// trainable order (param.w, g, m, v are parts at param.off).
	weight, grad, m, v []float32
}

// newSupernetParams allocates the supernet's tensors for space s and initialises them as the
// reference does: trunc_normal(std .02) for Linear weights, tokens and position embeddings,
// zero biases, LN (1, 0), PyTorch's default uniform(±1/√fan_in) for convolutions and their
// biases, BN (1, 0) with running statistics (0, 1).
func newSupernetParams(s supernet.Space, in model.Input, dropPath float64, rng *rand.Rand) (*supernetParams, error) {
	a := s.Max()
	if err := a.ValidateFor(in); err != nil {
		return nil, fmt.Errorf("space %s: largest architecture: %w", s.Name, err)
	}
	sp := &supernetParams{space: s, in: in, maxArch: a, byKey: map[string]*param{}, mid: a.Stem.Mid}
	// Trainable tensors live back to back in one slab per role (weights, gradients, moments),
	// at the same offsets, so the optimizer and the gradient reduction run in flat passes.
	shapes := model.ParamShapes(a, in)
	size := func(shape []int) int {
		n := 1
		for _, d := range shape {
			n *= d
		}
		return n
	}
	isBuffer := func(key string) bool {
		return strings.HasSuffix(key, "running_mean") || strings.HasSuffix(key, "running_var")
	}
	slabLen := 0
	for _, ps := range shapes {
		if !isBuffer(ps.Key) {
			slabLen += size(ps.Shape)
		}
	}
	sp.weight, sp.grad = make([]float32, slabLen), make([]float32, slabLen)
	sp.m, sp.v = make([]float32, slabLen), make([]float32, slabLen)
	off := 0
	for _, ps := range shapes {
		n := size(ps.Shape)
		p := &param{key: ps.Key, shape: ps.Shape}
		if isBuffer(p.key) {
			p.w = make([]float32, n)
		} else {
			p.off = off
			off += n
			p.w, p.g = sp.weight[p.off:p.off+n:p.off+n], sp.grad[p.off:p.off+n:p.off+n]
			p.m, p.v = sp.m[p.off:p.off+n:p.off+n], sp.v[p.off:p.off+n:p.off+n]
			p.decay = len(p.shape) > 1 && p.key != "tokens"
			sp.trainable = append(sp.trainable, p)
		}
		sp.all = append(sp.all, p)
		sp.byKey[p.key] = p
	}
	get := func(k string) *param {
		p := sp.byKey[k]
		if p == nil {
			panic("supernet: missing parameter " + k)
		}
		return p
	}
	sp.tokens, sp.pos = get("tokens"), get("pos_embed")
	if a.Stem.Type == model.TypeLinearStem {
		return nil, fmt.Errorf("space %s: training supports the conv stem (types 4, 5) only, not the linear stem", s.Name)
	}
	for i := 0; i < 3; i++ {
		pre := fmt.Sprintf("patch_embed.conv%d.", i+1)
		sp.conv[i] = get(pre + "conv.weight")
		sp.bn[i] = bnParams{get(pre + "bn.weight"), get(pre + "bn.bias"), get(pre + "bn.running_mean"), get(pre + "bn.running_var")}
	}
	sp.midStats = map[int][3]bnStats{}
	for _, mid := range s.StemMidChoices() {
		var st [3]bnStats
		for i := range st {
			if mid == sp.mid {
				st[i] = bnStats{sp.bn[i].mean, sp.bn[i].vari}
				continue
			}
			pre := model.StemBNStatsPrefix(i+1, mid)
			st[i] = bnStats{sp.addBuffer(pre+".running_mean", mid), sp.addBuffer(pre+".running_var", mid)}
		}
		sp.midStats[mid] = st
	}
	sp.projW, sp.projB = get("patch_embed.conv_proj.weight"), get("patch_embed.conv_proj.bias")
	sp.normW, sp.normB = get("norm.weight"), get("norm.bias")
	sp.headW, sp.headB = get("cls_head.weight"), get("cls_head.bias")

	nBlocks := 0
	for _, l := range a.Layers {
		if l.Type == model.TypeBlock {
			nBlocks++
		}
	}
	sp.layers = make([]layerParams, len(a.Layers))
	bi := 0
	for i, l := range a.Layers {
		pre := fmt.Sprintf("blocks.%d.", i)
		lp := &sp.layers[i]
		switch l.Type {
		case model.TypeBlock:
			lp.norm1w, lp.norm1b = get(pre+"norm1.weight"), get(pre+"norm1.bias")
			lp.qkvW, lp.qkvB = get(pre+"attn.qkv.weight"), get(pre+"attn.qkv.bias")
			lp.projW, lp.projB = get(pre+"attn.proj.weight"), get(pre+"attn.proj.bias")
			lp.norm2w, lp.norm2b = get(pre+"norm2.weight"), get(pre+"norm2.bias")
			lp.fc1W, lp.fc1B = get(pre+"mlp.fc1.weight"), get(pre+"mlp.fc1.bias")
			lp.fc2W, lp.fc2B = get(pre+"mlp.fc2.weight"), get(pre+"mlp.fc2.bias")
			lp.maxHD = l.Heads * l.HeadDim
			// torch.linspace(0, rate, depth) over every transformer entry.
			if nBlocks > 1 {
				lp.dropRate = float32(dropPath * float64(bi) / float64(nBlocks-1))
			}
			bi++
		case model.TypeReduction:
			lp.pos = get(pre + "pos_embed")
			lp.normW, lp.normB = get(pre+"norm.weight"), get(pre+"norm.bias")
			lp.convW, lp.convB = get(pre+"patch_reduce.weight"), get(pre+"patch_reduce.bias")
			lp.tokW, lp.tokB = get(pre+"token_transform.weight"), get(pre+"token_transform.bias")
		}
	}
	sp.initialise(rng)
	return sp, nil
}

// addBuffer adds an untrained tensor of n values (a running statistic; initialise fills it).
func (sp *supernetParams) addBuffer(key string, n int) *param {
	p := &param{key: key, shape: []int{n}, w: make([]float32, n)}
	sp.all = append(sp.all, p)
	sp.byKey[key] = p
	return p
}

func (sp *supernetParams) initialise(rng *rand.Rand) {
	truncNormal := func(p *param) {
		for i := range p.w {
			// timm trunc_normal_(std=.02) truncates at ±2 (absolute), i.e. ±100σ: plain normal.
			p.w[i] = float32(0.02 * rng.NormFloat64())
		}
	}
	uniform := func(p *param, fanIn int) {
		bound := 1 / math.Sqrt(float64(fanIn))
		for i := range p.w {
			p.w[i] = float32((2*rng.Float64() - 1) * bound)
		}
	}
	fill := func(p *param, v float32) {
		for i := range p.w {
			p.w[i] = v
		}
	}
	for _, p := range sp.all {
		switch {
		case p.key == "tokens" || strings.HasSuffix(p.key, "pos_embed"):
			truncNormal(p)
		case strings.Contains(p.key, ".bn."):
			if strings.HasSuffix(p.key, "weight") || strings.HasSuffix(p.key, "running_var") {
				fill(p, 1)
			}
		case strings.Contains(p.key, "norm"):
			if strings.HasSuffix(p.key, "weight") {
				fill(p, 1)
			}
		case strings.HasSuffix(p.key, "conv.weight") || strings.Contains(p.key, "conv_proj") || strings.Contains(p.key, "patch_reduce"):
			// PyTorch's Conv2d default: kaiming_uniform(a=√5) = U(±1/√fan_in), bias too.
			w := sp.byKey[strings.TrimSuffix(strings.TrimSuffix(p.key, ".bias"), ".weight")+".weight"]
			fan := 1
			for _, d := range w.shape[1:] {
				fan *= d
			}
			uniform(p, fan)
		case strings.HasSuffix(p.key, ".weight"):
			truncNormal(p)
		}
	}
}

// weights returns the supernet's state_dict as model.Weights sharing the parameter memory
// (no copy): the inference forward can run on it directly.
func (sp *supernetParams) weights() model.Weights {
	w := model.Weights{}
	for _, p := range sp.all {
		w[p.key] = model.Tensor{Shape: p.shape, Data: p.w}
	}
	return w
}

func (sp *supernetParams) zeroGrad() { clear(sp.grad) }

// setWeights copies w into the supernet's tensors (all of them must be present, at exactly
// the supernet's shapes), e.g. to continue from a published supernet. Moments are left alone.
func (sp *supernetParams) setWeights(w model.Weights) error {
	for _, p := range sp.all {
		t, ok := w[p.key]
		if !ok {
			return fmt.Errorf("weights: missing %s (checkpoint of another space?)", p.key)
		}
		if len(t.Shape) != len(p.shape) || len(t.Data) != len(p.w) {
			return fmt.Errorf("weights: %s has shape %v, want %v (checkpoint of another space?)", p.key, t.Shape, p.shape)
		}
		for i, d := range p.shape {
			if t.Shape[i] != d {
				return fmt.Errorf("weights: %s has shape %v, want %v (checkpoint of another space?)", p.key, t.Shape, p.shape)
			}
		}
		copy(p.w, t.Data)
	}
	return nil
}

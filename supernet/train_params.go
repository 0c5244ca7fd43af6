package supernet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/model"
)

// param is one state_dict tensor of the supernet at its largest shape, with its gradient and
// AdamW moments (nil for BatchNorm running statistics, which are not trained).
type param struct {
	key   string
	shape []int
	w, g  []float32
	m, v  []float32
	decay bool // weight decay applies (not for 1-D tensors and tokens, as timm's optimizer)
	off   int  // where g starts in supernetParams.grad
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
	space   Space
	in      model.Input
	maxArch model.Arch
	mid     int

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
	// grad holds every trainable tensor's gradient back to back (param.g is its part), so
	// gradients are zeroed and summed across training lanes in single passes.
	grad []float32
}

// newSupernetParams allocates the supernet's tensors for space s and initialises them as the
// reference does: trunc_normal(std .02) for Linear weights, tokens and position embeddings,
// zero biases, LN (1, 0), PyTorch's default uniform(±1/√fan_in) for convolutions and their
// biases, BN (1, 0) with running statistics (0, 1).
func newSupernetParams(s Space, in model.Input, dropPath float64, rng *rand.Rand) (*supernetParams, error) {
	a := s.Max()
	if err := a.ValidateFor(in); err != nil {
		return nil, fmt.Errorf("space %s: largest architecture: %w", s.Name, err)
	}
	sp := &supernetParams{space: s, in: in, maxArch: a, byKey: map[string]*param{}, mid: a.Stem.Mid}
	gradLen := 0
	for _, ps := range model.ParamShapes(a, in) {
		n := 1
		for _, d := range ps.Shape {
			n *= d
		}
		p := &param{key: ps.Key, shape: ps.Shape, w: make([]float32, n)}
		buffer := strings.HasSuffix(p.key, "running_mean") || strings.HasSuffix(p.key, "running_var")
		if !buffer {
			p.m, p.v = make([]float32, n), make([]float32, n)
			p.decay = len(p.shape) > 1 && p.key != "tokens"
			p.off = gradLen
			gradLen += n
			sp.trainable = append(sp.trainable, p)
		}
		sp.all = append(sp.all, p)
		sp.byKey[p.key] = p
	}
	sp.grad = make([]float32, gradLen)
	for _, p := range sp.trainable {
		p.g = sp.grad[p.off : p.off+len(p.w)]
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

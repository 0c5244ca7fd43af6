// Package profiler counts multiply-accumulates and parameters of an architecture in the
// reference's conventions (reference.md §8.1, network_utils/compute_flop_mac.py), so searched
// networks can be compared with the paper's numbers.
package profiler

import (
	"strconv"

	"github.com/resnas/resnas/model"
)

// Part is one network_def entry's share of the cost.
type Part struct {
	Name   string // "stem", "blocks.{i}" or "head", as in the state_dict
	Entry  int    // network_def index: 0 stem, i+1 for blocks.i, last the head
	Kind   int    // the entry's type: model.Type* (the stem's own type for the stem, model.TypeHead for the head)
	Tokens int    // sequence length the entry runs on (class token included); for a reduction, the output length
	MACs   int64
	Params int64
}

// tokens is the number of class tokens: resnas builds the patch_output model, which has
// only the class token (no distillation token).
const tokens = 1

// Breakdown gives each entry's MACs and inference parameters on input in. MACs follow the
// reference estimator with return_mac=True and no distillation token:
//
//   - conv stem (type 4/5, mid m): in.Channels·m·9·r² + 2·m·m·9·r² + C·m·(P/2)²·g², with r the
//     intermediate resolution in.Size/2 (the reference hard-codes 112, which is equal at 224 px)
//     and g the token grid; linear stem (type 0): C·in.Channels·P²·g²;
//   - transformer block on n tokens (n = g²+1): n·C·3HD + 2·n²·HD + n·HD·C + 2·n·C·hidden,
//     0 for a skipped block;
//   - spatial reduction: (g/2)²·Cout·9·Cin for the 3×3/s2 conv + Cin·Cout for the class token;
//   - head: C·classes.
//
// Biases, LayerNorm, softmax, GELU, BatchNorm, pooling and residual adds are not counted.
// Params are all learnable tensors of the inference model: the class token and position
// embeddings, stem convs with their BatchNorm affine (running statistics are buffers, not
// parameters), every Linear/conv weight and bias, every LayerNorm, and the classifier;
// the training-only patch_head is excluded.
//
// a should pass a.ValidateFor(in); otherwise the counts are meaningless (but nothing panics).
func Breakdown(a model.Arch, in model.Input) []Part {
	parts := make([]Part, 0, len(a.Layers)+2)
	count(a, in, &parts)
	return parts
}

// count totals MACs and params and, when parts is not nil, records each entry. MACs is
// called in search loops, so the totals alone allocate nothing.
func count(a model.Arch, in model.Input, parts *[]Part) (macs, params int64) {
	add := func(p Part) {
		macs += p.MACs
		params += p.Params
		if parts != nil {
			if p.Name == "" {
				p.Name = "blocks." + strconv.Itoa(p.Entry-1)
			}
			*parts = append(*parts, p)
		}
	}
	g := int64(in.Grid())
	n := g*g + tokens
	ch, p := int64(in.Channels), int64(in.Patch)

	c := int64(a.Stem.Width)
	stem := Part{Name: "stem", Entry: 0, Kind: a.Stem.Type, Tokens: int(n)}
	stem.Params = tokens*c + n*c // class token + position embedding covering it
	switch a.Stem.Type {
	case model.TypeLinearStem:
		stem.MACs = c * ch * p * p * g * g
		stem.Params += c*ch*p*p + c
	default:
		m := int64(a.Stem.Mid)
		if a.Stem.Type == model.TypeConvStem && m == 0 {
			m = model.DefaultStemMid
		}
		r := int64(in.Size / 2)
		q := p / 2 // the projection's kernel and stride
		stem.MACs = ch*m*9*r*r + 2*m*m*9*r*r + c*m*q*q*g*g
		stem.Params = stem.Params + m*ch*9 + 2*m + // conv1 + BN1 affine
			2*(m*m*9+2*m) + // conv2, conv3 + BN affine
			c*m*q*q + c // conv_proj with bias
	}
	add(stem)

	for i, l := range a.Layers {
		part := Part{Entry: i + 1, Kind: l.Type} // Name filled in by add only when recording
		switch l.Type {
		case model.TypeBlock:
			part.Tokens = int(n)
			if !l.Exists {
				break // a BypassBlock: identity, no parameters
			}
			d, hd, h := int64(l.Dim), int64(l.Heads*l.HeadDim), int64(l.MLP)
			part.MACs = n*d*3*hd + 2*n*n*hd + n*hd*d + 2*n*d*h
			part.Params = 2*d + // norm1
				d*3*hd + 3*hd + // qkv
				hd*d + d + // proj
				2*d + // norm2
				d*h + h + h*d + d // fc1, fc2
		case model.TypeReduction:
			cin, cout := int64(l.In), int64(l.Out)
			g /= 2
			n = g*g + tokens
			part.Tokens = int(n)
			part.MACs = g*g*cout*9*cin + tokens*cin*cout
			part.Params = g*g*cout + // new position embedding, patches only
				2*cin + // norm
				cout*cin*9 + cout + // patch_reduce
				cout*cin + cout // token_transform
		}
		add(part)
	}

	d, k := int64(a.Head.Dim), int64(a.Head.Classes)
	add(Part{Name: "head", Entry: len(a.Layers) + 1, Kind: model.TypeHead, Tokens: int(n),
		MACs: d * k, Params: 2*d + d*k + k}) // final norm + cls_head
	return macs, params
}

// MACs is the total multiply-accumulates of one image (see Breakdown for the convention).
func MACs(a model.Arch, in model.Input) int64 {
	macs, _ := count(a, in, nil)
	return macs
}

// Params is the number of inference parameters (see Breakdown for what counts).
func Params(a model.Arch, in model.Input) int64 {
	_, params := count(a, in, nil)
	return params
}

// Count returns both totals in one pass.
func Count(a model.Arch, in model.Input) (macs, params int64) { return count(a, in, nil) }

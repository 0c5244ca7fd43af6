package model

import "fmt"

// ParamShape is one state_dict entry of an architecture.
type ParamShape struct {
	Key   string
	Shape []int
}

// ParamShapes lists the inference tensors of arch in reference state_dict order and naming
// (reference.md §4.2): parameters and BatchNorm buffers, without num_batches_tracked and
// without the training-only patch_head. Skipped blocks own no tensors.
func ParamShapes(a Arch, in Input) []ParamShape {
	var ps []ParamShape
	add := func(key string, shape ...int) { ps = append(ps, ParamShape{key, shape}) }
	grid := in.Grid()
	c := a.Stem.Width
	add("tokens", 1, 1, c)
	add("pos_embed", 1, 1+grid*grid, c)
	switch a.Stem.Type {
	case TypeLinearStem:
		add("patch_embed.proj.weight", c, in.Channels, in.Patch, in.Patch)
		add("patch_embed.proj.bias", c)
	default:
		m := a.Stem.Mid
		if m == 0 {
			m = DefaultStemMid
		}
		for i, cin := range []int{in.Channels, m, m} {
			p := fmt.Sprintf("patch_embed.conv%d.", i+1)
			add(p+"conv.weight", m, cin, 3, 3)
			for _, s := range []string{"weight", "bias", "running_mean", "running_var"} {
				add(p+"bn."+s, m)
			}
		}
		k := in.Patch / 2
		add("patch_embed.conv_proj.weight", c, m, k, k)
		add("patch_embed.conv_proj.bias", c)
	}
	for i, l := range a.Layers {
		p := fmt.Sprintf("blocks.%d.", i)
		switch l.Type {
		case TypeBlock:
			if !l.Exists {
				continue
			}
			hd := l.Heads * l.HeadDim
			add(p+"norm1.weight", l.Dim)
			add(p+"norm1.bias", l.Dim)
			add(p+"attn.qkv.weight", 3*hd, l.Dim)
			add(p+"attn.qkv.bias", 3*hd)
			add(p+"attn.proj.weight", l.Dim, hd)
			add(p+"attn.proj.bias", l.Dim)
			add(p+"norm2.weight", l.Dim)
			add(p+"norm2.bias", l.Dim)
			add(p+"mlp.fc1.weight", l.MLP, l.Dim)
			add(p+"mlp.fc1.bias", l.MLP)
			add(p+"mlp.fc2.weight", l.Dim, l.MLP)
			add(p+"mlp.fc2.bias", l.Dim)
		case TypeReduction:
			grid /= 2
			add(p+"pos_embed", 1, grid*grid, l.Out)
			add(p+"norm.weight", l.In)
			add(p+"norm.bias", l.In)
			add(p+"patch_reduce.weight", l.Out, l.In, 3, 3)
			add(p+"patch_reduce.bias", l.Out)
			add(p+"token_transform.weight", l.Out, l.In)
			add(p+"token_transform.bias", l.Out)
			c = l.Out
		}
	}
	add("norm.weight", c)
	add("norm.bias", c)
	add("cls_head.weight", a.Head.Classes, c)
	add("cls_head.bias", a.Head.Classes)
	return ps
}

// MatchesExactly reports whether w holds exactly the tensors of arch at arch's own shapes
// (a standalone network rather than a larger supernet). Extra keys such as patch_head and
// num_batches_tracked are ignored.
func MatchesExactly(w Weights, a Arch, in Input) bool {
	for _, p := range ParamShapes(a, in) {
		t, ok := w[p.Key]
		if !ok || !equalInts(t.Shape, p.Shape) {
			return false
		}
	}
	return true
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

package model

import (
	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/vecmath"
)

// packWeights lays the weights of every linear layer (qkv, proj, fc1, fc2, the reductions'
// conv and class-token transform, the stem's projection, the head) out for
// vecmath.GemmPacked, once per Net: a sub-network's weights are strided views of the
// supernet's, and a blocked GEMM would otherwise pack them again on every call (half of a
// small GEMM's time). It costs a copy of the sub-network's weights.
func (n *Net) packWeights() {
	pack := func(w gemm.Mat, b []float32) *vecmath.PackedB {
		if w.Rows == 0 || w.Cols == 0 {
			return nil
		}
		return vecmath.PackB(w.Data, w.Stride, w.Rows, w.Cols, b)
	}
	s := &n.stem
	if s.typ == TypeLinearStem {
		s.proj.p = pack(s.proj.W, s.proj.b) // im2colCHW's column order, PyTorch's
	} else {
		// Implicit convolutions over HWC images (convStemPacked), each BatchNorm folded in.
		for _, c := range []struct {
			cv *convView
			bn bnFold
		}{{&s.conv1, s.bn1}, {&s.conv2, s.bn2}, {&s.conv3, s.bn3}, {&s.proj, bnFold{}}} {
			c.cv.p = packConv(*c.cv, c.bn)
		}
		n.stemPlan = newStemPlan(n.in, s.mid, n.arch.Stem.Width)
	}
	for i := range n.layers {
		l := &n.layers[i]
		switch {
		case l.Type == TypeBlock && l.Exists:
			l.qkvP = packQKV(l)
			l.proj.p = pack(l.proj.W, l.proj.b)
			l.fc1.p = pack(l.fc1.W, l.fc1.b)
			l.fc2.p = pack(l.fc2.W, l.fc2.b)
		case l.Type == TypeReduction:
			l.reduce.p = packConv(l.reduce, bnFold{})
			l.reduceA, l.reduceC = reducePlan(l.grid, l.In, l.Out)
			l.tokenTransform.p = pack(l.tokenTransform.W, l.tokenTransform.b)
		}
	}
	n.head.p = pack(n.head.W, n.head.b)
	n.dropUnpackedViews()
}

// dropUnpackedViews forgets the weight views that the packed copies replace: every CPU
// forward from now on reads only the packed ones. Views of float32 weights cost nothing, but
// with float16 weights they are float32 copies of the sub-network, which would otherwise be
// held twice (ViT-ResNAS-Tiny: 0.16 GB).
func (n *Net) dropUnpackedViews() {
	s := &n.stem
	for _, cv := range []*convView{&s.conv1, &s.conv2, &s.conv3, &s.proj} {
		if cv.p != nil {
			cv.W = gemm.Mat{}
		}
	}
	for i := range n.layers {
		l := &n.layers[i]
		if l.qkvP != nil {
			l.q, l.k, l.v, l.qkvW = gemm.Mat{}, gemm.Mat{}, gemm.Mat{}, gemm.Mat{}
		}
		for _, lv := range []*linearView{&l.proj, &l.fc1, &l.fc2, &l.tokenTransform} {
			if lv.p != nil {
				lv.W = gemm.Mat{}
			}
		}
		if l.reduce.p != nil {
			l.reduce.W = gemm.Mat{}
		}
	}
	if n.head.p != nil {
		n.head.W = gemm.Mat{}
	}
}

// packQKV packs the q, k and v rows a block uses as one matrix (3·Heads·HeadDim × Dim) with
// their biases, so a block with fewer heads than the supernet also makes one GEMM.
func packQKV(l *layerView) *vecmath.PackedB {
	hd := l.Heads * l.HeadDim
	w := make([]float32, 3*hd*l.Dim)
	b := make([]float32, 3*hd)
	for s, sec := range [3]struct {
		w gemm.Mat
		b []float32
	}{{l.q, l.qb}, {l.k, l.kb}, {l.v, l.vb}} {
		for r := 0; r < hd; r++ {
			copy(w[(s*hd+r)*l.Dim:(s*hd+r+1)*l.Dim], sec.w.Row(r))
		}
		copy(b[s*hd:(s+1)*hd], sec.b[:hd])
	}
	return vecmath.PackB(w, l.Dim, 3*hd, l.Dim, b)
}

// packConv packs a conv for vecmath.ConvPacked, folding bn when it has a scale.
func packConv(cv convView, bn bnFold) *vecmath.PackedB {
	return vecmath.PackConv(cv.W.Data, cv.W.Stride, cv.W.Rows, cv.cin, cv.k, cv.b, bn.scale, bn.shift)
}

// stemPlan holds where convStemPacked's convolutions read and write, for stemImages images
// (a chunk's last group uses a prefix): element offsets of each output pixel's top-left tap
// in the zero-bordered input (conv1A, conv2A for conv2 and conv3, projA for conv_proj), of
// its place in the bordered mid-width activation (midC) or in the token rows (projC), and
// each conv's kernel-row offsets (segs).
type stemPlan struct {
	conv1A, conv2A, midC, projA, projC []int
	conv1Segs, conv2Segs, projSegs     []int
}

func newStemPlan(in Input, m, width int) stemPlan {
	C, S := in.Channels, in.Size
	h := convOut(S, 3, 2, 1)
	hw := h * h
	sp, hp := S+2, h+2
	inStride, midStride := sp*sp*C, hp*hp*m
	k := in.Patch / 2
	g := h / k
	gg := g * g
	var p stemPlan
	for i := 0; i < stemImages; i++ {
		for o := 0; o < hw; o++ {
			oy, ox := o/h, o%h
			p.conv1A = append(p.conv1A, i*inStride+(2*oy*sp+2*ox)*C)
			p.conv2A = append(p.conv2A, i*midStride+(oy*hp+ox)*m)
			p.midC = append(p.midC, i*midStride+((oy+1)*hp+ox+1)*m)
		}
		for r := 0; r < gg; r++ {
			gy, gx := r/g, r%g
			p.projA = append(p.projA, i*midStride+((k*gy+1)*hp+k*gx+1)*m)
			p.projC = append(p.projC, (i*(1+gg)+1+r)*width)
		}
	}
	p.conv1Segs = []int{0, sp * C, 2 * sp * C}
	p.conv2Segs = []int{0, hp * m, 2 * hp * m}
	for ky := 0; ky < k; ky++ {
		p.projSegs = append(p.projSegs, ky*hp*m)
	}
	return p
}

// reducePlan is reducePacked's row offsets for reduceImages images of a g × g grid of cin
// channels reduced to cout: each output token's top-left tap in the zero-bordered grids, and
// its row in the output tokens (class tokens first).
func reducePlan(g, cin, cout int) (aRows, cRows []int) {
	gp, g2 := g+2, g/2
	gg := g2 * g2
	for i := 0; i < reduceImages; i++ {
		for r := 0; r < gg; r++ {
			oy, ox := r/g2, r%g2
			aRows = append(aRows, i*gp*gp*cin+(2*oy*gp+2*ox)*cin)
			cRows = append(cRows, (i*(1+gg)+1+r)*cout)
		}
	}
	return aRows, cRows
}

package train

import (
	"math"
	"sort"

	"github.com/resnas/resnas/model"
)

// rewire sorts every transformer block's heads and MLP hidden units by importance, largest
// first, so that "the first k" of a sub-network are the most important k (reference.md §6.1,
// supernet_blocks.py rewiring). Heads are scored by the L1 norm of their q, k and v weight rows
// plus |qkv bias| plus the L1 norm of their proj columns; hidden units by the L1 norm of their
// fc1 row, |fc1 bias| and their fc2 column. The permutation is applied to the weights AND to the
// AdamW moments, which the reference forgets (it permutes only .data).
func (sp *supernetParams) rewire() {
	for i, l := range sp.maxArch.Layers {
		if l.Type != model.TypeBlock {
			continue
		}
		lp := &sp.layers[i]
		rewireHeads(lp, l)
		rewireMLP(lp, l)
	}
}

// order returns the indices of score sorted by descending score (stable for ties).
func order(score []float64) []int {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] > score[idx[b]] })
	return idx
}

func abs32(v float32) float64 { return math.Abs(float64(v)) }

func rewireHeads(lp *layerParams, l model.Layer) {
	h, d, c := l.Heads, l.HeadDim, l.Dim
	hd := h * d
	score := make([]float64, h)
	for s := 0; s < 3; s++ {
		for r := 0; r < hd; r++ {
			row := lp.qkvW.w[(s*hd+r)*c : (s*hd+r+1)*c]
			for _, v := range row {
				score[r/d] += abs32(v)
			}
			score[r/d] += abs32(lp.qkvB.w[s*hd+r])
		}
	}
	for o := 0; o < c; o++ {
		for col := 0; col < hd; col++ {
			score[col/d] += abs32(lp.projW.w[o*hd+col])
		}
	}
	perm := order(score)
	// Row r of a qkv section moves with its head: new head j takes old head perm[j].
	rowPerm := make([]int, 3*hd)
	for s := 0; s < 3; s++ {
		for j, old := range perm {
			for k := 0; k < d; k++ {
				rowPerm[s*hd+j*d+k] = s*hd + old*d + k
			}
		}
	}
	for _, buf := range [][]float32{lp.qkvW.w, lp.qkvW.m, lp.qkvW.v} {
		permuteRows(buf, c, rowPerm)
	}
	for _, buf := range [][]float32{lp.qkvB.w, lp.qkvB.m, lp.qkvB.v} {
		permuteRows(buf, 1, rowPerm)
	}
	for _, buf := range [][]float32{lp.projW.w, lp.projW.m, lp.projW.v} {
		permuteCols(buf, c, hd, rowPerm[:hd])
	}
}

func rewireMLP(lp *layerParams, l model.Layer) {
	m, c := l.MLP, l.Dim
	score := make([]float64, m)
	for u := 0; u < m; u++ {
		for _, v := range lp.fc1W.w[u*c : (u+1)*c] {
			score[u] += abs32(v)
		}
		score[u] += abs32(lp.fc1B.w[u])
	}
	for o := 0; o < c; o++ {
		for u := 0; u < m; u++ {
			score[u] += abs32(lp.fc2W.w[o*m+u])
		}
	}
	perm := order(score)
	for _, buf := range [][]float32{lp.fc1W.w, lp.fc1W.m, lp.fc1W.v} {
		permuteRows(buf, c, perm)
	}
	for _, buf := range [][]float32{lp.fc1B.w, lp.fc1B.m, lp.fc1B.v} {
		permuteRows(buf, 1, perm)
	}
	for _, buf := range [][]float32{lp.fc2W.w, lp.fc2W.m, lp.fc2W.v} {
		permuteCols(buf, c, m, perm)
	}
}

// permuteRows reorders the rows (of width cols) of buf so that new row i is old row perm[i].
func permuteRows(buf []float32, cols int, perm []int) {
	old := append([]float32(nil), buf[:len(perm)*cols]...)
	for i, p := range perm {
		copy(buf[i*cols:(i+1)*cols], old[p*cols:(p+1)*cols])
	}
}

// permuteCols reorders the first len(perm) columns of a rows×cols matrix: new column j is old
// column perm[j].
func permuteCols(buf []float32, rows, cols int, perm []int) {
	tmp := make([]float32, len(perm))
	for r := 0; r < rows; r++ {
		row := buf[r*cols : (r+1)*cols]
		for j, p := range perm {
			tmp[j] = row[p]
		}
		copy(row, tmp)
	}
}

package tui

import (
	"cmp"
	"slices"

	"github.com/resnas/resnas/model"
)

// point is one evaluated architecture: what the trade-off plot draws and the history CSV
// lists.
type point struct {
	seq          int    // evaluation order, from 0
	key          string // Arch.String()
	arch         model.Arch
	source       string // "editor" or "search"
	macs, params int64
	est          Estimate
	bn           bool // BN recalibrated for est
}

// history holds every architecture evaluated on the whole sub-val set, once per network_def
// and BN mode; a later result for the same pair replaces the earlier one.
type history struct {
	points []point
	index  map[histKey]int
}

type histKey struct {
	arch string
	bn   bool
}

func newHistory() history { return history{index: map[histKey]int{}} }

// add records p and reports whether the history changed.
func (h *history) add(p point) bool {
	k := histKey{p.key, p.bn}
	if i, ok := h.index[k]; ok {
		if h.points[i].est.Equal(p.est) {
			return false
		}
		p.seq = h.points[i].seq
		h.points[i] = p
		return true
	}
	p.seq = len(h.points)
	h.index[k] = len(h.points)
	h.points = append(h.points, p)
	return true
}

// paretoFront returns the indices of the points not dominated in (top-1 higher, x better),
// sorted by x ascending. lowerXBetter is true for MACs and false for throughput. Points with
// ok(i) false take no part.
func paretoFront(n int, x func(int) float64, top1 func(int) float64, lowerXBetter bool, ok func(int) bool) []int {
	idx := make([]int, 0, n)
	for i := 0; i < n; i++ {
		if ok(i) {
			idx = append(idx, i)
		}
	}
	better := func(a, b float64) int { // <0 when a is the better x
		if lowerXBetter {
			return cmp.Compare(a, b)
		}
		return cmp.Compare(b, a)
	}
	// Best x first; among equal x the highest top-1 first, so it alone can enter the front.
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := better(x(a), x(b)); c != 0 {
			return c
		}
		return cmp.Compare(top1(b), top1(a))
	})
	var front []int
	for _, i := range idx {
		if len(front) == 0 || top1(i) > top1(front[len(front)-1]) {
			front = append(front, i)
		}
	}
	slices.SortFunc(front, func(a, b int) int { return cmp.Compare(x(a), x(b)) })
	return front
}

package evolution

import (
	"cmp"
	"slices"

	"github.com/resnas/resnas/stats"
)

// Best is the record with the highest top-1, the earlier on a tie; zero for no records.
func Best(recs []Record) Record {
	var best Record
	for _, r := range recs {
		if r.Top1 > best.Top1 || best.NetworkDef == "" {
			best = r
		}
	}
	return best
}

// Tie is a candidate the data cannot tell from the best: the 95% paired interval of their
// difference, on the same images, includes zero.
type Tie struct {
	Index      int        `json:"index"`
	NetworkDef string     `json:"network_def"`
	Top1       float64    `json:"top1"`
	MACs       int64      `json:"macs"`
	Diff       float64    `json:"diff"` // best − this, points
	CI95       [2]float64 `json:"ci95"` // points
	P          float64    `json:"p"`    // exact McNemar
}

// TiedWith lists the other candidates of recs statistically tied with best, cheapest first,
// each network once. ok is false when best has no per-image results (an old journal).
func TiedWith(recs []Record, best Record) (tied []Tie, ok bool) {
	bb, ok := best.PerImage()
	if !ok {
		return nil, false
	}
	seen := map[string]bool{best.NetworkDef: true}
	for _, r := range recs {
		rb, has := r.PerImage()
		if !has || seen[r.NetworkDef] {
			continue
		}
		seen[r.NetworkDef] = true
		p, err := stats.PairedOf(bb, rb)
		if err != nil || p.Distinguishable() {
			continue
		}
		tied = append(tied, Tie{Index: r.Index, NetworkDef: r.NetworkDef, Top1: r.Top1, MACs: r.MACs,
			Diff: 100 * p.Diff, CI95: [2]float64{100 * p.CI95[0], 100 * p.CI95[1]}, P: p.P})
	}
	slices.SortStableFunc(tied, func(a, b Tie) int { return cmp.Compare(a.MACs, b.MACs) })
	return tied, true
}

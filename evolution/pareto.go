package evolution

import (
	"slices"
)

// Dominates reports whether a is at least as good as b in every objective and better in one.
// The objectives are top-1 (higher is better), MACs and parameters (lower) and throughput
// (higher); an unmeasured throughput is 0, so it only separates records when measured.
func Dominates(a, b Record) bool {
	if a.Top1 < b.Top1 || a.MACs > b.MACs || a.Params > b.Params || a.Throughput < b.Throughput {
		return false
	}
	return a.Top1 > b.Top1 || a.MACs < b.MACs || a.Params < b.Params || a.Throughput > b.Throughput
}

// covers reports whether a is at least as good as b in every objective (a dominates b or
// ties it everywhere).
func covers(a, b Record) bool {
	return a.Top1 >= b.Top1 && a.MACs <= b.MACs && a.Params <= b.Params && a.Throughput >= b.Throughput
}

// Front is the non-dominated set of the records added to it, kept incrementally: no member is
// dominated by an added record, and every added record that is not a member is dominated by a
// member or ties one in every objective (the same network evaluated twice, say; the earlier
// record stays). The zero Front is empty.
type Front struct {
	members []Record
}

// Add offers r and reports whether it joined the front (evicting the members it dominates).
func (f *Front) Add(r Record) bool {
	for _, m := range f.members {
		if covers(m, r) {
			return false
		}
	}
	// What an evicted member covered, r covers too, so the second property holds.
	f.members = slices.DeleteFunc(f.members, func(m Record) bool { return Dominates(r, m) })
	f.members = append(f.members, r)
	return true
}

// Len is the number of members.
func (f *Front) Len() int { return len(f.members) }

// Members returns the front in evaluation order.
func (f *Front) Members() []Record {
	out := slices.Clone(f.members)
	slices.SortFunc(out, func(a, b Record) int { return a.Index - b.Index })
	return out
}

// Contains reports whether the record with this evaluation index is a member.
func (f *Front) Contains(index int) bool {
	return slices.ContainsFunc(f.members, func(m Record) bool { return m.Index == index })
}

// FrontOf returns the Pareto front of recs in evaluation order.
func FrontOf(recs []Record) []Record {
	var f Front
	for _, r := range recs {
		f.Add(r)
	}
	return f.Members()
}

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

// Front is the non-dominated set of the records added to it, kept incrementally: every member
// is dominated by no added record, and every added record that is not a member is dominated
// by a member. An architecture evaluated twice counts once. The zero Front is empty.
type Front struct {
	members []Record
}

// Add offers r and reports whether it joined the front (evicting the members it dominates).
func (f *Front) Add(r Record) bool {
	for _, m := range f.members {
		if m.NetworkDef == r.NetworkDef || Dominates(m, r) {
			return false
		}
	}
	// Dominance is transitive, so what an evicted member dominated, r dominates too.
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

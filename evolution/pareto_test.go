package evolution

import (
	"fmt"
	"testing"
)

// checkFront asserts the front property against all records offered.
func checkFront(t *testing.T, f *Front, all []Record) {
	t.Helper()
	members := f.Members()
	in := map[int]bool{}
	for _, m := range members {
		in[m.Index] = true
		for _, r := range all {
			if Dominates(r, m) {
				t.Fatalf("member %d is dominated by record %d", m.Index, r.Index)
			}
		}
	}
	for _, r := range all {
		if in[r.Index] {
			continue
		}
		dominated := false
		for _, m := range members {
			if covers(m, r) {
				dominated = true
				break
			}
		}
		if !dominated {
			t.Fatalf("record %d (%+v) is neither a member nor covered by one", r.Index, r)
		}
	}
}

func TestFrontProperty(t *testing.T) {
	for seed := range uint64(20) {
		r := newRNG(seed)
		var f Front
		var all []Record
		for i := range 300 {
			rec := Record{Index: i, Top1: float64(r.intn(12)), MACs: int64(r.intn(12)), Params: int64(r.intn(12))}
			if seed%2 == 0 {
				rec.Throughput = float64(r.intn(10))
			}
			rec.NetworkDef = fmt.Sprint("arch", i)
			f.Add(rec)
			all = append(all, rec)
			if i%50 == 0 {
				checkFront(t, &f, all)
			}
		}
		checkFront(t, &f, all)
	}
}

func TestDominates(t *testing.T) {
	a := Record{Top1: 80, MACs: 10, Params: 5}
	for _, c := range []struct {
		b    Record
		want bool
	}{
		{Record{Top1: 79, MACs: 10, Params: 5}, true},
		{Record{Top1: 80, MACs: 11, Params: 5}, true},
		{Record{Top1: 80, MACs: 10, Params: 5}, false},
		{Record{Top1: 81, MACs: 11, Params: 5}, false},
		{Record{Top1: 79, MACs: 10, Params: 5, Throughput: 3}, false},
	} {
		if got := Dominates(a, c.b); got != c.want {
			t.Errorf("Dominates(%+v, %+v) = %v, want %v", a, c.b, got, c.want)
		}
	}
}

package evolution

import (
	"testing"

	"github.com/resnas/resnas/stats"
)

// TestTiedWith: a twin of the best is tied, a candidate far below is not, repeats count
// once, the list runs cheapest first, and records without per-image results say so.
func TestTiedWith(t *testing.T) {
	bits := func(n, right int) string {
		b := stats.NewBitset(n)
		for i := 0; i < right; i++ {
			b.Set(i)
		}
		return b.Encode()
	}
	const n = 2000
	recs := []Record{
		{Index: 0, NetworkDef: "best", Top1: 90, MACs: 300, Images: n, Correct: bits(n, 1800)},
		{Index: 1, NetworkDef: "twin", Top1: 90, MACs: 200, Images: n, Correct: bits(n, 1800)},
		{Index: 2, NetworkDef: "close", Top1: 89.9, MACs: 100, Images: n, Correct: bits(n, 1798)},
		{Index: 3, NetworkDef: "far", Top1: 85, MACs: 50, Images: n, Correct: bits(n, 1700)},
		{Index: 4, NetworkDef: "twin", Top1: 90, MACs: 200, Images: n, Correct: bits(n, 1800)},
		{Index: 5, NetworkDef: "old", Top1: 89, MACs: 10, Images: n},
	}
	best := Best(recs)
	if best.NetworkDef != "best" {
		t.Fatalf("Best = %s, want the first of the 90%% ones", best.NetworkDef)
	}
	tied, ok := TiedWith(recs, best)
	if !ok || len(tied) != 2 || tied[0].NetworkDef != "close" || tied[1].NetworkDef != "twin" {
		t.Fatalf("TiedWith = %+v, %v; want close then twin", tied, ok)
	}
	if c := tied[0]; !(c.CI95[0] <= 0 && 0 <= c.CI95[1]) || c.Diff <= 0 || c.P != 0.5 {
		t.Errorf("close: %+v, want an interval around +0.1 points holding 0 and p = 0.5 (2 discordant images)", c)
	}
	if _, ok := TiedWith(recs, recs[5]); ok {
		t.Error("a best without per-image results claimed to know its ties")
	}
}

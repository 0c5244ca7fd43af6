package main

import "testing"

func TestParetoFront(t *testing.T) {
	pts := []point{{def: "a", macs: 3, top1: 0.9}, {def: "b", macs: 1, top1: 0.8}, {def: "c", macs: 2, top1: 0.7},
		{def: "d", macs: 2, top1: 0.85}, {def: "e", macs: 4, top1: 0.88}}
	var got []string
	for _, p := range paretoFront(pts) {
		got = append(got, p.def)
	}
	if want := []string{"b", "d", "a"}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("front %v, want %v", got, want)
	}
}

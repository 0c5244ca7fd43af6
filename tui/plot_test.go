package tui

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/resnas/resnas/model"
)

func TestParetoFront(t *testing.T) {
	// (x, top-1) with the front worked out by hand: lower x is better.
	xs := []float64{1, 2, 2, 3, 4, 5, 6}
	ys := []float64{70, 69, 72, 72, 75, 74, 75}
	got := paretoFront(len(xs), func(i int) float64 { return xs[i] }, func(i int) float64 { return ys[i] }, true,
		func(int) bool { return true })
	if want := []int{0, 2, 4}; !slices.Equal(got, want) {
		t.Errorf("front (lower x better) %v, want %v", got, want)
	}
	// Higher x is better (throughput): 6 with 75 dominates everything but nothing beats it.
	got = paretoFront(len(xs), func(i int) float64 { return xs[i] }, func(i int) float64 { return ys[i] }, false,
		func(int) bool { return true })
	if want := []int{6}; !slices.Equal(got, want) {
		t.Errorf("front (higher x better) %v, want %v", got, want)
	}
	// Points without an x value take no part.
	got = paretoFront(len(xs), func(i int) float64 { return xs[i] }, func(i int) float64 { return ys[i] }, true,
		func(i int) bool { return i != 0 })
	if want := []int{2, 4}; !slices.Equal(got, want) { // (2, 72) dominates (2, 69)
		t.Errorf("front without point 0 %v, want %v", got, want)
	}
}

// No point off the front is dominated by none, and no front point is dominated: checked
// against the definition on random clouds.
func TestParetoFrontProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + rng.IntN(40)
		xs, ys := make([]float64, n), make([]float64, n)
		for i := range n {
			xs[i], ys[i] = float64(rng.IntN(10)), float64(rng.IntN(10))
		}
		front := paretoFront(n, func(i int) float64 { return xs[i] }, func(i int) float64 { return ys[i] }, true,
			func(int) bool { return true })
		dominated := func(i int) bool {
			for j := range n {
				if xs[j] <= xs[i] && ys[j] >= ys[i] && (xs[j] < xs[i] || ys[j] > ys[i]) {
					return true
				}
			}
			return false
		}
		for i := range n {
			on := slices.Contains(front, i)
			if on && dominated(i) {
				t.Fatalf("trial %d: front point %d (%v, %v) is dominated", trial, i, xs[i], ys[i])
			}
			if !on && !dominated(i) && !slices.ContainsFunc(front, func(j int) bool { return xs[j] == xs[i] && ys[j] == ys[i] }) {
				t.Fatalf("trial %d: point %d (%v, %v) is on no front", trial, i, xs[i], ys[i])
			}
		}
	}
}

// withPoints returns a model whose history holds a few evaluated architectures.
func withPoints(t *testing.T, w, h int) Model {
	t.Helper()
	m := sized(t, testOptions(), w, h)
	for range 12 {
		m = keys(t, m, "r")
	}
	return keys(t, m, "m", "M")
}

func TestPlotSelectLoadsIntoEditor(t *testing.T) {
	m := withPoints(t, 120, 40)
	if m.plot.Len() < 10 {
		t.Fatalf("%d points, want at least 10", m.plot.Len())
	}
	m = keys(t, m, "tab") // the plot
	m = keys(t, m, "enter")
	if !strings.Contains(m.View(), "select a point first") {
		t.Error("enter without a selection does not say why")
	}
	// ↓ walks the front towards smaller MACs; the smallest architecture is on it.
	for range m.plot.Front() {
		m = keys(t, m, "j")
	}
	sel, ok := m.plot.Selected()
	if !ok || !sel.arch.Equal(m.opts.Space.Min()) {
		t.Fatalf("the front's cheapest point is %s, want the smallest architecture", sel.key)
	}
	m = keys(t, m, "enter")
	if !m.arch.Equal(m.opts.Space.Min()) || !m.editor.Arch().Equal(m.opts.Space.Min()) {
		t.Fatal("enter did not load the selected point into the editor")
	}
	if !strings.Contains(m.View(), fmt.Sprintf("%c %s MACs", runeSelected, siCount(sel.macs))) {
		t.Error("the selection's figures are not shown")
	}
	// → walks every point in MACs order.
	var seen []int64
	for range m.plot.Len() + 2 {
		m = keys(t, m, "l")
		p, _ := m.plot.Selected()
		seen = append(seen, p.macs)
	}
	if !slices.IsSorted(seen) {
		t.Errorf("→ visited MACs out of order: %v", seen)
	}
	m = keys(t, m, "esc")
	if _, ok := m.plot.Selected(); ok {
		t.Error("esc kept the selection")
	}
}

func TestPlotDrawsDistinctMarkers(t *testing.T) {
	m := withPoints(t, 120, 40)
	view := m.plot.view
	for _, r := range []rune{runeFront, runeCurrent} {
		if !strings.ContainsRune(view, r) {
			t.Errorf("plot lacks marker %q:\n%s", r, view)
		}
	}
	braille := 0
	for _, r := range view {
		if r >= 0x2801 && r <= 0x28FF {
			braille++
		}
	}
	if braille < 3 { // the legend has one
		t.Errorf("only %d braille cells: the cloud is not drawn:\n%s", braille, view)
	}
	m = keys(t, m, "tab", "l")
	if !strings.ContainsRune(m.plot.view, runeSelected) {
		t.Error("no selection marker after selecting")
	}
}

func TestHistoryDedupesSkippedBlockFields(t *testing.T) {
	m := sized(t, testOptions(), 80, 24)
	a := m.opts.Space.Max()
	a.Layers[1].Exists = false
	b := a.Clone()
	b.Layers[1].Heads, b.Layers[1].MLP = 4, 512 // a skipped block's fields do not matter
	if m.keyOf(a) != m.keyOf(b) {
		t.Error("networks differing only in a skipped block's fields get different keys")
	}
	if _, err := model.ParseArch(m.keyOf(a)); err != nil {
		t.Errorf("a key is not a network_def: %v", err)
	}
}

// TestPlotXRangeNeverNegative: MACs and throughput are never negative, so the padding that
// keeps points off the axes must not label the x-axis with negative values (the shipped
// default's smallest network has 1/52 of the largest's MACs: 8% padding went below zero).
func TestPlotXRangeNeverNegative(t *testing.T) {
	for _, c := range []struct{ lo, hi float64 }{
		{420144, 21764480}, {0, 1000}, {5, 5}, {0, 0}, {1e6, 1.1e6}, {3, 250},
	} {
		lo, hi := xRange(c.lo, c.hi)
		if lo < 0 || lo > c.lo || hi < c.hi || hi <= lo {
			t.Errorf("xRange(%g, %g) = [%g, %g]: want 0 <= lo <= %g, hi >= %g, hi > lo", c.lo, c.hi, lo, hi, c.lo, c.hi)
		}
	}
	if lo, hi := xRange(1e6, 1.1e6); lo == 1e6 || hi == 1.1e6 {
		t.Errorf("xRange(1e6, 1.1e6) = [%g, %g]: points far from zero keep their padding", lo, hi)
	}
}

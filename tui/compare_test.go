package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/stats"
)

// bitsOf makes the per-image results of n images, set where right(i).
func bitsOf(n int, right func(i int) bool) stats.Bitset {
	b := stats.NewBitset(n)
	for i := range n {
		if right(i) {
			b.Set(i)
		}
	}
	return b
}

// finalOf is a whole-set estimate with the given per-image results.
func finalOf(b stats.Bitset) Estimate {
	return Estimate{Top1: 100 * float64(b.Count()) / float64(b.N), CI95: 1, Images: b.N, Final: true, Correct: b}
}

// The per-image results the comparison tests use, on 2,000 images. base is right on 75%
// (i%4 != 0). moved trades 300 of base's right images for 200 of its wrong ones: 5 points
// apart, 500 images differ. near differs from base on 10 images, 5 each way.
var (
	base  = bitsOf(2000, func(i int) bool { return i%4 != 0 })
	moved = bitsOf(2000, func(i int) bool {
		switch {
		case i < 1200 && i%4 == 1: // 300 of base's right images
			return false
		case i < 800 && i%4 == 0: // 200 of base's wrong ones
			return true
		}
		return i%4 != 0
	})
	near = bitsOf(2000, func(i int) bool {
		switch {
		case i < 20 && i%4 == 1:
			return false
		case i < 20 && i%4 == 0:
			return true
		}
		return i%4 != 0
	})
)

func TestPairTwinsAndDistinctNetworks(t *testing.T) {
	twin := bitsOf(2000, func(i int) bool { return i%4 != 0 })
	c := pairOf(finalOf(base), finalOf(twin))
	if !c.ok || c.p.Distinguishable() || c.p.Diff != 0 || c.p.P != 1 || c.p.Images != 2000 {
		t.Errorf("twins: %+v, want a comparison on 2000 images, difference 0, p 1, not distinguishable", c)
	}
	c = pairOf(finalOf(moved), finalOf(base))
	if !c.ok || !c.p.Distinguishable() || c.p.OnlyA != 200 || c.p.OnlyB != 300 || fmt.Sprintf("%+.2f", 100*c.p.Diff) != "-5.00" {
		t.Errorf("5 points apart on 500 of 2000 images: %+v, want distinguishable, 200/300 discordant, -5.00 points", c)
	}
	if c.p.CI95[1] >= 0 || c.p.P >= 0.001 {
		t.Errorf("5 points apart: interval %v and p %g, want below 0 and < 0.001", c.p.CI95, c.p.P)
	}
}

// tableEvaluator answers from a table of whole-set estimates, by network_def. A quick
// request gets the prefix of the per-image results (Final false); with failFinal, a
// whole-set request for that network fails.
type tableEvaluator struct {
	ests      map[string]Estimate
	failFinal string
}

func (e tableEvaluator) Evaluate(_ context.Context, req EvalRequest) (Estimate, error) {
	def := req.Arch.String()
	est, ok := e.ests[def]
	if !ok {
		return Estimate{}, errors.New("no estimate in the table")
	}
	if req.Limit > 0 && req.Limit < est.Images {
		q := Estimate{Top1: est.Top1, CI95: 3, Images: req.Limit}
		if hasPerImage(est) {
			q.Correct = est.Correct.Prefix(req.Limit)
		}
		return q, nil
	}
	if def == e.failFinal {
		return Estimate{}, errors.New("out of memory")
	}
	return est, nil
}

// editedArch is the largest architecture with blocks.0 at 5 heads: where "j", "-" leads.
func editedArch() model.Arch {
	a := tinySpace().Max()
	a.Layers[0].Heads = 5
	return a
}

// afterEdit starts at the largest architecture (estimate prev), then edits blocks.0 to 5
// heads (estimate cur), at w×h.
func afterEdit(t *testing.T, w, h int, prev, cur Estimate, failFinal bool) Model {
	t.Helper()
	opts := testOptions()
	ev := tableEvaluator{ests: map[string]Estimate{opts.Space.Max().String(): prev, editedArch().String(): cur}}
	if failFinal {
		ev.failFinal = editedArch().String()
	}
	opts.Evaluator = ev
	m := keys(t, sized(t, opts, w, h), "j", "-")
	if !m.arch.Equal(editedArch()) {
		t.Fatal("j, - did not give blocks.0 5 heads")
	}
	return m
}

// metricsLine returns the metrics block's line that starts with label.
func metricsLine(t *testing.T, m Model, label string) string {
	t.Helper()
	for _, l := range strings.Split(m.metricsView(m.leftWidth()-2), "\n") {
		if strings.HasPrefix(l, label) {
			return strings.TrimRight(l, " ")
		}
	}
	t.Fatalf("no %q line in\n%s", label, m.metricsView(m.leftWidth()-2))
	return ""
}

func TestCompareWithPrevious(t *testing.T) {
	want := func(both, onlyA, onlyB, neither int) stats.Paired {
		return stats.ComparePaired(both, onlyA, onlyB, neither)
	}
	ci := func(p stats.Paired, sep string) string {
		return fmt.Sprintf("[%+.2f,%s%+.2f]", 100*p.CI95[0], sep, 100*p.CI95[1])
	}
	// moved against base: both right 1200, only moved 200, only base 300, neither 300.
	distinct := want(1200, 200, 300, 300)
	// near against base: 5 each way. The long wording fits the widest pane only (from 130
	// columns).
	tied := want(1495, 5, 5, 495)
	cases := []struct {
		name     string
		w, h     int
		prev     Estimate
		cur      Estimate
		fail     bool // the whole-set evaluation of cur fails: only its quick estimate is known
		line     string
		p        stats.Paired
		compared bool
	}{
		{"distinguishable", 120, 40, finalOf(base), finalOf(moved), false,
			"vs prev -5.00 pts " + ci(distinct, " ") + " p<0.001", distinct, true},
		{"distinguishable at 80 columns", 80, 24, finalOf(base), finalOf(moved), false,
			"vs prev -5.00 " + ci(distinct, " ") + " p<0.001", distinct, true},
		{"not distinguishable", 140, 40, finalOf(base), finalOf(near), false,
			"vs prev ≈ not distinguishable (+0.00 " + ci(tied, " ") + ")", tied, true},
		{"not distinguishable at 80 columns", 80, 24, finalOf(base), finalOf(near), false,
			"vs prev ≈ tied (+0.00 " + ci(tied, " ") + ")", tied, true},
		{"no per-image results before", 120, 40, Estimate{Top1: 75, CI95: 1, Images: 2000, Final: true}, finalOf(near), false,
			"vs prev —", stats.Paired{}, false},
		{"no per-image results now", 120, 40, finalOf(base), Estimate{Top1: 75, CI95: 1, Images: 2000, Final: true}, false,
			"vs prev —", stats.Paired{}, false},
		// 500 of moved's images against base's 2000: the first 500 of each. There both are
		// right where i%4 is 2 or 3 (250), only moved where it is 0 (125), only base where
		// it is 1 (125).
		{"fewer images now", 120, 40, finalOf(base), finalOf(moved.Prefix(500)), false,
			"", want(250, 125, 125, 0), true},
		// Only the quick estimate (256 images) of the edit is known: the same split of the
		// first 256.
		{"quick estimate now", 120, 40, finalOf(base), finalOf(moved), true,
			"", want(128, 64, 64, 0), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := afterEdit(t, c.w, c.h, c.prev, c.cur, c.fail)
			got := m.cmp.prev.pairing
			if got.ok != c.compared || got.p != c.p {
				t.Errorf("comparison %+v, want ok=%v %+v", got, c.compared, c.p)
			}
			line := metricsLine(t, m, "vs prev")
			if c.line != "" && line != c.line {
				t.Errorf("line %q, want %q", line, c.line)
			}
			if w := lipgloss.Width(line); w > m.leftWidth()-2 {
				t.Errorf("line %q is %d cells wide, the pane %d", line, w, m.leftWidth()-2)
			}
			if l := metricsLine(t, m, "vs sel"); l != "vs sel  —" {
				t.Errorf("no selection, but %q", l)
			}
		})
	}
}

// Changing a skipped block's heads leaves the network as it was: nothing to compare.
func TestCompareSameNetwork(t *testing.T) {
	opts := testOptions()
	a := opts.Space.Max()
	a.Layers[1].Exists = false
	opts.Initial = a
	m := keys(t, sized(t, opts, 80, 24), "j", "j", "-")
	if m.arch.Layers[1].Heads != 5 || m.keyOf(m.arch) != m.keyOf(m.prev) {
		t.Fatal("j, j, - did not change the skipped blocks.1's heads")
	}
	if l := metricsLine(t, m, "vs prev"); l != "vs prev = same network" {
		t.Errorf("line %q", l)
	}
}

func TestCompareWithSelection(t *testing.T) {
	m := withPoints(t, 120, 40)
	m = keys(t, m, "tab")
	cur := m.eval.cache[m.currentKey()]
	// → from the left end to the right end: the largest, the current architecture, is last.
	for range m.plot.Len() {
		m = keys(t, m, "l")
	}
	if sel, _ := m.plot.Selected(); sel.key != m.keyOf(m.arch) {
		t.Fatal("the rightmost point is not the current architecture")
	}
	if l := metricsLine(t, m, "vs sel"); l != "vs sel  —" {
		t.Errorf("the selection is the current architecture, but %q", l)
	}
	m = keys(t, m, "h")
	sel, _ := m.plot.Selected()
	want := pairText("vs sel", pairOf(cur, sel.est), m.leftWidth()-2)
	if l := metricsLine(t, m, "vs sel"); l != want || !strings.Contains(l, "[") {
		t.Errorf("selection line %q, want %q", l, want)
	}
	if m.cmp.sel.p.Images != 25000 {
		t.Errorf("compared on %d images, want the 25000 both have", m.cmp.sel.p.Images)
	}
	// In the other BN mode the selection has no estimate: nothing to compare.
	m = keys(t, m, "B")
	if !m.bnRecal || !hasPerImage(m.eval.cache[m.currentKey()]) {
		t.Fatal("B did not evaluate the current architecture with BN recalibrated")
	}
	if l := metricsLine(t, m, "vs sel"); l != "vs sel  —" {
		t.Errorf("selection in the other BN mode, but %q", l)
	}
}

// plotOf is a plot of three points on one front: cheap, mid (2 images more than cheap:
// tied) and dear (98 more than mid: distinguishable).
func plotOf(t *testing.T) plot {
	t.Helper()
	cheap := bitsOf(2000, func(i int) bool { return i%4 != 0 })
	mid := bitsOf(2000, func(i int) bool { return i%4 != 0 || i < 8 })
	dear := bitsOf(2000, func(i int) bool { return i%4 != 0 || i < 400 })
	pts := []point{
		{key: "cheap", macs: 1e9, est: finalOf(cheap), source: "editor"},
		{key: "mid", macs: 2e9, est: finalOf(mid), source: "editor"},
		{key: "dear", macs: 3e9, est: finalOf(dear), source: "editor"},
	}
	rates := map[string]Rate{"cheap": {ImagesPerSec: 300}, "mid": {ImagesPerSec: 200}, "dear": {ImagesPerSec: 100}}
	p := plot{st: newStyles()}
	p.SetSize(100, 20)
	p.SetData(pts, rates, histKey{})
	if p.Front() != 3 {
		t.Fatalf("front of %d points, want 3", p.Front())
	}
	return p
}

func TestPlotMarksTiedFrontPoints(t *testing.T) {
	p := plotOf(t)
	for _, axis := range []string{"MACs", "throughput"} {
		if axis == "throughput" {
			p.ToggleAxis() // the next cheaper is now the faster neighbour, on the right
		}
		tied := map[string]bool{}
		for k, i := range p.front {
			tied[p.pts[i].key] = p.tied(k)
		}
		if !tied["mid"] || tied["dear"] || tied["cheap"] {
			t.Errorf("%s: tied %v, want mid only", axis, tied)
		}
		chart, legend, _ := strings.Cut(p.View(), "\n⠪")
		if strings.Count(chart, string(runeTied)) != 1 || strings.Count(chart, string(runeFront)) != 2 {
			t.Errorf("%s: want one %c and two %c:\n%s", axis, runeTied, runeFront, p.View())
		}
		if !strings.Contains(legend, fmt.Sprintf("%c front, tied with the next cheaper", runeTied)) {
			t.Errorf("%s: the legend does not name %c:\n%s", axis, runeTied, p.View())
		}
	}
	p.ToggleAxis()
	p.Select(1, true) // from the left end: cheap, which has no cheaper neighbour
	if info := p.info(); strings.Contains(info, "cheaper") {
		t.Errorf("the cheapest front point compared with a cheaper one: %q", info)
	}
	p.Select(1, true)
	if info := p.info(); !strings.Contains(info, "≈ tied with cheaper (+0.10 [") {
		t.Errorf("mid: %q, want it tied with the cheaper point", info)
	}
	p.Select(1, true)
	if info := p.info(); !strings.Contains(info, "vs cheaper +4.90 [") {
		t.Errorf("dear: %q, want it 4.90 points over mid", info)
	}
	p.SetSize(38, 20) // the pane at 80×24
	if info := p.info(); lipgloss.Width(info) > 38 || !strings.Contains(info, "vs cheaper +4.90") {
		t.Errorf("dear at 38 columns: %q", info)
	}
}

// A point of the other BN mode is not compared with its neighbour.
func TestPlotComparesOneBNMode(t *testing.T) {
	p := plotOf(t)
	p.pts[1].bn = true
	p.SetData(p.pts, p.rates, histKey{})
	for k := range p.front {
		if p.cheaper[k].ok && (k == 1 || k == 2) {
			t.Errorf("front point %d compared across BN modes", k)
		}
	}
}

// After an edit the comparison with the previous architecture appears with the estimate.
func TestFlowEditShowsComparison(t *testing.T) {
	opts := testOptions()
	opts.Initial = editedArch()
	ev := fakeEvaluator{in: opts.Space.Input}
	prev, err := ev.Evaluate(context.Background(), EvalRequest{Arch: editedArch()})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := ev.Evaluate(context.Background(), EvalRequest{Arch: opts.Space.Max()})
	if err != nil {
		t.Fatal(err)
	}
	want := pairText("vs prev", pairOf(cur, prev), 38)
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(80, 24))
	waitText(t, tm, "25000 img", "vs prev —")
	tm.Type("j+") // blocks.0: 5 heads → 6, the largest
	waitText(t, tm, want)
	m := finalModel(t, tm)
	if !m.arch.Equal(opts.Space.Max()) || !m.cmp.prev.ok || m.cmp.prev.p.Images != 25000 {
		t.Errorf("after the edit: comparison %+v", m.cmp.prev)
	}
}

package tui

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/graph"
	"github.com/NimbleMarkets/ntcharts/linechart"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// Plot markers. A braille cell holds one colour, and colour may be off, so the front, the
// current architecture and the selection are distinct runes drawn over the dot cloud. A
// front point that a paired comparison cannot tell apart from the next cheaper front point
// is hollow.
const (
	runeFront    = '◆'
	runeTied     = '◇'
	runeCurrent  = '●'
	runeSelected = '□'
)

// plot is the trade-off pane: top-1 against MACs (or measured throughput), every evaluated
// architecture a braille dot. It redraws in refresh, called from Update whenever its data,
// axis or size changes, never in View (style.md §4, leet epochlinechart.go's dirty flag).
// It is a bubble with its own key table (plotKeys): moving the selection and the axis are
// its own; loading a point goes to the root as a request (loadPointMsg).
type plot struct {
	st          styles
	xThroughput bool
	pts         []point
	rates       map[string]Rate
	current     histKey
	vis         []int     // indices into pts that have an x value, sorted by x
	front       []int     // indices into pts on the Pareto front, sorted by x
	cheaper     []pairing // per front point: against the next cheaper front point (A − B)
	sel         histKey
	hasSel      bool
	width       int
	height      int
	focused     bool
	view        string
	outbox
}

// Update runs the plot's key table while it has focus; it takes no other message.
func (p plot) Update(msg tea.Msg) (plot, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok || !p.focused {
		return p, nil
	}
	_, why, cmd := dispatch(plotKeys(), &p, k)
	if why != "" {
		p.send(failMsg{why})
	}
	return p, cmd
}

// Keys is the plot's key table as help shows it.
func (p plot) Keys() []keyGroup { return groupsOf(plotKeys(), p) }

func plotKeys() []category[plot] {
	return []category[plot]{{name: "Trade-off", bindings: []binding[plot]{
		bind([]string{"left", "h"}, "←/h", "previous point", func(p *plot) tea.Cmd { p.Select(-1, false); return nil }).when(noPoints).inFooter(),
		bind([]string{"right", "l"}, "→/l", "next point", func(p *plot) tea.Cmd { p.Select(1, false); return nil }).when(noPoints).inFooter(),
		bind([]string{"down", "j"}, "↓/j", "previous front point", func(p *plot) tea.Cmd { p.Select(-1, true); return nil }).when(noPoints).inFooter(),
		bind([]string{"up", "k"}, "↑/k", "next front point", func(p *plot) tea.Cmd { p.Select(1, true); return nil }).when(noPoints).inFooter(),
		bind([]string{"enter"}, "enter", "load into editor", (*plot).loadSelected).when(noSelection).inFooter(),
		bind([]string{"v"}, "v", "x axis: MACs/throughput", func(p *plot) tea.Cmd { p.ToggleAxis(); return nil }).inFooter(),
	}}}
}

// loadSelected asks the root to load the selected point.
func (p *plot) loadSelected() tea.Cmd {
	sel, _ := p.Selected()
	p.send(loadPointMsg{sel})
	return nil
}

func noPoints(p plot) string {
	if p.Len() == 0 {
		if p.xThroughput {
			return "no architecture has a measured throughput yet (t measures)"
		}
		return "no architecture evaluated yet"
	}
	return ""
}

func noSelection(p plot) string {
	if why := noPoints(p); why != "" {
		return why
	}
	if _, ok := p.Selected(); !ok {
		return "select a point first (←/→ or ↑/↓)"
	}
	return ""
}

// View is the chart drawn at the last change.
func (p plot) View() string { return p.view }

func (p *plot) Focus() { p.focused = true; p.redraw() }
func (p *plot) Blur()  { p.focused = false; p.redraw() }

func (p *plot) SetSize(w, h int) {
	p.width, p.height = w, h
	p.redraw()
}

// SetData gives the plot the history, the measured rates and the editor's architecture.
func (p *plot) SetData(pts []point, rates map[string]Rate, current histKey) {
	p.pts, p.rates, p.current = pts, rates, current
	p.refresh()
}

// ToggleAxis switches x between MACs and throughput.
func (p *plot) ToggleAxis() {
	p.xThroughput = !p.xThroughput
	p.refresh()
}

// Title names what is plotted.
func (p plot) Title() string {
	if p.xThroughput {
		return "Trade-off · top-1 vs images/s"
	}
	return "Trade-off · top-1 vs MACs"
}

// Len is the number of points drawn.
func (p plot) Len() int { return len(p.vis) }

// Front is the number of points on the Pareto front.
func (p plot) Front() int { return len(p.front) }

func (p plot) x(i int) float64 {
	if p.xThroughput {
		return p.rates[p.pts[i].key].ImagesPerSec
	}
	return float64(p.pts[i].macs)
}

func (p plot) hasX(i int) bool { return !p.xThroughput || p.rates[p.pts[i].key].ImagesPerSec > 0 }

func (p plot) find(k histKey) int {
	for _, i := range p.vis {
		if (histKey{p.pts[i].key, p.pts[i].bn}) == k {
			return i
		}
	}
	return -1
}

// Selected returns the selected point.
func (p plot) Selected() (point, bool) {
	if !p.hasSel {
		return point{}, false
	}
	if i := p.find(p.sel); i >= 0 {
		return p.pts[i], true
	}
	return point{}, false
}

// Select moves the selection dir steps along x, over every point or the front only. With
// nothing selected it starts from the current architecture's point, or an end.
func (p *plot) Select(dir int, frontOnly bool) {
	list := p.vis
	if frontOnly {
		list = p.front
	}
	if len(list) == 0 {
		return
	}
	from := -1
	if p.hasSel {
		from = p.find(p.sel)
	}
	if from < 0 {
		from = p.find(p.current)
	}
	var next int
	if from < 0 {
		next = list[0]
		if dir < 0 {
			next = list[len(list)-1]
		}
	} else if pos := slices.Index(list, from); pos >= 0 {
		next = list[max(0, min(len(list)-1, pos+dir))]
	} else {
		// Not on this list (a point off the front): go to the nearest one in direction dir.
		next = list[0]
		if dir < 0 {
			next = list[len(list)-1]
		}
		fx := p.x(from)
		for _, i := range list {
			if dir > 0 && p.x(i) >= fx {
				next = i
				break
			}
			if dir < 0 && p.x(i) <= fx {
				next = i
			}
		}
	}
	p.sel, p.hasSel = histKey{p.pts[next].key, p.pts[next].bn}, true
	p.redraw()
}

// HasSelection reports whether a point is selected.
func (p plot) HasSelection() bool { return p.hasSel }

// ClearSelection drops the selection.
func (p *plot) ClearSelection() { p.hasSel = false; p.redraw() }

// refresh recomputes what follows the data and the axis (the points drawn, the front and
// its comparisons), then redraws.
func (p *plot) refresh() {
	p.vis = make([]int, 0, len(p.pts))
	for i := range p.pts {
		if p.hasX(i) {
			p.vis = append(p.vis, i)
		}
	}
	slices.SortStableFunc(p.vis, func(a, b int) int { return cmp.Compare(p.x(a), p.x(b)) })
	p.front = paretoFront(len(p.pts), p.x, func(i int) float64 { return p.pts[i].est.Top1 }, !p.xThroughput, p.hasX)
	p.compareFront()
	p.redraw()
}

// redraw draws the chart again from the data as it is (after a change of size, focus or
// selection).
func (p *plot) redraw() { p.view = p.draw() }

// compareFront compares each front point with the next cheaper one: the neighbour on the
// front with the lower top-1, at smaller MACs or at higher throughput. Points of different
// BN modes, or without per-image results, stay uncompared.
func (p *plot) compareFront() {
	p.cheaper = make([]pairing, len(p.front))
	for k, i := range p.front {
		j := k - 1
		if p.xThroughput {
			j = k + 1
		}
		if j < 0 || j >= len(p.front) {
			continue
		}
		a, b := p.pts[i], p.pts[p.front[j]]
		if a.bn == b.bn {
			p.cheaper[k] = pairOf(a.est, b.est)
		}
	}
}

// tied reports whether front point k was compared with the next cheaper one and the two
// cannot be told apart.
func (p plot) tied(k int) bool { return p.cheaper[k].ok && !p.cheaper[k].p.Distinguishable() }

func (p plot) draw() string {
	if p.width <= 0 || p.height <= 0 {
		return ""
	}
	if len(p.vis) == 0 {
		msg := "No architecture evaluated yet.\nEdits are evaluated as you make them;\na search adds every candidate it scores."
		if p.xThroughput {
			msg = "No throughput measured yet.\nPress t to measure the current\narchitecture; v goes back to MACs."
		}
		return msg
	}
	chartH := p.height - 2
	if chartH < 5 || p.width < 20 {
		return p.legend() + "\n" + p.info()
	}
	minX, maxX := math.Inf(1), math.Inf(-1)
	minY, maxY := math.Inf(1), math.Inf(-1)
	for _, i := range p.vis {
		minX, maxX = min(minX, p.x(i)), max(maxX, p.x(i))
		minY, maxY = min(minY, p.pts[i].est.Top1), max(maxY, p.pts[i].est.Top1)
	}
	minX, maxX = xRange(minX, maxX)
	minY, maxY = pad(minY, maxY, 1)
	xfmt := func(_ int, v float64) string { return fmt.Sprintf("%.0f", v) }
	if !p.xThroughput {
		xfmt = func(_ int, v float64) string { return siCount(int64(v)) }
	}
	lc := linechart.New(p.width, chartH, minX, maxX, minY, maxY,
		linechart.WithXYSteps(14, max(1, (chartH-2)/3)),
		linechart.WithXLabelFormatter(xfmt),
		linechart.WithYLabelFormatter(func(_ int, v float64) string { return fmt.Sprintf("%.1f", v) }),
		linechart.WithStyles(p.st.dim, p.st.dim, p.st.cloud))
	lc.DrawXYAxisAndLabel()
	grid := graph.NewBrailleGrid(lc.GraphWidth(), lc.GraphHeight(), lc.ViewMinX(), lc.ViewMaxX(), lc.ViewMinY(), lc.ViewMaxY())
	at := func(i int) canvas.Point {
		return grid.GridPoint(canvas.Float64Point{X: p.x(i), Y: p.pts[i].est.Top1})
	}
	for _, i := range p.vis {
		grid.Set(at(i))
	}
	topLeft := canvas.Point{X: lc.Origin().X + 1, Y: lc.Origin().Y - lc.GraphHeight()}
	graph.DrawBraillePatterns(&lc.Canvas, topLeft, grid.BraillePatterns(), p.st.cloud)
	// A marker covers the braille cell holding its point's dot.
	mark := func(i int, r rune, s lipgloss.Style) {
		g := at(i)
		lc.Canvas.SetCell(topLeft.Add(canvas.Point{X: g.X / 2, Y: g.Y / 4}), canvas.NewCellWithStyle(r, s))
	}
	for k, i := range p.front {
		r := runeFront
		if p.tied(k) {
			r = runeTied
		}
		mark(i, r, p.st.front)
	}
	if i := p.find(p.current); i >= 0 {
		mark(i, runeCurrent, p.st.current)
	}
	if p.hasSel {
		if i := p.find(p.sel); i >= 0 {
			mark(i, runeSelected, p.st.cursor)
		}
	}
	return lc.View() + "\n" + p.legend() + "\n" + p.info()
}

// xRange is the x-axis span for points in [lo, hi]: padded, but never below zero when the
// points are not (MACs and throughput; a 1/50 smallest network would put the axis at -8%).
func xRange(lo, hi float64) (float64, float64) {
	l, h := pad(lo, hi, 0.1*math.Max(math.Abs(hi), 1))
	if lo >= 0 && l < 0 {
		l = 0
	}
	return l, h
}

// pad widens [lo, hi] by 8% each side, and to at least minSpan, so points sit off the axes.
func pad(lo, hi, minSpan float64) (float64, float64) {
	d := (hi - lo) * 0.08
	if hi-lo+2*d < minSpan {
		d = (minSpan - (hi - lo)) / 2
	}
	return lo - d, hi + d
}

// legend names the markers, in the longest wording that fits.
func (p plot) legend() string {
	f, t, c, s := runeFront, runeTied, runeCurrent, runeSelected
	return fitFirst([]string{
		fmt.Sprintf("⠪ all  %c front  %c front, tied with the next cheaper  %c current  %c selected", f, t, c, s),
		fmt.Sprintf("⠪ all  %c front  %c tied with next cheaper  %c current  %c selected", f, t, c, s),
		fmt.Sprintf("⠪ all  %c front  %c tied  %c current  %c selected", f, t, c, s),
		fmt.Sprintf("%c front  %c tied  %c current  %c selected", f, t, c, s),
		fmt.Sprintf("%c front %c tied %c current %c sel", f, t, c, s),
	}, p.width)
}

func (p plot) info() string {
	sp, ok := p.Selected()
	if !ok {
		return fmt.Sprintf("%d evaluated · %d on the front", len(p.vis), len(p.front))
	}
	x := siCount(sp.macs) + " MACs"
	if p.xThroughput {
		x = fmt.Sprintf("%.0f img/s", p.rates[sp.key].ImagesPerSec)
	}
	head := fmt.Sprintf("%c %s  %.2f%%", runeSelected, x, sp.est.Top1)
	tail := ""
	if p.focused {
		tail = " · enter loads"
	}
	k := slices.Index(p.front, p.find(p.sel))
	if k < 0 || !p.cheaper[k].ok {
		return head + "  " + sp.source + tail
	}
	// A front point: how it compares with the next cheaper one, shortened to fit; the source
	// goes first, then the interval, then the hint.
	long, short := cheaperText(p.cheaper[k])
	bare := fmt.Sprintf("%c %s  %.2f%%", runeSelected, strings.TrimSuffix(x, " MACs"), sp.est.Top1)
	return fitFirst([]string{
		head + "  " + sp.source + " · " + long + tail,
		head + " · " + long + tail,
		head + " · " + short + tail,
		head + " · " + long,
		head + " · " + short,
		bare + " · " + short,
	}, p.width)
}

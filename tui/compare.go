package tui

import (
	"fmt"

	"github.com/charmbracelet/lipgloss"
	"github.com/resnas/resnas/stats"
)

// Paired comparisons of two sub-networks on the same images: the metrics block compares the
// current architecture with the previous one and with the plot's selection, and the plot
// marks the front points that cannot be told apart from the next cheaper one. Two estimates
// of one BN mode compare on their common first images: estimates at different image counts
// are prefixes of the same data order.

// pairing is the paired comparison of A with B (A − B), when both have per-image results.
type pairing struct {
	ok bool
	p  stats.Paired
}

// hasPerImage reports whether est carries a bit for each of its images.
func hasPerImage(est Estimate) bool { return est.Images > 0 && est.Correct.N == est.Images }

// pairOf compares a with b on their common first images; ok is false unless both have
// per-image results. The caller makes sure both are of one BN mode.
func pairOf(a, b Estimate) pairing {
	if !hasPerImage(a) || !hasPerImage(b) {
		return pairing{}
	}
	n := min(a.Correct.N, b.Correct.N)
	p, err := stats.PairedOf(a.Correct.Prefix(n), b.Correct.Prefix(n))
	if err != nil { // cannot happen: both prefixes have n images
		return pairing{}
	}
	return pairing{ok: true, p: p}
}

// cachedPair remembers the estimates a pairing was computed from, so that Update computes
// it again only when one of them changes rather than after every message.
type cachedPair struct {
	pairing
	a, b Estimate
	set  bool
}

func (c *cachedPair) update(a, b Estimate) {
	if c.set && a.Equal(c.a) && b.Equal(c.b) {
		return
	}
	c.pairing, c.a, c.b, c.set = pairOf(a, b), a, b, true
}

// compareState holds the metrics block's comparisons of the current architecture.
type compareState struct {
	prev     cachedPair // against the architecture before the last change
	sel      cachedPair // against the plot's selected point
	prevSame bool       // the last change touched only a skipped block's fields: one network
}

// recompare brings the comparisons up to date with the architecture, the previous one, the
// plot's selection and the estimates. Update calls it after every message; it does work
// only when an estimate it compares has changed.
func (m *Model) recompare() {
	key := m.keyOf(m.arch)
	cur := m.eval.cache[evalKey{key, m.bnRecal}] // zero (no per-image results) when none yet
	var prev, sel Estimate
	m.cmp.prevSame = false
	if len(m.prev.Layers) > 0 {
		pk := m.keyOf(m.prev)
		prev, m.cmp.prevSame = m.eval.cache[evalKey{pk, m.bnRecal}], pk == key
	}
	if sp, ok := m.plot.Selected(); ok && sp.key != key {
		sel = m.estimateOf(sp)
	}
	m.cmp.prev.update(cur, prev)
	m.cmp.sel.update(cur, sel)
}

// estimateOf is the estimate of a plotted point in the current BN mode; zero when there is
// none (the point was plotted in the other mode and not evaluated in this one).
func (m Model) estimateOf(p point) Estimate {
	if est, ok := m.eval.cache[evalKey{p.key, m.bnRecal}]; ok {
		return est
	}
	if p.bn == m.bnRecal {
		return p.est
	}
	return Estimate{}
}

// prevText is the line comparing the current architecture with the previous one.
func (m Model) prevText(w int) string {
	if m.cmp.prevSame {
		return "vs prev = same network"
	}
	return pairText("vs prev", m.cmp.prev.pairing, w)
}

// pairText writes a comparison after label for a line of w cells: the longest wording that
// fits. Figures are percentage points, signs always shown; the difference is A − B.
func pairText(label string, c pairing, w int) string {
	label = fmt.Sprintf("%-7s ", label)
	if !c.ok {
		return label + "—"
	}
	d, lo, hi := 100*c.p.Diff, 100*c.p.CI95[0], 100*c.p.CI95[1]
	var vs []string
	if c.p.Distinguishable() {
		pv := pValue(c.p.P)
		vs = []string{
			fmt.Sprintf("%+.2f pts [%+.2f, %+.2f] %s", d, lo, hi, pv),
			fmt.Sprintf("%+.2f [%+.2f, %+.2f] %s", d, lo, hi, pv),
			fmt.Sprintf("%+.2f [%+.2f,%+.2f] %s", d, lo, hi, pv),
			fmt.Sprintf("%+.2f [%+.2f,%+.2f]", d, lo, hi),
			fmt.Sprintf("%+.2f pts", d),
		}
	} else {
		vs = []string{
			fmt.Sprintf("≈ not distinguishable (%+.2f [%+.2f, %+.2f])", d, lo, hi),
			fmt.Sprintf("≈ tied (%+.2f [%+.2f, %+.2f])", d, lo, hi),
			fmt.Sprintf("≈ tied (%+.2f [%+.2f,%+.2f])", d, lo, hi),
			fmt.Sprintf("≈ tied %+.2f [%+.2f,%+.2f]", d, lo, hi),
			"≈ tied",
		}
	}
	return label + fitFirst(vs, w-lipgloss.Width(label))
}

// pValue prints an exact McNemar p with three decimals, or "p<0.001".
func pValue(p float64) string {
	if p < 0.001 {
		return "p<0.001"
	}
	return fmt.Sprintf("p=%.3f", p)
}

// cheaperText says how a front point compares with the next cheaper one on the front, long
// and short.
func cheaperText(c pairing) (long, short string) {
	d, lo, hi := 100*c.p.Diff, 100*c.p.CI95[0], 100*c.p.CI95[1]
	if c.p.Distinguishable() {
		return fmt.Sprintf("vs cheaper %+.2f [%+.2f,%+.2f]", d, lo, hi), fmt.Sprintf("vs cheaper %+.2f", d)
	}
	return fmt.Sprintf("≈ tied with cheaper (%+.2f [%+.2f,%+.2f])", d, lo, hi), "≈ tied with cheaper"
}

// fitFirst returns the first of texts no wider than w cells, else the last.
func fitFirst(texts []string, w int) string {
	for _, s := range texts {
		if lipgloss.Width(s) <= w {
			return s
		}
	}
	return texts[len(texts)-1]
}

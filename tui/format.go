package tui

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/resnas/resnas/profiler"
)

// siCount prints a count with a G/M/k suffix and about four significant digits:
// 1782600000 → "1.783G", 40790000 → "40.79M".
func siCount(n int64) string {
	f := float64(n)
	switch a := math.Abs(f); {
	case a >= 1e9:
		return trimSig(f/1e9) + "G"
	case a >= 1e6:
		return trimSig(f/1e6) + "M"
	case a >= 1e3:
		return trimSig(f/1e3) + "k"
	}
	return strconv.FormatInt(n, 10)
}

// trimSig prints f with four significant digits for 1 ≤ |f| < 1000.
func trimSig(f float64) string {
	switch a := math.Abs(f); {
	case a >= 100:
		return strconv.FormatFloat(f, 'f', 1, 64)
	case a >= 10:
		return strconv.FormatFloat(f, 'f', 2, 64)
	}
	return strconv.FormatFloat(f, 'f', 3, 64)
}

// relDelta prints the relative change from ref to v, e.g. "-49.0%"; "—" without a reference.
func relDelta(v, ref int64) string {
	if ref == 0 {
		return "—"
	}
	return fmt.Sprintf("%+.1f%%", 100*float64(v-ref)/float64(ref))
}

// shortDuration prints d as "4m10s", "2h05m" or "38s".
func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

// budgetText writes a MACs budget as a prompt suggests it: short, and never read back above
// largest, which the budget parser refuses (3497553920 prints as 3.498G).
func budgetText(macs, largest int64) string {
	s := siCount(macs)
	if _, err := profiler.ParseMACs(s, largest); err != nil {
		return "100%"
	}
	return s
}

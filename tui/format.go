package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
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

// parseCount reads a count such as "1794400000", "1.79G", "850M" or "12k".
func parseCount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := 1.0
	if s != "" {
		switch s[len(s)-1] {
		case 'G', 'g':
			mult = 1e9
		case 'M', 'm':
			mult = 1e6
		case 'K', 'k':
			mult = 1e3
		}
		if mult != 1 {
			s = s[:len(s)-1]
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a count: write e.g. 1.79G, 850M or 1794400000", s)
	}
	return int64(math.Round(f * mult)), nil
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

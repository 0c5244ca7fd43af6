package tui

import (
	"strings"
	"testing"
)

func TestParseBudget(t *testing.T) {
	const largest = 17_140_000
	for _, c := range []struct {
		in   string
		want Budget
	}{
		{"50% 3", Budget{MaxMACs: 8_570_000, Generations: 3}},
		{"8.5M", Budget{MaxMACs: 8_500_000, Generations: 20}},
		{"100%", Budget{MaxMACs: largest, Generations: 20}},
	} {
		got, why := parseBudget(c.in, 20, largest)
		if why != "" || got != c.want {
			t.Errorf("%q: %+v %q, want %+v", c.in, got, why, c.want)
		}
	}
	for _, bad := range []string{"150%", "0%", "x%", "abc", "1.79G x", "inf", "NaN", "0.5", "1e30", "-1", ""} {
		_, why := parseBudget(bad, 20, largest)
		if why == "" {
			t.Errorf("%q accepted", bad)
		}
	}
	// The example is sized to the space, not to ImageNet networks.
	if _, why := parseBudget("abc", 20, largest); !strings.Contains(why, "8.570M") || !strings.Contains(why, "50%") {
		t.Errorf("example %q does not use the space's size", why)
	}
}

package profiler

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseMACs reads a MACs budget as users type it: a whole count ("8500000"), a count with a
// K/M/G suffix ("8.5M", "1.2g"), or a percentage of largest, the MACs of the search space's
// largest sub-network ("50%"). The result lies in [1, largest]: a budget below one MAC means
// nothing, and one above the largest network would constrain nothing, which a typo such as
// 1e30 (or inf) must not do silently. An empty s is 0, "no budget"; the caller decides
// whether that is allowed. Errors say what was wrong and give an example, without naming a
// flag or a prompt: callers add that.
func ParseMACs(s string, largest int64) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	bad := func(reason string) error { return &BudgetError{Input: s, Reason: reason, Largest: largest} }
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if err != nil || !(f > 0 && f <= 100) {
			return 0, bad("is not a percentage in (0, 100]")
		}
		if largest <= 0 {
			return 0, bad("is a percentage, but the largest network's MACs are unknown here")
		}
		return max(1, int64(math.Round(f/100*float64(largest)))), nil
	}
	num, mult := s, 1.0
	switch s[len(s)-1] {
	case 'K', 'k':
		mult = 1e3
	case 'M', 'm':
		mult = 1e6
	case 'G', 'g':
		mult = 1e9
	}
	if mult != 1 {
		num = strings.TrimSpace(s[:len(s)-1])
	}
	// ParseFloat also accepts "inf" and "NaN", and answers ±Inf or 0 with ErrRange for
	// numbers out of float64's range: each is refused below.
	f, err := strconv.ParseFloat(num, 64)
	var ne *strconv.NumError
	if (err != nil && !(errors.As(err, &ne) && ne.Err == strconv.ErrRange)) || math.IsNaN(f) {
		return 0, bad("is not a MACs count")
	}
	if math.IsInf(f, 0) {
		return 0, bad("is not a finite MACs count")
	}
	v := f * mult
	switch {
	case !(v >= 1):
		return 0, bad("is below one MAC")
	case largest > 0 && v > float64(largest):
		return 0, bad(fmt.Sprintf("is above the largest network's %d MACs, so it would constrain nothing", largest))
	case v > math.MaxInt64/2:
		return 0, bad("is beyond any network's MACs")
	}
	return int64(math.Round(v)), nil
}

// BudgetError is a MACs budget ParseMACs refuses.
type BudgetError struct {
	Input, Reason string
	Largest       int64 // the largest network's MACs; 0 when unknown
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("%q %s: write e.g. %s", e.Input, e.Reason, e.Example())
}

// Example gives budgets that work, sized to the largest network when it is known.
func (e *BudgetError) Example() string {
	if e.Largest <= 0 {
		return "8.5M, 8500000 or 50%"
	}
	return fmt.Sprintf("%s, %d or 50%% (of the largest network's %s MACs)", siMACs(e.Largest/2), e.Largest/2, siMACs(e.Largest))
}

// siMACs prints a MACs count with a G/M/K suffix, as ParseMACs reads it back.
func siMACs(n int64) string {
	f := float64(n)
	switch {
	case f >= 1e9:
		return strconv.FormatFloat(f/1e9, 'g', 4, 64) + "G"
	case f >= 1e6:
		return strconv.FormatFloat(f/1e6, 'g', 4, 64) + "M"
	case f >= 1e3:
		return strconv.FormatFloat(f/1e3, 'g', 4, 64) + "K"
	}
	return strconv.FormatInt(n, 10)
}

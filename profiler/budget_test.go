package profiler

import (
	"strings"
	"testing"
)

func TestParseMACs(t *testing.T) {
	const largest = 17_000_000
	for _, c := range []struct {
		in      string
		want    int64
		wantErr string // a fragment of the error; "" for success
	}{
		{"", 0, ""},
		{"8500000", 8_500_000, ""},
		{" 8.5M ", 8_500_000, ""},
		{"8.5m", 8_500_000, ""},
		{"850K", 850_000, ""},
		{"0.0085G", 8_500_000, ""},
		{"50%", 8_500_000, ""},
		{"100%", largest, ""},
		{"17000000", largest, ""},
		{"1", 1, ""},
		{"inf", 0, "not a finite"},
		{"+Inf", 0, "not a finite"},
		{"1e400", 0, "not a finite"},
		{"NaN", 0, "not a MACs count"},
		{"0.5", 0, "below one MAC"},
		{"1e-400", 0, "below one MAC"},
		{"0", 0, "below one MAC"},
		{"-1", 0, "below one MAC"},
		{"-5M", 0, "below one MAC"},
		{"1e30", 0, "above the largest"},
		{"18M", 0, "above the largest"},
		{"150%", 0, "not a percentage"},
		{"0%", 0, "not a percentage"},
		{"NaN%", 0, "not a percentage"},
		{"abc", 0, "not a MACs count"},
		{"M", 0, "not a MACs count"},
		{"8.5MM", 0, "not a MACs count"},
	} {
		got, err := ParseMACs(c.in, largest)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("ParseMACs(%q) failed: %v", c.in, err)
		case c.wantErr == "" && got != c.want:
			t.Errorf("ParseMACs(%q) = %d, want %d", c.in, got, c.want)
		case c.wantErr != "" && err == nil:
			t.Errorf("ParseMACs(%q) = %d, want an error with %q", c.in, got, c.wantErr)
		case c.wantErr != "" && (!strings.Contains(err.Error(), c.wantErr) || strings.Contains(err.Error(), "\n")):
			t.Errorf("ParseMACs(%q) error %q, want one line containing %q", c.in, err, c.wantErr)
		}
	}
}

func TestParseMACsUnknownLargest(t *testing.T) {
	if got, err := ParseMACs("1e30", 0); err == nil {
		t.Errorf("1e30 with no largest known = %d, want an error (beyond int64)", got)
	}
	if _, err := ParseMACs("50%", 0); err == nil {
		t.Error("a percentage with no largest known was accepted")
	}
	if got, err := ParseMACs("2G", 0); err != nil || got != 2e9 {
		t.Errorf("2G with no largest known = %d, %v", got, err)
	}
}

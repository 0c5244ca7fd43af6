package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The shards build's progress line (stderr a pipe here) gives the count, an ETA from this
// run's pace and the rate.
func TestProgressLineETAAndRate(t *testing.T) {
	var b bytes.Buffer
	p := newProgressLine(&b, "shards")
	p.start = time.Now().Add(-10 * time.Second) // 10 s in
	p.update(100, 500, "images, 10.0/s")
	line := b.String()
	for _, want := range []string{"shards 100/500 (20%) 10s", "ETA 40s", "images, 10.0/s"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
	if r := p.rate(100); r < 9.9 || r > 10.1 {
		t.Errorf("rate after 100 items in 10 s = %.2f/s, want 10", r)
	}
	p.skip(50)
	if r := p.rate(100); r < 4.9 || r > 5.1 {
		t.Errorf("rate with 50 replayed items = %.2f/s, want 5 (this run's 50 in 10 s)", r)
	}
}

package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
)

// progressLine draws one self-overwriting status line on a terminal, or a line every few
// seconds when stderr is a file or pipe, so logs stay readable.
type progressLine struct {
	w        io.Writer
	label    string
	tty      bool
	start    time.Time
	last     time.Time
	wrote    bool
	interval time.Duration
	skipped  int // done before this run (replayed from a journal): not in the rate
}

func newProgressLine(w io.Writer, label string) *progressLine {
	p := &progressLine{w: w, label: label, start: time.Now(), interval: 5 * time.Second}
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		p.tty, p.interval = true, 100*time.Millisecond
	}
	return p
}

// skip counts n items as done before this run started, so that the ETA comes from this
// run's pace only.
func (p *progressLine) skip(n int) { p.skipped = n }

// rate is items per second of this run so far (0 before any time has passed).
func (p *progressLine) rate(done int) float64 {
	el := time.Since(p.start).Seconds()
	if el <= 0 || done <= p.skipped {
		return 0
	}
	return float64(done-p.skipped) / el
}

// update shows done/total with rate-based ETA and an optional detail text.
func (p *progressLine) update(done, total int, detail string) {
	now := time.Now()
	if now.Sub(p.last) < p.interval && done < total {
		return
	}
	p.last = now
	el := now.Sub(p.start)
	eta := ""
	if ran := done - p.skipped; ran > 0 && total > done {
		eta = " ETA " + (time.Duration(float64(el) / float64(ran) * float64(total-done))).Round(time.Second).String()
	}
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	line := fmt.Sprintf("%s %d/%d (%.0f%%) %s%s %s", p.label, done, total, pct, el.Round(time.Second), eta, detail)
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[2K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
	p.wrote = true
}

// done ends the line on a terminal.
func (p *progressLine) done() {
	if p.tty && p.wrote {
		fmt.Fprintln(p.w)
	}
}

// plural is "1 epoch", "3 epochs".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

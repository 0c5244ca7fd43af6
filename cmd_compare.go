package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/stats"
)

// compareFlags are resnas compare's flags, parsed.
type compareFlags struct {
	compute     computeFlags
	archs       archList
	data        string
	limit       int
	recalibrate bool
	asJSON      bool
}

// archList collects a repeated --arch.
type archList []string

func (l *archList) String() string     { return fmt.Sprint(*l) }
func (l *archList) Set(v string) error { *l = append(*l, v); return nil }

func parseCompareFlags(args []string, e env) (compareFlags, error) {
	var f compareFlags
	fs := newFlags("compare")
	f.compute.register(withoutArch{fs}, true)
	fs.Var(&f.archs, "arch", "an architecture to compare; give exactly two (network_def tuple, preset, max, min or JSON file)")
	fs.StringVar(&f.data, "data", "", "shards both are evaluated on (default with the shipped checkpoint: its sub-val)")
	fs.IntVar(&f.limit, "limit", 0, "use only the first N images (0: all)")
	fs.BoolVar(&f.recalibrate, "recalibrate-bn", false, "recalibrate the stem BN statistics before evaluating")
	fs.BoolVar(&f.asJSON, "json", false, "print JSON")
	if err := parseFlags(fs, args, e); err != nil {
		return f, err
	}
	switch {
	case len(f.archs) != 2:
		return f, usagef("--arch must be given twice, for A and B (got %d)", len(f.archs))
	case f.limit < 0:
		return f, usagef("--limit must not be negative, not %d (0 uses every image)", f.limit)
	}
	return f, nil
}

// cmdCompare evaluates two sub-networks on the same images and says whether they differ:
// the paired difference, its 95% interval and the exact McNemar p-value.
func cmdCompare(ctx context.Context, args []string, e env) error {
	f, err := parseCompareFlags(args, e)
	if err != nil {
		return err
	}
	s, err := f.compute.session(f.data, e)
	if err != nil {
		return err
	}
	defer s.Data.Close()
	defer s.Backend.Close()
	var a, b model.Arch
	if a, err = s.Loaded.ResolveArch(f.archs[0]); err != nil {
		return err
	}
	if b, err = s.Loaded.ResolveArch(f.archs[1]); err != nil {
		return err
	}
	p, err := s.Compare(ctx, a, b, f.limit, f.recalibrate)
	if err != nil {
		return err
	}
	return reportComparison(e.stdout, p, a, b, f.asJSON)
}

func reportComparison(w io.Writer, p stats.Paired, a, b model.Arch, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(struct {
			ATop1           float64    `json:"a_top1"`
			BTop1           float64    `json:"b_top1"`
			Diff            float64    `json:"diff"` // a − b, fraction like top1
			CI95            [2]float64 `json:"ci95"`
			P               float64    `json:"p"` // exact McNemar
			Images          int        `json:"images"`
			Discordant      int        `json:"discordant"`
			OnlyA           int        `json:"only_a"`
			OnlyB           int        `json:"only_b"`
			Distinguishable bool       `json:"distinguishable"`
			A               string     `json:"a"`
			B               string     `json:"b"`
		}{p.ATop1, p.BTop1, p.Diff, p.CI95, p.P, p.Images, p.OnlyA + p.OnlyB, p.OnlyA, p.OnlyB, p.Distinguishable(), a.String(), b.String()})
	}
	verdict := "not distinguishable at 95%"
	if p.Distinguishable() {
		verdict = "distinguishable at 95%"
	}
	fmt.Fprintf(w, "A %.2f%%  B %.2f%%  on %d images\nA − B %+.2f pts [%+.2f, %+.2f], McNemar p = %s (%d images only A got right, %d only B): %s\n",
		100*p.ATop1, 100*p.BTop1, p.Images, 100*p.Diff, 100*p.CI95[0], 100*p.CI95[1], formatP(p.P), p.OnlyA, p.OnlyB, verdict)
	return nil
}

// formatP prints a p-value readably, down to the float64 floor.
func formatP(p float64) string {
	switch {
	case p == 0 || p < math.SmallestNonzeroFloat64:
		return "< 1e-300"
	case p < 0.001:
		return fmt.Sprintf("%.1e", p)
	}
	return fmt.Sprintf("%.3f", p)
}

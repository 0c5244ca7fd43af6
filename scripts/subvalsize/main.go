// Command subvalsize measures what a sub-val size buys (issue 11, item 5): for every pair of
// neighbouring points on the accuracy–MACs front of a search history (resnas search
// --export h.csv), the 95% interval of their paired top-1 difference on the first N images
// of the sub-val and on all of them, and how many pairs each size separates.
//
// usage: go run ./scripts/subvalsize [--sizes 5000,10000] h.csv
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/resnas/resnas/stats"
)

type point struct {
	def     string
	macs    float64
	top1    float64
	correct stats.Bitset
}

func main() {
	sizes := flag.String("sizes", "5000,10000", "sub-val sizes to compare (each ≤ the images the history was measured on)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: subvalsize [--sizes 5000,10000] HISTORY.csv")
		os.Exit(2)
	}
	pts, err := read(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "subvalsize:", err)
		os.Exit(1)
	}
	front := paretoFront(pts)
	fmt.Printf("%d evaluated, %d on the front\n", len(pts), len(front))
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > front[0].correct.N {
			fmt.Fprintf(os.Stderr, "subvalsize: --sizes: %q is not a size in 1..%d\n", s, front[0].correct.N)
			os.Exit(2)
		}
		separated := 0
		var widths []float64
		for i := 1; i < len(front); i++ {
			p, err := stats.PairedOf(front[i].correct.Prefix(n), front[i-1].correct.Prefix(n))
			if err != nil {
				fmt.Fprintln(os.Stderr, "subvalsize:", err)
				os.Exit(1)
			}
			w := 100 * (p.CI95[1] - p.CI95[0])
			widths = append(widths, w)
			if p.Distinguishable() {
				separated++
			}
			fmt.Printf("n=%-6d %5.2fM vs %5.2fM: %+.2f pts [%+.2f, %+.2f] width %.2f p=%.3g\n", n,
				front[i].macs/1e6, front[i-1].macs/1e6, 100*p.Diff, 100*p.CI95[0], 100*p.CI95[1], w, p.P)
		}
		sort.Float64s(widths)
		fmt.Printf("n=%d: %d of %d neighbouring front pairs distinguishable; median interval width %.2f pts\n",
			n, separated, len(front)-1, widths[len(widths)/2])
	}
}

// paretoFront keeps the points no other point beats on both top-1 and MACs, by MACs.
func paretoFront(pts []point) []point {
	sort.Slice(pts, func(i, j int) bool {
		if pts[i].macs != pts[j].macs {
			return pts[i].macs < pts[j].macs
		}
		return pts[i].top1 > pts[j].top1
	})
	var front []point
	for _, p := range pts {
		if len(front) == 0 || p.top1 > front[len(front)-1].top1 {
			front = append(front, p)
		}
	}
	return front
}

func read(path string) ([]point, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) < 3 {
		return nil, fmt.Errorf("%s: fewer than two evaluated architectures", path)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"network_def", "top1", "macs", "images", "correct"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("%s: no %s column (not a resnas history CSV?)", path, h)
		}
	}
	seen := map[string]bool{}
	var pts []point
	for i, r := range rows[1:] {
		if seen[r[col["network_def"]]] {
			continue
		}
		seen[r[col["network_def"]]] = true
		top1, err1 := strconv.ParseFloat(r[col["top1"]], 64)
		macs, err2 := strconv.ParseFloat(r[col["macs"]], 64)
		n, err3 := strconv.Atoi(r[col["images"]])
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("%s: row %d: bad top1, macs or images", path, i+2)
		}
		b, err := stats.DecodeBitset(r[col["correct"]], n)
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", path, i+2, err)
		}
		pts = append(pts, point{def: r[col["network_def"]], macs: macs, top1: top1, correct: b})
	}
	return pts, nil
}

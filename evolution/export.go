package evolution

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/resnas/resnas/internal/atomicfile"
)

// File names of the exports a search writes into Config.OutputDir.
const (
	SummaryFile = "summary.txt"
	CSVFile     = "search.csv"
	JSONLFile   = "search.jsonl"
	FrontFile   = "front.csv" // the Pareto front, in search.csv's format
)

// WriteExports writes summary.txt, search.csv, search.jsonl and front.csv for recs into dir.
func WriteExports(dir string, recs []Record) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("exports: %w", err)
	}
	if err := WriteSummary(filepath.Join(dir, SummaryFile), recs); err != nil {
		return err
	}
	// The front is built once: search.csv marks its members and front.csv lists them.
	front := FrontOf(recs)
	if err := writeRows(filepath.Join(dir, CSVFile), historyRows(recs, front)); err != nil {
		return err
	}
	if err := writeRows(filepath.Join(dir, FrontFile), historyRows(front, front)); err != nil {
		return err
	}
	return WriteJSONL(filepath.Join(dir, JSONLFile), recs)
}

// WriteSummary writes the reference's summary.txt: the header "Iter, Acc, Network_def", then
// for every generation the best architecture of the whole history after it, as
// evo_search.py's write_results prints it ("0, 79.652, ((4, 176), …)"). A generation still
// under way gets a line for what it has so far.
func WriteSummary(path string, recs []Record) error {
	return writeAtomic(path, func(w io.Writer) error {
		if _, err := io.WriteString(w, "Iter, Acc, Network_def\n"); err != nil {
			return err
		}
		best := -1
		for i, r := range recs {
			if best < 0 || r.Top1 > recs[best].Top1 {
				best = i
			}
			if i+1 < len(recs) && recs[i+1].Generation == r.Generation {
				continue
			}
			b := recs[best]
			if _, err := fmt.Fprintf(w, "%d, %s, %s\n", r.Generation, pyFloat(b.Top1), b.NetworkDef); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteCSV writes recs in the history schema (HistoryColumns), one row per evaluation in
// evaluation order; network_def is quoted (it holds commas), an unmeasured throughput is empty
// and parents are separated by ';'.
func WriteCSV(path string, recs []Record) error { return writeRows(path, HistoryRows(recs)) }

func writeRows(path string, rows []HistoryRow) error {
	return writeAtomic(path, func(w io.Writer) error { return WriteHistoryCSV(w, rows) })
}

// WriteJSONL writes one JSON record per line in evaluation order.
func WriteJSONL(path string, recs []Record) error {
	return writeAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	})
}

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// pyFloat formats x as Python's repr does: the shortest round-tripping digits, ".0" on whole
// numbers, and exponent form outside [1e-4, 1e16).
func pyFloat(x float64) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	if ax := math.Abs(x); ax != 0 && (ax < 1e-4 || ax >= 1e16) {
		return strconv.FormatFloat(x, 'e', -1, 64) // Go and Python both write 1e-05, 1.5e+16
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// writeAtomic writes path whole or not at all, naming path in its errors.
func writeAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.WriteFunc(path, write); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

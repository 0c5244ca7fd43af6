package evolution

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
	"strings"
)

// HistoryColumns is the one CSV schema of evaluated architectures: the search's export
// (search.csv, front.csv) and the explorer's history.csv both write it. Scripts written for
// the first eleven columns keep working; the last five were added later. correct is the
// per-image top-1 results (stats.Bitset.Encode), so two rows can be compared pairwise;
// predicted_top1 is what the search's predictor expected before measuring (--prescreen).
var HistoryColumns = []string{"index", "generation", "network_def", "top1", "macs", "params", "top5",
	"images", "throughput", "origin", "parents", "ci95", "bn_recalibrated", "on_front", "correct", "predicted_top1"}

// HistoryRow is one evaluated architecture. Unknown values are written as empty cells:
// Generation < 0, NaN Top5, Throughput 0, an empty BNRecalibrated.
type HistoryRow struct {
	Index          int
	Generation     int // < 0: not a search generation (an architecture edited in the explorer)
	NetworkDef     string
	Top1           float64 // percent
	MACs, Params   int64
	Top5           float64 // percent; NaN when not measured
	Images         int
	Throughput     float64 // images/s; 0 when not measured
	Origin         string  // random, mutation, crossover, injected; in the explorer, where the point came from
	Parents        []int
	CI95           float64 // half-width of the 95% interval of Top1, points
	BNRecalibrated string  // "true", "false", or "" when the writer does not know
	OnFront        bool
	Correct        string   // per-image top-1 results, stats.Bitset.Encode of Images bits; "" when not kept
	Predicted      *float64 // predicted top-1 before the measurement, percent; nil when none
}

// WriteHistoryCSV writes HistoryColumns and then rows, in the order given.
func WriteHistoryCSV(w io.Writer, rows []HistoryRow) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(HistoryColumns); err != nil {
		return err
	}
	for _, r := range rows {
		gen, top5, thr := "", "", ""
		if r.Generation >= 0 {
			gen = strconv.Itoa(r.Generation)
		}
		if !math.IsNaN(r.Top5) {
			top5 = formatFloat(r.Top5)
		}
		if r.Throughput > 0 {
			thr = formatFloat(r.Throughput)
		}
		parents := make([]string, len(r.Parents))
		for i, p := range r.Parents {
			parents[i] = strconv.Itoa(p)
		}
		pred := ""
		if r.Predicted != nil {
			pred = formatFloat(*r.Predicted)
		}
		row := []string{strconv.Itoa(r.Index), gen, r.NetworkDef, formatFloat(r.Top1),
			strconv.FormatInt(r.MACs, 10), strconv.FormatInt(r.Params, 10), top5, strconv.Itoa(r.Images),
			thr, r.Origin, strings.Join(parents, ";"), formatFloat(r.CI95), r.BNRecalibrated, strconv.FormatBool(r.OnFront), r.Correct, pred}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// HistoryRows are recs as history rows; on_front marks the records of FrontOf(recs) and
// ci95 is the Wilson interval of the hits top-1 stands for.
func HistoryRows(recs []Record) []HistoryRow { return historyRows(recs, FrontOf(recs)) }

// historyRows is HistoryRows with the front already built (WriteExports writes it too).
func historyRows(recs, front []Record) []HistoryRow {
	onFront := map[int]bool{}
	for _, r := range front {
		onFront[r.Index] = true
	}
	rows := make([]HistoryRow, len(recs))
	for i, r := range recs {
		rows[i] = HistoryRow{Index: r.Index, Generation: r.Generation, NetworkDef: r.NetworkDef, Top1: r.Top1,
			MACs: r.MACs, Params: r.Params, Top5: r.Top5, Images: r.Images, Throughput: r.Throughput,
			Origin: string(r.Origin), Parents: r.Parents, CI95: r.CI95(),
			OnFront: onFront[r.Index], Correct: r.Correct, Predicted: r.Predicted}
	}
	return rows
}

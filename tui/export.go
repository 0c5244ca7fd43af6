package tui

import (
	"bytes"
	"context"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/internal/atomicfile"
	gonplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Export writes, into one folder: the selected sub-network through the Exporter (sliced
// weights, network_def, metrics), the trade-off plot as PNG and the evaluation history as
// CSV. Every file appears whole or not at all.

const (
	plotFile    = "tradeoff.png"
	historyFile = "history.csv"
)

// exportJob is everything an export needs, copied out of the model so the Cmd shares
// nothing with Update.
type exportJob struct {
	dir         string
	exporter    Exporter // nil: no sub-network files
	rec         SubnetRecord
	pts         []point
	rates       map[string]Rate
	front       []int // indices into pts on the plotted front
	current     histKey
	xThroughput bool
	title       string
}

func (j exportJob) cmd(ctx context.Context) tea.Cmd {
	return func() tea.Msg {
		files, err := j.run(ctx)
		return exportDoneMsg{dir: j.dir, files: files, err: err}
	}
}

func (j exportJob) run(ctx context.Context) ([]string, error) {
	if err := os.MkdirAll(j.dir, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w (choose another folder)", err)
	}
	var files []string
	if j.exporter != nil {
		fs, err := j.exporter.ExportSubnet(ctx, j.dir, j.rec)
		if err != nil {
			return nil, fmt.Errorf("export sub-network to %s: %w", j.dir, err)
		}
		files = append(files, fs...)
	}
	if err := ctx.Err(); err != nil {
		return files, err
	}
	path := filepath.Join(j.dir, plotFile)
	if err := atomicfile.WriteFunc(path, j.writePNG); err != nil {
		return files, fmt.Errorf("export plot %s: %w", path, err)
	}
	files = append(files, path)
	path = filepath.Join(j.dir, historyFile)
	if err := atomicfile.Write(path, historyCSV(j.pts, j.rates, j.front)); err != nil {
		return files, fmt.Errorf("export history %s: %w", path, err)
	}
	return append(files, path), nil
}

// historyCSV lists every evaluated architecture in evaluation order, in the schema resnas
// search exports (evolution.HistoryColumns), so one script reads both.
func historyCSV(pts []point, rates map[string]Rate, front []int) []byte {
	onFront := make(map[int]bool, len(front))
	for _, i := range front {
		onFront[i] = true
	}
	rows := make([]evolution.HistoryRow, len(pts))
	for i, p := range pts {
		rows[i] = evolution.HistoryRow{Index: p.seq, Generation: -1, NetworkDef: p.key, Top1: p.est.Top1,
			MACs: p.macs, Params: p.params, Top5: math.NaN(), Images: p.est.Images, Throughput: rates[p.key].ImagesPerSec,
			Origin: p.source, CI95: p.est.CI95, BNRecalibrated: strconv.FormatBool(p.bn), OnFront: onFront[i]}
	}
	var buf bytes.Buffer
	_ = evolution.WriteHistoryCSV(&buf, rows) // a bytes.Buffer does not fail
	return buf.Bytes()
}

// writePNG draws the plot pane's content with gonum/plot: every point, the front as a line
// and the current architecture as a cross.
func (j exportJob) writePNG(w io.Writer) error {
	// MACs in G for ImageNet-sized networks, in M for small ones (the shipped default is 17 M).
	unit, unitName := 1e9, "G"
	for _, p := range j.pts {
		if p.macs > 0 && p.macs < 1e9 {
			unit, unitName = 1e6, "M"
			break
		}
	}
	x := func(p point) float64 {
		if j.xThroughput {
			return j.rates[p.key].ImagesPerSec
		}
		return float64(p.macs) / unit
	}
	var all, front, cur plotter.XYs
	for _, p := range j.pts {
		if j.xThroughput && j.rates[p.key].ImagesPerSec <= 0 {
			continue
		}
		all = append(all, plotter.XY{X: x(p), Y: p.est.Top1})
		if (histKey{p.key, p.bn}) == j.current {
			cur = append(cur, plotter.XY{X: x(p), Y: p.est.Top1})
		}
	}
	for _, i := range j.front {
		front = append(front, plotter.XY{X: x(j.pts[i]), Y: j.pts[i].est.Top1})
	}
	pl := gonplot.New()
	pl.Title.Text = j.title
	pl.X.Label.Text = "MACs (" + unitName + ")"
	if j.xThroughput {
		pl.X.Label.Text = "throughput (images/s)"
	}
	pl.Y.Label.Text = "top-1 (%)"
	pl.Add(plotter.NewGrid())
	if len(all) > 0 {
		s, err := plotter.NewScatter(all)
		if err != nil {
			return err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: color.Gray{Y: 140}, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}
		pl.Add(s)
		pl.Legend.Add("evaluated", s)
	}
	if len(front) > 0 {
		l, pts, err := plotter.NewLinePoints(front)
		if err != nil {
			return err
		}
		l.Color = color.RGBA{R: 200, G: 120, A: 255}
		pts.GlyphStyle = draw.GlyphStyle{Color: l.Color, Radius: vg.Points(3), Shape: draw.PyramidGlyph{}}
		pl.Add(l, pts)
		pl.Legend.Add("Pareto front", l, pts)
	}
	if len(cur) > 0 {
		s, err := plotter.NewScatter(cur)
		if err != nil {
			return err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: color.RGBA{B: 220, A: 255}, Radius: vg.Points(5), Shape: draw.CrossGlyph{}}
		pl.Add(s)
		pl.Legend.Add("current", s)
	}
	pl.Legend.Left = false // bottom right: the front rises to the top right
	pl.Legend.Top = false
	pl.Legend.XOffs = -vg.Points(8) // keep the legend's glyphs inside the canvas
	wt, err := pl.WriterTo(7*vg.Inch, 4.5*vg.Inch, "png")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}

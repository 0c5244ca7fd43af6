package tui_test

import (
	"context"
	"fmt"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/resnas/resnas/data"
	"github.com/resnas/resnas/evaluate"
	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/internal/gemm/backend"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/supernet"
	"github.com/resnas/resnas/tui"
)

// How main wires the engines into the explorer. It is compiled with the tests, so it stays
// true to the engines' APIs, but not run: it needs a checkpoint and shards.
func Example_wiring() {
	ctx := context.Background() // main's signal.NotifyContext
	var (
		sp      *supernet.Space  // the checkpoint's space
		in      model.Input      // the checkpoint's geometry
		weights model.Weights    // the supernet checkpoint's weights
		set     *data.Set        // sub-val shards
		sel     backend.Selected // the GEMM backend
		threads int
	)
	plain, err := evaluate.New(set, evaluate.Options{Weights: weights, Input: in, Backend: sel.Backend, Threads: threads})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	recal, _ := evaluate.New(set, evaluate.Options{Weights: weights, Input: in, Backend: sel.Backend, Threads: threads,
		RecalibrateBN: 1024})
	estimate := func(ctx context.Context, req tui.EvalRequest) (tui.Estimate, error) {
		ev := plain
		if req.RecalibrateBN {
			ev = recal
		}
		r, err := ev.Evaluate(ctx, req.Arch, req.Limit, nil)
		return tui.Estimate{Top1: 100 * r.Top1, CI95: 100 * r.CI95, Images: r.Images, Final: r.Final}, err
	}
	search := &tui.EvolutionSearcher{Config: func(b tui.Budget) evolution.Config {
		o := evolution.DefaultOptions()
		o.Generations = b.Generations
		o.Constraints = evolution.MACsWindow(b.MaxMACs, evolution.ReferenceWindowRatio)
		return evolution.Config{Space: sp, Options: o, Journal: "search.jsonl",
			Evaluator: evolution.EvaluatorFunc(func(ctx context.Context, a model.Arch) (evolution.Fitness, error) {
				r, err := plain.Evaluate(ctx, a, 0, nil)
				return evolution.Fitness{Top1: 100 * r.Top1, Top5: 100 * r.Top5, Images: r.Images}, err
			})}
	}}
	opts := tui.Options{
		Space:     sp,
		Input:     in,
		Evaluator: tui.EvaluatorFunc(estimate),
		Throughput: tui.ThroughputFunc(func(ctx context.Context, a model.Arch) (tui.Rate, error) {
			n, err := model.NewNet(weights, a, in, sel.Backend, model.NetOptions{Threads: threads})
			if err != nil {
				return tui.Rate{}, err
			}
			tp, err := profiler.MeasureThroughput(ctx, n, profiler.ThroughputOptions{})
			return tui.Rate{ImagesPerSec: tp.ImagesPerSec, Spread: tp.Spread}, err
		}),
		Searcher: search,
		Exporter: tui.ExporterFunc(func(ctx context.Context, dir string, rec tui.SubnetRecord) ([]string, error) {
			return nil, nil // main: exportSubnet(l, rec.Arch, dir, metrics from rec)
		}),
		Generations:    evolution.DefaultOptions().Generations,
		CheckpointName: "default",
		Context:        ctx,
	}
	p := tea.NewProgram(tui.New(opts), tea.WithAltScreen(), tea.WithContext(ctx), tea.WithFilter(tui.Filter))
	final, err := p.Run()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	if m, ok := final.(tui.Model); ok && m.SearchOutcome() == "stopped" {
		fmt.Fprintln(os.Stderr, "search stopped: resnas search --journal search.jsonl resumes it")
	}
}

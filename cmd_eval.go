package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime/pprof"

	"github.com/resnas/resnas/evaluate"
	"github.com/resnas/resnas/internal/atomicfile"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/stats"
)

func cmdEval(ctx context.Context, args []string, e env) error {
	fs := newFlags("eval")
	var cf computeFlags
	cf.register(fs, true)
	dataDir := fs.String("data", "", "shard directory (default with the shipped checkpoint: its embedded sub-val)")
	limit := fs.Int("limit", 0, "evaluate on at most N images (0: all)")
	recal := fs.Int("recalibrate-bn", 0, "re-estimate the stem BatchNorm statistics on N images first (0: use the checkpoint's)")
	batch := fs.Int("batch", 256, "images per forward")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if *limit < 0 || *recal < 0 || *batch <= 0 {
		return usagef("--limit and --recalibrate-bn must be ≥ 0 and --batch > 0")
	}
	l, set, sel, err := cf.loadWithData(*dataDir, e)
	if err != nil {
		return err
	}
	defer set.Close()
	defer sel.Close()
	a, err := l.ResolveArch(cf.arch)
	if err != nil {
		return err
	}
	dw, err := l.DeviceWeights(sel)
	if err != nil {
		return err
	}
	ev, err := evaluate.New(set, evaluate.Options{Weights: l.Checkpoint.Weights, Input: l.Input, Backend: sel.Backend, Threads: cf.threads, Batch: *batch, RecalibrateBN: *recal, Device: dw})
	if err != nil {
		return err
	}
	prog := newProgressLine(e.stderr, "eval")
	r, err := ev.Evaluate(ctx, a, *limit, func(done, total int) { prog.update(done, total, "") })
	prog.done()
	if err != nil {
		return err
	}
	res := struct {
		evaluate.Result
		MACs       int64  `json:"macs"`
		Params     int64  `json:"params"`
		Arch       string `json:"network_def"`
		Data       string `json:"data"`
		Checkpoint string `json:"checkpoint"`
		SHA256     string `json:"checkpoint_sha256"`
		GEMM       string `json:"gemm"`
	}{r, profiler.MACs(a, l.Input), profiler.Params(a, l.Input), a.String(), set.Manifest.Split, l.Name, l.Checkpoint.SHA256, sel.Name}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	fmt.Fprintf(e.stdout, "top-1 %.2f%% ± %.2f  top-5 %.2f%%  on %d %s images  (%.2f MMACs, %.3f M params, %.1fs)\n",
		100*r.Top1, 100*r.CI95, 100*r.Top5, r.Images, res.Data, float64(res.MACs)/1e6, float64(res.Params)/1e6, r.Seconds)
	return nil
}

func cmdBench(ctx context.Context, args []string, e env) error {
	fs := newFlags("bench")
	var cf computeFlags
	cf.register(fs, true)
	batch := fs.Int("batch", 64, "images per forward")
	repeats := fs.Int("repeats", 5, "timed batches (at least 5); the median is reported")
	sgemmSize := fs.Int("sgemm", 1024, "also time an N³ sgemm on the same backend and threads, before and after the network, and report the network's share of its rate (0: skip; CPU only)")
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the timed forwards to FILE (go tool pprof FILE)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if *batch <= 0 {
		return usagef("--batch must be > 0")
	}
	if *cpuProfile != "" {
		if err := checkFileCreatable("--cpuprofile", *cpuProfile); err != nil {
			return err
		}
	}
	if *sgemmSize < 0 || *sgemmSize > 8192 {
		return usagef("--sgemm %d: want 0 (skip) or a size up to 8192", *sgemmSize)
	}
	// MeasureThroughput would run 5 anyway; a smaller count is refused rather than changed.
	if *repeats < 5 {
		return usagef("--repeats %d: want at least 5 (the median needs several timed batches)", *repeats)
	}
	l, err := cf.load()
	if err != nil {
		return err
	}
	n, a, sel, err := cf.netFor(l, e)
	if err != nil {
		return err
	}
	defer sel.Close()
	if err := checkBatchMemory(*batch, a, l.Input, n.OnGPU(), "use --batch %d or less"); err != nil {
		return err
	}
	// The sgemm reference is timed on both sides of the network, so a machine whose speed
	// drifts during the run (another process, clock changes) moves both figures alike.
	var sg *profiler.SgemmRate
	sgemmHalf := func() error {
		if *sgemmSize == 0 || n.OnGPU() {
			return nil
		}
		r, err := profiler.MeasureSgemm(ctx, sel.Backend, sel.Threads, *sgemmSize, 3)
		if err != nil {
			return err
		}
		if sg == nil {
			sg = &r
		} else {
			sg.Samples = append(sg.Samples, r.Samples...)
			sg.GFLOPs = stats.Median(sg.Samples)
		}
		return nil
	}
	if err := sgemmHalf(); err != nil {
		return err
	}
	var tp profiler.Throughput
	measure := func() (err error) {
		tp, err = profiler.MeasureThroughput(ctx, n, profiler.ThroughputOptions{Batch: *batch, Repeats: *repeats})
		return err
	}
	if *cpuProfile != "" {
		// Written to a temporary file and renamed, so an interrupted run leaves no half profile.
		err = atomicfile.WriteFunc(*cpuProfile, func(w io.Writer) error {
			if err := pprof.StartCPUProfile(w); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
			return measure()
		})
	} else {
		err = measure()
	}
	if err != nil {
		return err
	}
	if err := sgemmHalf(); err != nil {
		return err
	}
	macs := profiler.MACs(a, l.Input)
	res := struct {
		profiler.Throughput
		Device  string  `json:"device"`
		GEMM    string  `json:"gemm"`
		Threads int     `json:"threads"`
		MACs    int64   `json:"macs"`
		GFLOPs  float64 `json:"gflop_per_sec"` // 2·MACs per image × images/s
		Arch    string  `json:"network_def"`
		Img     int     `json:"img"`
		// Resident is true when weights and activations stay on the GPU between layers.
		Resident bool   `json:"gpu_resident"`
		Kernels  string `json:"gpu_kernels,omitempty"`
		Detail   string `json:"backend_detail"`
		// Sgemm is the reference square GEMM timed in the same run; Share is the network's
		// GFLOP/s as a fraction of it.
		Sgemm *profiler.SgemmRate `json:"sgemm,omitempty"`
		// BatchMS is the median time of one batch: at batch 1, the latency of an image.
		BatchMS float64 `json:"ms_per_batch"`
		Share   float64 `json:"share_of_sgemm,omitempty"`
	}{Throughput: tp, Device: sel.Device, GEMM: sel.Name, Threads: sel.Threads, MACs: macs, GFLOPs: 2 * float64(macs) * tp.ImagesPerSec / 1e9,
		Arch: a.String(), Img: l.Input.Size, Resident: n.OnGPU(), Kernels: n.GPUKernels(), Detail: sel.Detail, Sgemm: sg}
	if sg != nil && sg.GFLOPs > 0 {
		res.Share = res.GFLOPs / sg.GFLOPs
	}
	res.BatchMS = 1e3 * float64(tp.Batch) / tp.ImagesPerSec
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	where := fmt.Sprintf("%s on cpu, %d threads", res.GEMM, res.Threads)
	if n.OnGPU() {
		where = fmt.Sprintf("%s on %s, GPU-resident", res.GEMM, sel.CUDA.Info().Name)
	}
	share := ""
	if sg != nil {
		share = fmt.Sprintf(" = %.0f%% of a %d³ sgemm (%.1f GFLOP/s, same run)", 100*res.Share, sg.Size, sg.GFLOPs)
	}
	fmt.Fprintf(e.stdout, "%.2f images/s (median of %d, spread %.1f%%) batch %d in %.3f ms, %s, %.1f GFLOP/s%s\n",
		tp.ImagesPerSec, tp.Repeats, 100*tp.Spread, tp.Batch, res.BatchMS, where, res.GFLOPs, share)
	return nil
}

package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/resnas/resnas/distributed"
	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/workbench"
)

// workerFlags are resnas search's flags for spreading evaluations over worker processes.
type workerFlags struct {
	workers int
	devices string
	listen  string
	token   string
	broker  string
}

func (w *workerFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&w.workers, "workers", 0, "local worker processes that evaluate candidates (0: in-process, unless --listen or --broker)")
	fs.StringVar(&w.devices, "devices", "", "one local worker per device, e.g. cuda:0,cuda:1 (sets --workers)")
	fs.StringVar(&w.listen, "listen", "", "HOST:PORT where remote workers join the embedded broker (default: loopback only)")
	fs.StringVar(&w.token, "token", "", "token workers must present (default: $RESNAS_TOKEN; required with --listen)")
	fs.StringVar(&w.broker, "broker", "", "use this NATS server (nats://HOST:PORT, with JetStream) instead of the embedded one")
}

func (w *workerFlags) distributed() bool {
	return w.workers > 0 || w.devices != "" || w.listen != "" || w.broker != ""
}

func (w *workerFlags) devList() []string {
	if w.devices == "" {
		return nil
	}
	return strings.Split(w.devices, ",")
}

func (w *workerFlags) check() error {
	switch {
	case w.workers < 0:
		return usagef("--workers must not be negative, not %d", w.workers)
	case w.listen != "" && w.broker != "":
		return usagef("--listen and --broker exclude each other: --listen serves the embedded broker, --broker uses another")
	}
	for _, d := range w.devList() {
		if _, _, ok := parseDevice(d); !ok {
			return usagef("--devices: %q is not cpu, cuda or cuda:N", d)
		}
	}
	if n := len(w.devList()); n > 0 && w.workers > 0 && w.workers != n {
		return usagef("--workers %d and --devices with %d devices disagree: give one of them", w.workers, n)
	}
	return nil
}

// parseDevice reads a worker device: cpu, cuda, or cuda:N for GPU N (gpu is then "N").
func parseDevice(d string) (kind, gpu string, ok bool) {
	switch {
	case d == "cpu" || d == "cuda":
		return d, "", true
	case strings.HasPrefix(d, "cuda:"):
		if _, err := strconv.Atoi(d[5:]); err == nil && d[5] != '-' && d[5] != '+' {
			return "cuda", d[5:], true
		}
	}
	return "", "", false
}

// clusterOptions are the worker flags as distributed.ClusterOptions for a search over
// session s scoring on limit images in that BN mode, with the embedded broker's files
// beside journal.
func (w workerFlags) clusterOptions(s *workbench.Session, limit int, recalibrate bool, compute computeFlags, dataDir, journal string, e env) (distributed.ClusterOptions, error) {
	token := w.token
	if token == "" {
		token = e.getenv("RESNAS_TOKEN")
	}
	if w.listen != "" && token == "" {
		return distributed.ClusterOptions{}, usagef("--listen needs --token T (or $RESNAS_TOKEN): workers on other machines must prove they are yours")
	}
	if compute.float16 {
		// Workers load their own float32 copy: their scores would not be the float16 ones asked for.
		return distributed.ClusterOptions{}, usagef("--float16 applies to this process only, and workers would score in float32: leave out --float16 or the worker flags")
	}
	exe, err := os.Executable()
	if err != nil {
		return distributed.ClusterOptions{}, err
	}
	// A job is what workers compute: the top-1 scoring settings (a throughput floor is the
	// driver's own measurement and no part of it).
	limit, scoring := s.Scoring(limit, recalibrate)
	spec := distributed.Spec{Checkpoint: s.Loaded.Checkpoint.SHA256, Data: s.DataHash(), CheckpointName: s.Loaded.Name, DataName: dataDir,
		Limit: limit, RecalibrateBN: recalibrate, Prefer: compute.prefer, Space: compute.space, Patch: compute.patch, Scoring: scoring}
	if spec.DataName == "" {
		spec.DataName = "the shipped sub-val"
	}
	return distributed.ClusterOptions{Workers: w.workers, Devices: w.devList(), Threads: compute.threads,
		Listen: w.listen, Token: token, Broker: w.broker, StoreDir: journal + ".broker", Spec: spec,
		CheckpointPath: compute.checkpoint, DataPath: dataDir, Executable: exe, Env: os.Environ()}, nil
}

// startWorkers starts the search's cluster (broker, dispatcher, local workers), reporting
// on stderr; stop undoes it all.
func startWorkers(ctx context.Context, f searchFlags, s *workbench.Session, e env) (evolution.AsyncEvaluator, func(), error) {
	o, err := f.workers.clusterOptions(s, f.limit, f.recalibrate, f.compute, f.data, f.journal, e)
	if err != nil {
		return nil, nil, err
	}
	o.WorkerLog = e.stderr
	o.Notify = func(msg string) { fmt.Fprintf(e.stderr, "search: %s\n", msg) }
	c, err := distributed.StartCluster(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	return c.Dispatcher, c.Close, nil
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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
		if d != "cpu" && d != "cuda" && !(strings.HasPrefix(d, "cuda:") && isDigits(d[5:])) {
			return usagef("--devices: %q is not cpu, cuda or cuda:N", d)
		}
	}
	if n := len(w.devList()); n > 0 && w.workers > 0 && w.workers != n {
		return usagef("--workers %d and --devices with %d devices disagree: give one of them", w.workers, n)
	}
	return nil
}

func isDigits(s string) bool {
	_, err := strconv.Atoi(s)
	return s != "" && err == nil
}

// startWorkers sets up the broker (embedded, or --broker), the dispatcher and the local
// workers; stop undoes it all.
func startWorkers(ctx context.Context, f searchFlags, s *workbench.Session, cfg evolution.Config, e env) (evolution.AsyncEvaluator, func(), error) {
	w := f.workers
	token := w.token
	if token == "" {
		token = e.getenv("RESNAS_TOKEN")
	}
	if w.listen != "" && token == "" {
		return nil, nil, usagef("--listen needs --token T (or $RESNAS_TOKEN): workers on other machines must prove they are yours")
	}
	var undo []func()
	stop := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	url := w.broker
	if url == "" {
		if token == "" { // loopback only, but other users of this machine could still connect
			b := make([]byte, 16)
			rand.Read(b)
			token = hex.EncodeToString(b)
		}
		srv, err := distributed.StartServer(distributed.ServerOptions{Listen: w.listen, Token: token, StoreDir: f.journal + ".broker"})
		if err != nil {
			return nil, nil, err
		}
		undo = append(undo, srv.Shutdown)
		url = srv.URL()
		where := "loopback only"
		if w.listen != "" {
			where = "workers join with: resnas worker --broker nats://" + w.listen + " --token …"
		}
		fmt.Fprintf(e.stderr, "search: broker %s (%s)\n", url, where)
	}
	limit, _ := strconv.Atoi(cfg.Scoring["limit"])
	l := s.Loaded
	spec := distributed.Spec{Checkpoint: cfg.Checkpoint, Data: cfg.Data, CheckpointName: l.Name, DataName: f.data,
		Limit: limit, RecalibrateBN: f.recalibrate, Prefer: f.compute.prefer, Space: f.compute.space, Patch: f.compute.patch, Scoring: cfg.Scoring}
	if spec.DataName == "" {
		spec.DataName = "the shipped sub-val"
	}
	d, err := distributed.NewDispatcher(ctx, distributed.DispatcherOptions{URL: url, Token: token, Spec: spec,
		OnRefusal: func(r distributed.Refusal) {
			fmt.Fprintf(e.stderr, "search: worker %s refused: %s\n", r.Worker, r.Reason)
		},
		OnWorker: func(wi distributed.WorkerInfo, event string) {
			fmt.Fprintf(e.stderr, "search: worker %s (%s, %d threads) %s\n", wi.Worker, wi.Device, wi.Threads, event)
		}})
	if err != nil {
		stop()
		return nil, nil, err
	}
	undo = append(undo, func() {
		if n := d.Reused(); n > 0 {
			fmt.Fprintf(e.stderr, "search: %d results published by workers while the driver was away were used, not recomputed\n", n)
		}
		d.Close()
	})
	if w.listen != "" || w.broker != "" { // remote workers may lack the files
		ckpt := f.compute.checkpoint
		if err := d.Publish(ctx, ckpt, f.data); err != nil {
			stop()
			return nil, nil, err
		}
	}
	n, devs := w.workers, w.devList()
	if len(devs) > 0 {
		n = len(devs)
	}
	if n > 0 {
		exe, err := os.Executable()
		if err != nil {
			stop()
			return nil, nil, err
		}
		threads := f.compute.threads
		if threads == 0 {
			threads = runtime.NumCPU()
		}
		var ws []distributed.LocalWorker
		for i := range n {
			name := fmt.Sprintf("local-%d", i+1)
			dev := "cpu"
			if len(devs) > 0 {
				dev = devs[i]
			}
			args := []string{"worker", "--broker", url, "--name", name, "--device", dev}
			if dev == "cpu" { // the CPU's threads are shared out
				args = append(args, "--threads", fmt.Sprint(max(1, threads/n)))
			}
			if f.compute.checkpoint != "" {
				abs, _ := filepath.Abs(f.compute.checkpoint)
				args = append(args, "--checkpoint", abs)
			}
			if f.data != "" {
				abs, _ := filepath.Abs(f.data)
				args = append(args, "--data", abs)
			}
			ws = append(ws, distributed.LocalWorker{Name: name, Args: args})
		}
		local, err := distributed.StartLocal(exe, append(os.Environ(), "RESNAS_TOKEN="+token), ws, e.stderr,
			func(name string, pid int, err error) {
				if err == nil {
					err = errors.New("exit status 0")
				}
				fmt.Fprintf(e.stderr, "search: worker %s (pid %d) exited: %v; the others take its work\n", name, pid, err)
			})
		if err != nil {
			stop()
			return nil, nil, err
		}
		for i, pid := range local.Pids() {
			fmt.Fprintf(e.stderr, "search: started worker %s (pid %d)\n", ws[i].Name, pid)
		}
		undo = append(undo, local.Stop)
	}
	return d, stop, nil
}

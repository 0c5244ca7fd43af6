package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/resnas/resnas/distributed"
	"github.com/resnas/resnas/internal/gemm/backend"
)

// cmdWorker is `resnas worker`: it evaluates a search's candidates for a driver (resnas search
// --workers, --listen or --broker) until interrupted.
func cmdWorker(ctx context.Context, args []string, e env) error {
	fs := newFlags("worker")
	checkpoint := fs.String("checkpoint", "", "a local checkpoint; the worker then serves only it (default: the shipped one, else fetched from the driver)")
	threads := fs.Int("threads", 0, "CPU threads (default: all cores)")
	broker := fs.String("broker", "", "the driver's broker, nats://HOST:PORT")
	token := fs.String("token", "", "the driver's --token (default: $RESNAS_TOKEN)")
	device := fs.String("device", "cpu", "cpu, cuda or cuda:N (one worker per GPU)")
	name := fs.String("name", "", "name in the driver's messages (default: HOST-PID)")
	data := fs.String("data", "", "local shards; the worker then serves only them (default: fetched from the driver when needed)")
	cache := fs.String("cache", "", "where checkpoints and shards fetched from the driver are kept (default: the user cache dir)")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if *broker == "" {
		return usagef("--broker nats://HOST:PORT is required (the address the driver printed)")
	}
	if *threads < 0 {
		return usagef("--threads %d: want 0 (all cores) or a positive count", *threads)
	}
	if *token == "" {
		*token = e.getenv("RESNAS_TOKEN")
	}
	dev, gpu, ok := parseDevice(*device)
	if !ok {
		return usagef("--device must be cpu, cuda or cuda:N, not %q", *device)
	}
	if gpu != "" {
		// One GPU per worker: CUDA sees only this one, as device 0.
		os.Setenv("CUDA_VISIBLE_DEVICES", gpu)
	}
	if *threads > 0 && dev == "cpu" {
		runtime.GOMAXPROCS(*threads) // the pure-Go GEMM and the evaluator use GOMAXPROCS
	}
	if *name == "" {
		host, _ := os.Hostname()
		*name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if *cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		*cache = filepath.Join(dir, "resnas", "worker")
	}
	n := *threads
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	loader := &distributed.SessionLoader{Checkpoint: *checkpoint, Data: *data, Cache: *cache,
		Backend: backend.Options{Device: dev, Threads: *threads, Backend: e.getenv("RESNAS_GEMM")}}
	defer loader.Close()
	return distributed.RunWorker(ctx, distributed.WorkerOptions{URL: *broker, Token: *token, Name: *name,
		Device: *device, Threads: n, Version: buildVersion(), Loader: loader, Log: e.stderr})
}

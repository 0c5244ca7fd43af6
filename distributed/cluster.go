package distributed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
)

// ClusterOptions say where a search's evaluations run: local worker processes (one per
// device, or Workers on the CPU), remote workers joining the embedded broker on Listen, or
// an existing NATS server (Broker).
type ClusterOptions struct {
	Workers int      // local worker processes; len(Devices) when Devices is set
	Devices []string // one local worker per device: cpu, cuda or cuda:N
	Threads int      // CPU threads shared out among CPU workers; 0: all cores
	Listen  string   // HOST:PORT for remote workers (embedded broker); "": loopback only
	Token   string   // "": a random one for the embedded broker (required with Listen)
	Broker  string   // nats://… of an existing server; "": embedded
	// StoreDir holds the embedded broker's files, beside the journal (JOURNAL.broker).
	StoreDir string

	Spec Spec // what workers evaluate; Checkpoint and Data are the files' digests
	// CheckpointPath and DataPath are the files local workers load and remote ones are
	// sent ("": the shipped default and its sub-val).
	CheckpointPath, DataPath string

	Executable string   // the resnas binary local workers run
	Env        []string // the environment they start with
	// WorkerLog receives the local workers' stderr; nil discards it (the explorer owns
	// the terminal).
	WorkerLog io.Writer
	// Notify hears what a user should know: the broker's address, workers starting,
	// joining, refusing, going silent or exiting. Called from other goroutines; nil: none.
	Notify func(msg string)
}

// Cluster is a running broker connection with its dispatcher and local workers.
type Cluster struct {
	Dispatcher *Dispatcher
	URL        string
	undo       []func()
	notify     func(string)
}

// StartCluster starts (or joins) the broker, the dispatcher and the local workers.
func StartCluster(ctx context.Context, o ClusterOptions) (*Cluster, error) {
	c := &Cluster{notify: o.Notify}
	if c.notify == nil {
		c.notify = func(string) {}
	}
	if o.Listen != "" && o.Token == "" {
		return nil, errors.New("a broker listening beyond this machine needs a token: workers elsewhere must prove they are the user's")
	}
	token := o.Token
	c.URL = o.Broker
	if c.URL == "" {
		if token == "" { // loopback only, but other users of this machine could still connect
			b := make([]byte, 16)
			rand.Read(b)
			token = hex.EncodeToString(b)
		}
		srv, err := StartServer(ServerOptions{Listen: o.Listen, Token: token, StoreDir: o.StoreDir})
		if err != nil {
			return nil, err
		}
		c.undo = append(c.undo, srv.Shutdown)
		c.URL = srv.URL()
		where := "loopback only"
		if o.Listen != "" {
			where = "workers join with: resnas worker --broker " + joinURL(srv.Addr()) + " --token …"
		}
		c.notify(fmt.Sprintf("broker %s (%s)", c.URL, where))
	}
	d, err := NewDispatcher(ctx, DispatcherOptions{URL: c.URL, Token: token, Spec: o.Spec,
		OnRefusal: func(r Refusal) { c.notify(fmt.Sprintf("worker %s refused: %s", r.Worker, r.Reason)) },
		OnWorker: func(wi WorkerInfo, event string) {
			c.notify(fmt.Sprintf("worker %s (%s, %d threads) %s", wi.Worker, wi.Device, wi.Threads, event))
		}})
	if err != nil {
		c.Close()
		return nil, err
	}
	c.Dispatcher = d
	c.undo = append(c.undo, func() {
		if n := d.Reused(); n > 0 {
			c.notify(fmt.Sprintf("%d results published by workers while the driver was away were used, not recomputed", n))
		}
		d.Close()
	})
	if o.Listen != "" || o.Broker != "" { // remote workers may lack the files
		if err := d.Publish(ctx, o.CheckpointPath, o.DataPath); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.startLocal(o, token); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// startLocal starts the local worker processes, sharing the CPU threads among CPU workers.
func (c *Cluster) startLocal(o ClusterOptions, token string) error {
	n := o.Workers
	if len(o.Devices) > 0 {
		n = len(o.Devices)
	}
	if n == 0 {
		return nil
	}
	threads := o.Threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	var ws []LocalWorker
	for i := range n {
		name := fmt.Sprintf("local-%d", i+1)
		dev := "cpu"
		if len(o.Devices) > 0 {
			dev = o.Devices[i]
		}
		args := []string{"worker", "--broker", c.URL, "--name", name, "--device", dev}
		if dev == "cpu" {
			args = append(args, "--threads", fmt.Sprint(max(1, threads/n)))
		}
		if o.CheckpointPath != "" {
			abs, _ := filepath.Abs(o.CheckpointPath)
			args = append(args, "--checkpoint", abs)
		}
		if o.DataPath != "" {
			abs, _ := filepath.Abs(o.DataPath)
			args = append(args, "--data", abs)
		}
		ws = append(ws, LocalWorker{Name: name, Args: args})
	}
	log := o.WorkerLog
	if log == nil {
		log = io.Discard
	}
	local, err := StartLocal(o.Executable, append(append([]string(nil), o.Env...), "RESNAS_TOKEN="+token), ws, log,
		func(name string, pid int, err error) {
			if err == nil {
				err = errors.New("exit status 0")
			}
			c.notify(fmt.Sprintf("worker %s (pid %d) exited: %v; the others take its work", name, pid, err))
		})
	if err != nil {
		return err
	}
	for i, pid := range local.Pids() {
		c.notify(fmt.Sprintf("started worker %s (pid %d)", ws[i].Name, pid))
	}
	c.undo = append(c.undo, local.Stop)
	return nil
}

// Close stops the local workers, the dispatcher and the embedded broker, in that order.
func (c *Cluster) Close() {
	for i := len(c.undo) - 1; i >= 0; i-- {
		c.undo[i]()
	}
	c.undo = nil
}

// joinURL is the address other machines reach a broker listening on addr at: the port it
// actually took (--listen host:0 picks one), and this machine's name where addr is a
// wildcard (":4222", "0.0.0.0:4222"), which on a worker would mean the worker itself.
func joinURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "nats://" + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if name, err := os.Hostname(); err == nil && name != "" {
			host = name
		}
	}
	return "nats://" + net.JoinHostPort(host, port)
}

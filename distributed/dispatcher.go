package distributed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/stats"
	"github.com/resnas/resnas/workbench"
)

// DispatcherOptions configure the driver's side.
type DispatcherOptions struct {
	URL, Token string
	Spec       Spec
	// OnRefusal hears each distinct refusal (worker, reason) once; OnWorker hears every
	// worker's first status and its going silent. Both are called from the NATS client's
	// goroutine and must not block.
	OnRefusal func(Refusal)
	OnWorker  func(w WorkerInfo, event string)
}

// WorkerInfo is what the driver knows of a worker.
type WorkerInfo struct {
	Status
	LastSeen time.Time
	Silent   bool // no heartbeat for SilentAfter
	PerMin   float64
}

// SilentAfter is how long a worker may send no heartbeat before it is marked silent.
const SilentAfter = 3 * AckWait

// Dispatcher sends a search's evaluations to workers: an evolution.AsyncEvaluator.
type Dispatcher struct {
	o       DispatcherOptions
	nc      *nats.Conn
	js      jetstream.JetStream
	results jetstream.Stream
	subs    []*nats.Subscription
	stop    chan struct{}
	done    chan struct{}

	mu      sync.Mutex
	pending map[string]*waiter // by job ID
	refused map[[2]string]bool
	workers map[string]*WorkerInfo
	reused  int
}

type waiter struct {
	done chan struct{}
	res  Result
}

// NewDispatcher connects to the broker and sets up the streams.
func NewDispatcher(ctx context.Context, o DispatcherOptions) (*Dispatcher, error) {
	nc, js, err := Connect(o.URL, o.Token, "resnas driver")
	if err != nil {
		return nil, err
	}
	d := &Dispatcher{o: o, nc: nc, js: js, pending: map[string]*waiter{}, refused: map[[2]string]bool{},
		workers: map[string]*WorkerInfo{}, stop: make(chan struct{}), done: make(chan struct{})}
	if _, d.results, err = setup(ctx, js); err != nil {
		nc.Close()
		return nil, err
	}
	for subj, h := range map[string]nats.MsgHandler{resultSubject + ">": d.onResult, refusedSubject: d.onRefusal, statusSubject: d.onStatus} {
		sub, err := nc.Subscribe(subj, h)
		if err != nil {
			nc.Close()
			return nil, err
		}
		d.subs = append(d.subs, sub)
	}
	if err := nc.Flush(); err != nil {
		nc.Close()
		return nil, err
	}
	go d.watch()
	return d, nil
}

// Close disconnects; queued jobs and published results stay in the broker.
func (d *Dispatcher) Close() {
	close(d.stop)
	<-d.done
	d.nc.Close()
}

// Reused is how many results were found already published when submitted (by workers of an
// earlier run of the driver).
func (d *Dispatcher) Reused() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reused
}

// Workers lists the workers heard from, by name.
func (d *Dispatcher) Workers() []WorkerInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []WorkerInfo
	for _, w := range d.workers {
		out = append(out, *w)
	}
	slices.SortFunc(out, func(a, b WorkerInfo) int { return strings.Compare(a.Worker, b.Worker) })
	return out
}

// Submit publishes the job of network key unless its result is already in the broker.
func (d *Dispatcher) Submit(ctx context.Context, key string, a model.Arch) error {
	id := JobID(d.o.Spec, key)
	d.mu.Lock()
	if _, ok := d.pending[id]; ok {
		d.mu.Unlock()
		return nil
	}
	w := &waiter{done: make(chan struct{})}
	d.pending[id] = w
	d.mu.Unlock()
	fail := func(err error) error {
		d.mu.Lock()
		if d.pending[id] == w {
			select {
			case <-w.done:
			default:
				delete(d.pending, id)
			}
		}
		d.mu.Unlock()
		return err
	}
	if m, err := d.results.GetLastMsgForSubject(ctx, resultSubject+id); err == nil {
		var r Result
		if json.Unmarshal(m.Data, &r) == nil && r.ID == id && r.Error == "" {
			d.mu.Lock()
			d.reused++
			d.mu.Unlock()
			d.deliver(r)
			return nil
		}
	} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fail(fmt.Errorf("looking up an earlier result: %w", err))
	}
	job, _ := json.Marshal(Job{V: ProtocolVersion, ID: id, NetworkDef: a.String(), Spec: d.o.Spec})
	// The message ID makes JetStream drop a job queued twice (a driver restarted within the
	// hour resubmits what its workers have not taken yet).
	if _, err := d.js.Publish(ctx, jobSubject+id, job, jetstream.WithMsgID(id)); err != nil {
		return fail(fmt.Errorf("queueing the job: %w", err))
	}
	return nil
}

// Await waits for key's result.
func (d *Dispatcher) Await(ctx context.Context, key string) (evolution.Fitness, error) {
	id := JobID(d.o.Spec, key)
	d.mu.Lock()
	w, ok := d.pending[id]
	d.mu.Unlock()
	if !ok {
		return evolution.Fitness{}, evolution.ErrNotSubmitted
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		return evolution.Fitness{}, ctx.Err()
	}
	r := w.res
	if r.Error != "" {
		return evolution.Fitness{}, fmt.Errorf("worker %s: %s", r.Worker, r.Error)
	}
	fit := evolution.Fitness{Top1: r.Top1, Top5: r.Top5, Images: r.Images}
	if r.Correct != "" {
		b, err := stats.DecodeBitset(r.Correct, r.Images)
		if err != nil {
			return evolution.Fitness{}, fmt.Errorf("worker %s: per-image results: %w", r.Worker, err)
		}
		fit.Correct = b
	}
	return fit, nil
}

// Evaluate submits a and waits for it.
func (d *Dispatcher) Evaluate(ctx context.Context, a model.Arch) (evolution.Fitness, error) {
	key := a.String()
	if err := d.Submit(ctx, key, a); err != nil {
		return evolution.Fitness{}, err
	}
	return d.Await(ctx, key)
}

func (d *Dispatcher) deliver(r Result) {
	d.mu.Lock()
	defer d.mu.Unlock()
	w, ok := d.pending[r.ID]
	if !ok {
		return
	}
	select {
	case <-w.done: // a redelivered job's second result: counted once
	default:
		w.res = r
		close(w.done)
	}
}

func (d *Dispatcher) onResult(m *nats.Msg) {
	var r Result
	if json.Unmarshal(m.Data, &r) == nil {
		d.deliver(r)
	}
}

func (d *Dispatcher) onRefusal(m *nats.Msg) {
	var r Refusal
	if json.Unmarshal(m.Data, &r) != nil {
		return
	}
	d.mu.Lock()
	k := [2]string{r.Worker, r.Reason}
	first := !d.refused[k]
	d.refused[k] = true
	d.mu.Unlock()
	if first && d.o.OnRefusal != nil {
		d.o.OnRefusal(r)
	}
}

func (d *Dispatcher) onStatus(m *nats.Msg) {
	var s Status
	if json.Unmarshal(m.Data, &s) != nil || s.Worker == "" {
		return
	}
	now := time.Now()
	d.mu.Lock()
	w, seen := d.workers[s.Worker]
	if !seen {
		w = &WorkerInfo{}
		d.workers[s.Worker] = w
	}
	wasSilent := w.Silent
	first := w.Status
	w.Status, w.LastSeen, w.Silent = s, now, false
	if seen && s.Evaluations > first.Evaluations && !first.Time.IsZero() {
		if dt := s.Time.Sub(first.Time); dt > 0 {
			w.PerMin = 0.8*w.PerMin + 0.2*float64(s.Evaluations-first.Evaluations)/dt.Minutes()
		}
	}
	info := *w
	d.mu.Unlock()
	if d.o.OnWorker == nil {
		return
	}
	switch {
	case s.Exiting:
		d.o.OnWorker(info, "left")
	case !seen:
		d.o.OnWorker(info, "joined")
	case wasSilent:
		d.o.OnWorker(info, "answers again")
	}
}

// watch marks workers that stopped sending heartbeats.
func (d *Dispatcher) watch() {
	defer close(d.done)
	t := time.NewTicker(AckWait / 3)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case now := <-t.C:
			var silent []WorkerInfo
			d.mu.Lock()
			for _, w := range d.workers {
				if !w.Silent && !w.Exiting && now.Sub(w.LastSeen) > SilentAfter {
					w.Silent = true
					silent = append(silent, *w)
				}
			}
			d.mu.Unlock()
			if d.o.OnWorker != nil {
				for _, w := range silent {
					d.o.OnWorker(w, "stopped answering; its work goes to the others")
				}
			}
		}
	}
}

// WorkerStatus lists the workers for the explorer (workbench.WorkerReporter).
func (d *Dispatcher) WorkerStatus() []workbench.WorkerStatus {
	ws := d.Workers()
	out := make([]workbench.WorkerStatus, len(ws))
	for i, w := range ws {
		out[i] = workbench.WorkerStatus{Name: w.Worker, Device: w.Device, PerMinute: w.PerMin,
			Current: w.Current, LastSeen: w.LastSeen, Silent: w.Silent}
	}
	return out
}

var _ workbench.WorkerReporter = (*Dispatcher)(nil)

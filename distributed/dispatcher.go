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
	Silent   bool    // no heartbeat for SilentAfter
	PerMin   float64 // evaluations per minute, smoothed over the intervals between new results
	// Refused is the worker's latest refusal since its last evaluation ("" when none): a
	// worker that refuses every job looks alive and idle otherwise.
	Refused string

	// The worker's count at its last new evaluation and when the driver heard of it (the
	// driver's clock: workers' clocks may differ): rates are measured between such changes,
	// not between heartbeats, which come every second whatever the work.
	changedCount int
	changedAt    time.Time
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
	msgID := id
	if r, found, err := storedResult(ctx, d.results, id); err != nil {
		return fail(fmt.Errorf("looking up an earlier result: %w", err))
	} else if found && r.Error == "" {
		d.mu.Lock()
		d.reused++
		d.mu.Unlock()
		d.deliver(r)
		return nil
	} else if found {
		// An earlier attempt failed (a worker out of memory, say): drop that result, which
		// workers would take for done, and queue the job under a new message ID, which the
		// hour-long duplicate window would otherwise swallow.
		if err := d.results.Purge(ctx, jetstream.WithPurgeSubject(resultSubject+id)); err != nil {
			return fail(fmt.Errorf("clearing a failed earlier result: %w", err))
		}
		msgID = fmt.Sprintf("%s#retry-%d", id, time.Now().UnixNano())
	}
	job, _ := json.Marshal(Job{V: ProtocolVersion, ID: id, NetworkDef: a.String(), Spec: d.o.Spec})
	// The message ID makes JetStream drop a job queued twice (a driver restarted within the
	// hour resubmits what its workers have not taken yet).
	if _, err := d.js.Publish(ctx, jobSubject+id, job, jetstream.WithMsgID(msgID)); err != nil {
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
		// Forget the failure, so that submitting the key again (a resumed search in the
		// same explorer session) queues the job anew instead of failing at once.
		d.mu.Lock()
		if d.pending[id] == w {
			delete(d.pending, id)
		}
		d.mu.Unlock()
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
	w, ok := d.workers[r.Worker]
	if !ok { // a refusal can come before the worker's first heartbeat
		w = &WorkerInfo{Status: Status{V: r.V, Worker: r.Worker}}
		d.workers[r.Worker] = w
	}
	w.Refused = r.Reason
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
	d.observe(s, time.Now())
}

// observe takes a worker's heartbeat, received at now.
func (d *Dispatcher) observe(s Status, now time.Time) {
	d.mu.Lock()
	w, seen := d.workers[s.Worker]
	if !seen {
		w = &WorkerInfo{}
		d.workers[s.Worker] = w
	}
	wasSilent := w.Silent
	w.Status, w.LastSeen, w.Silent = s, now, false
	switch {
	case w.changedAt.IsZero():
		w.changedCount, w.changedAt = s.Evaluations, now
	case s.Evaluations > w.changedCount:
		w.Refused = "" // it works again
		if dt := now.Sub(w.changedAt); dt > 0 {
			rate := float64(s.Evaluations-w.changedCount) / dt.Minutes()
			if w.PerMin == 0 {
				w.PerMin = rate
			} else {
				w.PerMin = 0.7*w.PerMin + 0.3*rate
			}
		}
		w.changedCount, w.changedAt = s.Evaluations, now
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
	for tick := 1; ; tick++ {
		select {
		case <-d.stop:
			return
		case now := <-t.C:
			if tick%sweepEvery == 0 {
				d.sweep()
			}
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

// sweepEvery is how many watch ticks (AckWait/3 each) pass between sweeps.
const sweepEvery = 10

// sweep looks up the stored result of every job still awaited: results reach the driver by a
// plain subscription, which misses what workers publish while its connection is down (a
// network drop to a --broker server); the results stream still holds them.
func (d *Dispatcher) sweep() {
	d.mu.Lock()
	var ids []string
	for id, w := range d.pending {
		select {
		case <-w.done:
		default:
			ids = append(ids, id)
		}
	}
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), AckWait)
	defer cancel()
	for _, id := range ids {
		// Successes only: a stored failure may be the one Submit is clearing for a retry. An
		// error (the broker unreachable) waits for the next sweep.
		if r, found, err := storedResult(ctx, d.results, id); err == nil && found && r.Error == "" {
			d.deliver(r)
		}
	}
}

// WorkerStatus lists the workers for the explorer (workbench.WorkerReporter).
func (d *Dispatcher) WorkerStatus() []workbench.WorkerStatus {
	ws := d.Workers()
	out := make([]workbench.WorkerStatus, len(ws))
	for i, w := range ws {
		out[i] = workbench.WorkerStatus{Name: w.Worker, Device: w.Device, PerMinute: w.Rate(time.Now()), Refused: w.Refused,
			Current: w.Current, LastSeen: w.LastSeen, Silent: w.Silent}
	}
	return out
}

var _ workbench.WorkerReporter = (*Dispatcher)(nil)

// Rate is the worker's evaluations per minute as of now: its smoothed rate, but no more
// than one evaluation per the time since its last, so a worker that stopped producing fades.
func (w WorkerInfo) Rate(now time.Time) float64 {
	if w.changedAt.IsZero() || w.PerMin == 0 {
		return w.PerMin
	}
	if idle := now.Sub(w.changedAt).Minutes(); idle > 0 {
		return min(w.PerMin, 1/idle)
	}
	return w.PerMin
}

// storedResult is the result the broker holds for job id; found is false when it holds none.
// Something stored there that is not this job's result counts as a failed one, so that
// callers redo the job rather than trust it.
func storedResult(ctx context.Context, results jetstream.Stream, id string) (r Result, found bool, err error) {
	m, err := results.GetLastMsgForSubject(ctx, resultSubject+id)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Result{}, false, nil
	} else if err != nil {
		return Result{}, false, err
	}
	if json.Unmarshal(m.Data, &r) != nil || r.ID != id {
		return Result{ID: id, Error: "unreadable stored result"}, true, nil
	}
	return r, true, nil
}

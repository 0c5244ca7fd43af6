package distributed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/model"
)

// Loader gives a worker the evaluator for a job's spec, loading the supernet and the data the
// first time it meets them (files fetches what this machine lacks from the driver). An error
// makes the worker refuse the job: it is then the reason the driver prints.
type Loader interface {
	Load(ctx context.Context, spec Spec, files *Files) (evolution.Evaluator, error)
}

// WorkerOptions configure a worker.
type WorkerOptions struct {
	URL, Token string
	Name       string
	Device     string
	Threads    int
	Version    string // resnas version, announced
	Loader     Loader
	Log        io.Writer // one line per event; nil: silent
}

// RunWorker evaluates jobs until ctx ends. It returns an error only when it cannot work at
// all (the broker refused it or went away for good).
func RunWorker(ctx context.Context, o WorkerOptions) error {
	nc, js, err := Connect(o.URL, o.Token, "resnas worker "+o.Name)
	if err != nil {
		return err
	}
	defer nc.Close()
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, "worker %s: %s\n", o.Name, fmt.Sprintf(format, args...))
		}
	}
	var cons jetstream.Consumer
	var results jetstream.Stream
	for {
		// The driver creates the streams; a worker started first waits for them.
		if cons, err = js.Consumer(ctx, JobsStream, WorkersConsumer); err == nil {
			if results, err = js.Stream(ctx, ResultsStream); err == nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
	w := &worker{o: o, nc: nc, js: js, results: results, files: &Files{js: js}, logf: logf}
	w.status.V, w.status.Worker, w.status.Device, w.status.Threads, w.status.Version = ProtocolVersion, o.Name, o.Device, o.Threads, o.Version
	hbCtx, stopHB := context.WithCancel(ctx)
	hbDone := make(chan struct{})
	go func() { defer close(hbDone); w.heartbeat(hbCtx) }()
	defer func() {
		stopHB()
		<-hbDone
		w.publishStatus(true)
		nc.Flush()
	}()
	logf("connected to %s", o.URL)
	for ctx.Err() == nil {
		m, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		switch {
		case errors.Is(err, nats.ErrTimeout), errors.Is(err, jetstream.ErrNoMessages):
			continue
		case errors.Is(err, nats.ErrConnectionClosed):
			return fmt.Errorf("broker %s closed the connection", o.URL)
		case err != nil:
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
			continue
		}
		w.handle(ctx, m)
	}
	return nil
}

type worker struct {
	o       WorkerOptions
	nc      *nats.Conn
	js      jetstream.JetStream
	results jetstream.Stream
	files   *Files
	logf    func(string, ...any)

	mu     sync.Mutex
	status Status
}

func (w *worker) heartbeat(ctx context.Context) {
	t := time.NewTicker(AckWait / 3)
	defer t.Stop()
	for {
		w.publishStatus(false)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *worker) publishStatus(exiting bool) {
	w.mu.Lock()
	s := w.status
	w.mu.Unlock()
	s.Time, s.Exiting = time.Now(), exiting
	b, _ := json.Marshal(s)
	w.nc.Publish(statusSubject, b)
}

func (w *worker) refuse(m jetstream.Msg, id, reason string) {
	b, _ := json.Marshal(Refusal{V: ProtocolVersion, ID: id, Worker: w.o.Name, Reason: reason})
	w.nc.Publish(refusedSubject, b)
	w.logf("refused job %s: %s", id, reason)
	// Back to the queue for another worker, after a pause so this one does not spin on it.
	m.NakWithDelay(time.Second)
}

func (w *worker) handle(ctx context.Context, m jetstream.Msg) {
	var job Job
	if err := json.Unmarshal(m.Data(), &job); err != nil {
		w.refuse(m, "", fmt.Sprintf("unreadable job (%v): the driver runs an incompatible resnas", err))
		return
	}
	if job.V != ProtocolVersion {
		w.refuse(m, job.ID, fmt.Sprintf("job of protocol version %d, this worker (resnas %s) speaks version %d: run the same resnas on both sides", job.V, w.o.Version, ProtocolVersion))
		return
	}
	// Evaluated already (a redelivery after a worker published but died before its ack). A
	// stored failure does not count: the driver queued the job again to have it redone.
	if r, found, err := storedResult(ctx, w.results, job.ID); err == nil && found && r.Error == "" {
		m.Ack()
		return
	}
	// In-progress acks keep the job ours while we work, loading included (a first load with
	// files fetched from the driver can outlast AckWait); if we die they stop and JetStream
	// hands the job to another worker after AckWait.
	workCtx, stop := context.WithCancel(ctx)
	ticking := make(chan struct{})
	go func() {
		defer close(ticking)
		t := time.NewTicker(AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-workCtx.Done():
				return
			case <-t.C:
				m.InProgress()
			}
		}
	}()
	quiet := func() { stop(); <-ticking } // no in-progress ack may follow a nak or the result
	defer quiet()
	ev, err := w.o.Loader.Load(ctx, job.Spec, w.files)
	if err != nil {
		quiet()
		w.refuse(m, job.ID, err.Error())
		return
	}
	a, err := model.ParseArch(job.NetworkDef)
	if err != nil {
		quiet()
		w.refuse(m, job.ID, fmt.Sprintf("network_def %s: %v", job.NetworkDef, err))
		return
	}
	w.mu.Lock()
	w.status.Current = job.NetworkDef
	w.mu.Unlock()
	start := time.Now()
	fit, err := ev.Evaluate(workCtx, a)
	quiet()
	w.mu.Lock()
	w.status.Current = ""
	w.mu.Unlock()
	if ctx.Err() != nil {
		m.Nak() // interrupted: someone else takes it at once
		return
	}
	r := Result{V: ProtocolVersion, ID: job.ID, Worker: w.o.Name, Top1: fit.Top1, Top5: fit.Top5,
		Images: fit.Images, Seconds: time.Since(start).Seconds()}
	if err != nil {
		r.Error = fmt.Sprintf("evaluating %s: %v", job.NetworkDef, err)
	} else if fit.Correct.N == fit.Images && fit.Images > 0 {
		r.Correct = fit.Correct.Encode()
	}
	b, _ := json.Marshal(r)
	pubCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := w.js.Publish(pubCtx, resultSubject+job.ID, b); err != nil {
		w.logf("publishing the result of %s: %v (the job will be redelivered)", job.ID, err)
		return
	}
	if err := m.DoubleAck(pubCtx); err != nil {
		w.logf("acking %s: %v (its result is published; a redelivery will find it)", job.ID, err)
	}
	w.mu.Lock()
	w.status.Evaluations++
	w.mu.Unlock()
}

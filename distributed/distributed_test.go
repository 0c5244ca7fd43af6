package distributed

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/evolution/evaltest"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/stats"
	"github.com/resnas/resnas/supernet"
)

// fakeLoader scores by the def's length, with per-image bits, and refuses other checkpoints.
type fakeLoader struct {
	checkpoint string
	failing    bool // every evaluation fails, as a worker out of memory would
	mu         sync.Mutex
	calls      int
}

func fakeFitness(a model.Arch) evolution.Fitness {
	n := 37
	b := stats.NewBitset(n)
	for i := 0; i < n; i += 1 + len(a.String())%5 {
		b.Set(i)
	}
	return evolution.Fitness{Top1: 100 * float64(b.Count()) / float64(n), Top5: 100, Images: n, Correct: b}
}

func (l *fakeLoader) Load(ctx context.Context, spec Spec, _ *Files) (evolution.Evaluator, error) {
	if spec.Checkpoint != l.checkpoint {
		return nil, fmt.Errorf("the search uses checkpoint %s, this worker serves %s", spec.Checkpoint, l.checkpoint)
	}
	return evolution.EvaluatorFunc(func(ctx context.Context, a model.Arch) (evolution.Fitness, error) {
		l.mu.Lock()
		l.calls++
		l.mu.Unlock()
		if l.failing {
			return evolution.Fitness{}, fmt.Errorf("out of memory")
		}
		return fakeFitness(a), ctx.Err()
	}), nil
}

func archs() []model.Arch {
	sp, _ := supernet.Lookup("fmnist")
	mid := sp.Max()
	mid.Layers[1].Exists = false
	return []model.Arch{sp.Max(), sp.Min(), mid}
}

// cluster is an embedded server, a dispatcher and workers in this process.
// cluster starts a broker, a dispatcher and in-process workers; refusals returns a copy of
// the refusals heard so far (the dispatcher reports them from the NATS client's goroutine).
func cluster(t *testing.T, token string, loaders ...*fakeLoader) (srv *Server, d *Dispatcher, refusals func() []Refusal) {
	t.Helper()
	srv, err := StartServer(ServerOptions{Token: token, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	var mu sync.Mutex
	var heard []Refusal
	refusals = func() []Refusal { mu.Lock(); defer mu.Unlock(); return append([]Refusal(nil), heard...) }
	ctx, cancel := context.WithCancel(context.Background())
	d, err = NewDispatcher(ctx, DispatcherOptions{URL: srv.URL(), Token: token, Spec: Spec{Checkpoint: "ck", Data: "da", Limit: 37},
		OnRefusal: func(r Refusal) { mu.Lock(); heard = append(heard, r); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i, l := range loaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := RunWorker(ctx, WorkerOptions{URL: srv.URL(), Token: token, Name: fmt.Sprintf("w%d", i+1), Loader: l}); err != nil {
				t.Error(err)
			}
		}()
	}
	t.Cleanup(func() { cancel(); wg.Wait(); d.Close() })
	return srv, d, refusals
}

// TestDispatcherConforms runs two in-process workers behind the broker through the
// AsyncEvaluator suite.
func TestDispatcherConforms(t *testing.T) {
	_, d, _ := cluster(t, "secret", &fakeLoader{checkpoint: "ck"}, &fakeLoader{checkpoint: "ck"})
	evaltest.Test(t, d, archs(), fakeFitness)
}

// TestForeignCheckpointIsRefused: a worker serving another checkpoint refuses, the driver
// hears which worker and why, and a good worker does the job.
func TestForeignCheckpointIsRefused(t *testing.T) {
	_, d, refusals := cluster(t, "", &fakeLoader{checkpoint: "other"})
	a := archs()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.Submit(ctx, "k", a); err != nil {
		t.Fatal(err)
	}
	for len(refusals()) == 0 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if len(refusals()) == 0 {
		t.Fatal("no refusal heard in 20 s")
	}
	r := refusals()[0]
	if r.Worker != "w1" || !strings.Contains(r.Reason, "this worker serves other") {
		t.Fatalf("refusal %+v", r)
	}
	// The explorer's worker list says why the worker does nothing.
	if ws := d.WorkerStatus(); len(ws) != 1 || ws[0].Name != "w1" || !strings.Contains(ws[0].Refused, "this worker serves other") {
		t.Errorf("worker status %+v, want w1 with its refusal", ws)
	}
}

// TestResultsOutliveTheDriver: results published while no driver listened are found by the
// next one instead of being recomputed.
func TestResultsOutliveTheDriver(t *testing.T) {
	l := &fakeLoader{checkpoint: "ck"}
	srv, d, _ := cluster(t, "", l)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	as := archs()
	for _, a := range as {
		if err := d.Submit(ctx, evaltest.Key(a), a); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range as {
		if _, err := d.Await(ctx, evaltest.Key(a)); err != nil {
			t.Fatal(err)
		}
	}
	d2, err := NewDispatcher(ctx, DispatcherOptions{URL: srv.URL(), Spec: Spec{Checkpoint: "ck", Data: "da", Limit: 37}})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	for _, a := range as {
		if err := d2.Submit(ctx, evaltest.Key(a), a); err != nil {
			t.Fatal(err)
		}
		if got, err := d2.Await(ctx, evaltest.Key(a)); err != nil || got.Top1 != fakeFitness(a).Top1 {
			t.Fatalf("second driver: %v %v", got, err)
		}
	}
	if d2.Reused() != len(as) || l.calls != len(as) {
		t.Fatalf("second driver reused %d results, workers evaluated %d times; want %d and %d", d2.Reused(), l.calls, len(as), len(as))
	}
}

// TestWrongTokenIsRefused: a client with a wrong or missing token cannot connect.
func TestWrongTokenIsRefused(t *testing.T) {
	srv, _, _ := cluster(t, "right")
	for _, tok := range []string{"wrong", ""} {
		_, _, err := Connect(srv.URL(), tok, "test")
		if err == nil || !strings.Contains(err.Error(), "refused the token") {
			t.Fatalf("token %q: %v, want a refusal", tok, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := RunWorker(ctx, WorkerOptions{URL: srv.URL(), Token: "wrong", Name: "intruder", Loader: &fakeLoader{}})
	if err == nil || !strings.Contains(err.Error(), "refused the token") {
		t.Fatalf("worker with a wrong token: %v", err)
	}
}

// TestServerListensOnLoopbackOnly: without Listen the broker is reachable on 127.0.0.1 only.
func TestServerListensOnLoopbackOnly(t *testing.T) {
	srv, err := StartServer(ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	tcp, ok := srv.Addr().(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		t.Fatalf("listens on %v, want a loopback address", srv.Addr())
	}
	if !strings.HasPrefix(srv.URL(), "nats://127.0.0.1:") {
		t.Fatalf("URL %s", srv.URL())
	}
	if _, err := StartServer(ServerOptions{Listen: "127.0.0.1:notaport", StoreDir: t.TempDir()}); err == nil {
		t.Fatal("a bad --listen was accepted")
	}
}

// BenchmarkRoundTrip is the broker's cost per candidate: submit, a worker's pull, its
// in-progress-free evaluation of nothing, the published result, the ack and the await.
// BenchmarkPoolRoundTrip is the in-process counterpart.
func BenchmarkRoundTrip(b *testing.B) {
	srv, err := StartServer(ServerOptions{StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	ctx, cancel := context.WithCancel(context.Background())
	d, err := NewDispatcher(ctx, DispatcherOptions{URL: srv.URL(), Spec: Spec{Checkpoint: "ck", Data: "da"}})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		RunWorker(ctx, WorkerOptions{URL: srv.URL(), Name: "bench", Loader: &fakeLoader{checkpoint: "ck"}})
	}()
	defer func() { cancel(); <-done; d.Close() }()
	a := archs()[0]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key := fmt.Sprintf("%d-%d", b.N, i)
		if err := d.Submit(ctx, key, a); err != nil {
			b.Fatal(err)
		}
		if _, err := d.Await(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPoolRoundTrip(b *testing.B) {
	p := evolution.NewPool(evolution.EvaluatorFunc(func(ctx context.Context, a model.Arch) (evolution.Fitness, error) {
		return fakeFitness(a), nil
	}), 1)
	defer p.Close()
	ctx := context.Background()
	a := archs()[0]
	for i := 0; i < b.N; i++ {
		key := fmt.Sprint(i)
		p.Submit(ctx, key, a)
		if _, err := p.Await(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFailedEvaluationIsRedone: a candidate whose evaluation failed on one worker is queued
// anew when it is submitted again (a resumed search) and evaluated by another worker; the
// stored failure neither counts as done for the workers nor makes the job a duplicate.
func TestFailedEvaluationIsRedone(t *testing.T) {
	srv, d, _ := cluster(t, "", &fakeLoader{checkpoint: "ck", failing: true})
	a := archs()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := d.Evaluate(ctx, a); err == nil || !strings.Contains(err.Error(), "out of memory") {
		t.Fatalf("first attempt: %v, want the worker's failure", err)
	}
	// A healthy worker joins; the failing one stays, so either may take the job: retry
	// until the healthy one has done it (the failing one fails it again otherwise).
	good := &fakeLoader{checkpoint: "ck"}
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		RunWorker(wctx, WorkerOptions{URL: srv.URL(), Name: "healthy", Loader: good})
	}()
	defer func() { stop(); <-done }()
	for {
		fit, err := d.Evaluate(ctx, a)
		if err == nil {
			if want := fakeFitness(a); fit.Top1 != want.Top1 || fit.Correct.Encode() != want.Correct.Encode() {
				t.Fatalf("redone result %+v, want %+v", fit, want)
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("the failed candidate was never redone: %v", err)
		}
	}
}

// TestWorkerRateCountsIdleHeartbeats: a worker finishing one evaluation every 20 s shows
// about 3 per minute, whatever its heartbeats in between (it used to show about 60).
func TestWorkerRateCountsIdleHeartbeats(t *testing.T) {
	var w WorkerInfo
	t0 := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	d := &Dispatcher{workers: map[string]*WorkerInfo{"slow": &w}}
	beat := func(at time.Duration, evals int) {
		d.observe(Status{V: ProtocolVersion, Worker: "slow", Evaluations: evals}, t0.Add(at))
	}
	evals := 0
	for s := 0; s <= 200; s++ {
		if s > 0 && s%20 == 0 {
			evals++
		}
		beat(time.Duration(s)*time.Second, evals)
	}
	got := d.workers["slow"].Rate(t0.Add(200 * time.Second))
	if got < 2.5 || got > 3.5 {
		t.Errorf("rate %.1f/min, want about 3", got)
	}
	// Silent for 5 minutes: at most one evaluation per 5 minutes.
	if got := d.workers["slow"].Rate(t0.Add(500 * time.Second)); got > 0.21 {
		t.Errorf("rate after 5 idle minutes %.2f/min, want ≤ 0.2", got)
	}
}

func TestJoinURL(t *testing.T) {
	host, _ := os.Hostname()
	for _, c := range []struct {
		addr string
		want string
	}{
		{"10.1.2.3:4222", "nats://10.1.2.3:4222"},
		{"0.0.0.0:4222", "nats://" + net.JoinHostPort(host, "4222")},
		{"[::]:5000", "nats://" + net.JoinHostPort(host, "5000")},
		{"driver.lab:4222", "nats://driver.lab:4222"},
	} {
		got := joinURL(fakeAddr(c.addr))
		if got != c.want {
			t.Errorf("joinURL(%s) = %s, want %s", c.addr, got, c.want)
		}
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }

package evolution

import (
	"context"
	"errors"
	"sync"

	"github.com/resnas/resnas/model"
)

// AsyncEvaluator is an Evaluator that can have several candidates in flight, such as a pool
// of workers behind a broker. The engine submits every queued candidate of the generation
// under way as soon as it is bred, then awaits the results one at a time in candidate order,
// so the journal, the history and every export are those of an in-process search with the
// same seed, whatever the number of workers and whichever finishes first.
//
// Keys are the engine's canonical keys: one key always names the same network, so a result
// is valid whenever its key comes up again (after a restart, after steering). Steering keeps
// replay exact because of this: candidates in flight when a steering action applies keep
// evaluating; those still queued are applied when the engine reaches them, and those the
// action dropped (a new window) are never applied. Pause and Stop only cancel the Await.
type AsyncEvaluator interface {
	Evaluator
	// Submit starts evaluating a under key. Submitting a key that is pending or done again
	// does nothing. ctx bounds the submission, not the evaluation.
	Submit(ctx context.Context, key string, a model.Arch) error
	// Await returns the result of the submitted key, blocking until it is ready or ctx ends
	// (ctx's error then). It may be called again for the same key.
	Await(ctx context.Context, key string) (Fitness, error)
}

// Pool runs an Evaluator on n goroutines behind the AsyncEvaluator interface: the
// in-process counterpart of a pool of remote workers, and the reference the conformance
// suite (evolution/evaltest) checks other implementations against.
type Pool struct {
	ev     Evaluator
	ctx    context.Context
	cancel context.CancelFunc
	jobs   chan poolJob
	wg     sync.WaitGroup

	mu      sync.Mutex
	results map[string]*poolResult
}

type poolJob struct {
	key string
	a   model.Arch
	r   *poolResult
}

type poolResult struct {
	done chan struct{}
	fit  Fitness
	err  error
}

// ErrNotSubmitted is Await's error for a key that was never submitted.
var ErrNotSubmitted = errors.New("evaluation was never submitted")

// NewPool starts n goroutines (at least one) evaluating with ev until Close.
func NewPool(ev Evaluator, n int) *Pool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool{ev: ev, ctx: ctx, cancel: cancel, jobs: make(chan poolJob, 1024), results: map[string]*poolResult{}}
	for range max(1, n) {
		p.wg.Add(1)
		go p.work()
	}
	return p
}

func (p *Pool) work() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case j := <-p.jobs:
			j.r.fit, j.r.err = p.ev.Evaluate(p.ctx, j.a)
			close(j.r.done)
		}
	}
}

// Evaluate evaluates a at once on the caller's goroutine.
func (p *Pool) Evaluate(ctx context.Context, a model.Arch) (Fitness, error) {
	return p.ev.Evaluate(ctx, a)
}

// Submit queues a under key.
func (p *Pool) Submit(ctx context.Context, key string, a model.Arch) error {
	p.mu.Lock()
	if _, ok := p.results[key]; ok {
		p.mu.Unlock()
		return nil
	}
	r := &poolResult{done: make(chan struct{})}
	p.results[key] = r
	p.mu.Unlock()
	select {
	case p.jobs <- poolJob{key: key, a: a.Clone(), r: r}:
		return nil
	case <-p.ctx.Done():
		return errors.New("evaluator pool closed")
	case <-ctx.Done():
		p.mu.Lock()
		delete(p.results, key)
		p.mu.Unlock()
		return ctx.Err()
	}
}

// Await waits for key's result.
func (p *Pool) Await(ctx context.Context, key string) (Fitness, error) {
	p.mu.Lock()
	r, ok := p.results[key]
	p.mu.Unlock()
	if !ok {
		return Fitness{}, ErrNotSubmitted
	}
	select {
	case <-r.done:
		return r.fit, r.err
	case <-ctx.Done():
		return Fitness{}, ctx.Err()
	case <-p.ctx.Done():
		return Fitness{}, errors.New("evaluator pool closed")
	}
}

// Close cancels the evaluations under way and waits for the goroutines.
func (p *Pool) Close() {
	p.cancel()
	p.wg.Wait()
}

// Package evaltest is the conformance suite of evolution.AsyncEvaluator: the in-process
// evolution.Pool and the distributed dispatcher run the same checks, as gonum's testblas
// checks every BLAS.
package evaltest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/model"
)

// Key names a in the suite's submissions (any injective naming will do).
func Key(a model.Arch) string { return a.String() }

// Test checks ev on archs (at least two, distinct), whose results must equal want's: each
// result arrives whatever order it is awaited in, with its per-image bits; a key submitted
// again is not an error and keeps its result; an Await whose context ends returns that
// context's error and may be retried; an unknown key is an error, not a hang.
func Test(t *testing.T, ev evolution.AsyncEvaluator, archs []model.Arch, want func(model.Arch) evolution.Fitness) {
	t.Helper()
	if len(archs) < 2 {
		t.Fatal("evaltest: give at least two architectures")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, a := range archs {
		if err := ev.Submit(ctx, Key(a), a); err != nil {
			t.Fatalf("Submit(%s): %v", Key(a), err)
		}
	}
	// A second submission of the first key changes nothing.
	if err := ev.Submit(ctx, Key(archs[0]), archs[0]); err != nil {
		t.Fatalf("Submit of a submitted key: %v", err)
	}
	// An Await that gives up returns its context's error.
	short, stop := context.WithCancel(ctx)
	stop()
	if _, err := ev.Await(short, Key(archs[len(archs)-1])); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Await with a cancelled context: %v, want context.Canceled or the result", err)
	}
	// Awaited last first, then in order; the first key twice.
	order := []int{len(archs) - 1}
	for i := range archs {
		order = append(order, i)
	}
	order = append(order, 0)
	for _, i := range order {
		a := archs[i]
		got, err := ev.Await(ctx, Key(a))
		if err != nil {
			t.Fatalf("Await(%s): %v", Key(a), err)
		}
		if err := same(got, want(a)); err != nil {
			t.Fatalf("Await(%s): %v", Key(a), err)
		}
	}
	// The synchronous path agrees.
	got, err := ev.Evaluate(ctx, archs[0])
	if err != nil {
		t.Fatalf("Evaluate(%s): %v", Key(archs[0]), err)
	}
	if err := same(got, want(archs[0])); err != nil {
		t.Fatalf("Evaluate(%s): %v", Key(archs[0]), err)
	}
	unknown, stop2 := context.WithTimeout(ctx, 5*time.Second)
	defer stop2()
	if _, err := ev.Await(unknown, "never-submitted"); err == nil {
		t.Fatal("Await of a key never submitted returned a result")
	} else if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("Await of a key never submitted blocked instead of failing")
	}
}

func same(got, want evolution.Fitness) error {
	if got.Top1 != want.Top1 || got.Top5 != want.Top5 || got.Images != want.Images {
		return fmt.Errorf("got top-1 %v top-5 %v on %d images, want %v %v on %d", got.Top1, got.Top5, got.Images, want.Top1, want.Top5, want.Images)
	}
	if !got.Correct.Equal(want.Correct) {
		return fmt.Errorf("per-image results differ: got %q, want %q", got.Correct.Encode(), want.Correct.Encode())
	}
	return nil
}

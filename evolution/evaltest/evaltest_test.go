package evaltest

import (
	"context"
	"testing"

	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/stats"
	"github.com/resnas/resnas/supernet"
)

// TestSuiteOnPool: the in-process pool, the reference implementation, passes the suite.
func TestSuiteOnPool(t *testing.T) {
	sp, _ := supernet.Lookup("dev-small")
	archs := []model.Arch{sp.Max(), sp.Min()}
	ev := evolution.EvaluatorFunc(func(ctx context.Context, a model.Arch) (evolution.Fitness, error) {
		c := stats.NewBitset(4)
		c.Set(len(a.String()) % 4)
		return evolution.Fitness{Top1: float64(len(a.String()) % 97), Top5: 99, Images: 4, Correct: c}, ctx.Err()
	})
	p := evolution.NewPool(ev, 2)
	defer p.Close()
	Test(t, p, archs, func(a model.Arch) evolution.Fitness { f, _ := ev(context.Background(), a); return f })
}

// TestSameTellsResultsApart: the suite's comparison notices every field it promises to.
func TestSameTellsResultsApart(t *testing.T) {
	bits := stats.NewBitset(4)
	bits.Set(1)
	base := evolution.Fitness{Top1: 50, Top5: 90, Images: 4, Correct: bits}
	if err := same(base, base); err != nil {
		t.Fatalf("equal results: %v", err)
	}
	other := stats.NewBitset(4)
	other.Set(2)
	for name, f := range map[string]evolution.Fitness{
		"top-1":     {Top1: 51, Top5: 90, Images: 4, Correct: bits},
		"top-5":     {Top1: 50, Top5: 91, Images: 4, Correct: bits},
		"images":    {Top1: 50, Top5: 90, Images: 5, Correct: bits},
		"per-image": {Top1: 50, Top5: 90, Images: 4, Correct: other},
	} {
		if same(f, base) == nil {
			t.Errorf("a different %s went unnoticed", name)
		}
	}
}

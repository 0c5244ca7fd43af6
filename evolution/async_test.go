package evolution_test

import (
	"context"
	"testing"

	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/evolution/evaltest"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// TestPoolConforms runs the in-process pool through the AsyncEvaluator suite.
func TestPoolConforms(t *testing.T) {
	sp, _ := supernet.Lookup("fmnist")
	archs := []model.Arch{sp.Max(), sp.Min()}
	mid := sp.Max()
	mid.Layers[1].Exists = false
	archs = append(archs, mid)
	ev := evolution.EvaluatorFunc(func(ctx context.Context, a model.Arch) (evolution.Fitness, error) {
		return evolution.Fitness{Top1: float64(len(a.String()) % 97), Top5: 99, Images: 3}, ctx.Err()
	})
	want := func(a model.Arch) evolution.Fitness { f, _ := ev(context.Background(), a); return f }
	p := evolution.NewPool(ev, 2)
	defer p.Close()
	evaltest.Test(t, p, archs, want)
}

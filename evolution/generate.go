package evolution

import (
	"context"
	"fmt"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/supernet"
)

// maxDraws bounds the architectures drawn for one random candidate. The reference loops
// forever on an infeasible window; a window this hard to hit is better widened than waited on.
const maxDraws = 1_000_000

// maxOperatorTries bounds the redraws of one mutation or crossover until its child fits the
// constraints (the reference redraws without bound).
const maxOperatorTries = 1000

// generator draws candidates inside the constraints. It owns the search's random stream: every
// draw happens in the engine goroutine in an order that depends only on the seed, the
// fitnesses and the steering actions, never on timing or on where a fitness came from.
type generator struct {
	space *supernet.Space
	max   model.Arch
	in    model.Input
	r     rng
	cons  Constraints
	// throughput returns the measured throughput of a, cached per architecture; nil without
	// a meter, in which case cons.MinThroughput is 0.
	throughput func(ctx context.Context, a model.Arch) (float64, error)
}

// over reports whether a breaks an upper bound that shrinking can fix (MACs or params).
func (g *generator) over(a model.Arch) bool {
	return (g.cons.MaxMACs > 0 && profiler.MACs(a, g.in) > g.cons.MaxMACs) ||
		(g.cons.MaxParams > 0 && profiler.Params(a, g.in) > g.cons.MaxParams)
}

// fits reports whether a satisfies every constraint; throughput is measured (once) only for
// candidates that pass the cheap bounds.
func (g *generator) fits(ctx context.Context, a model.Arch) (bool, error) {
	if m := profiler.MACs(a, g.in); m < g.cons.MinMACs || (g.cons.MaxMACs > 0 && m > g.cons.MaxMACs) {
		return false, nil
	}
	if g.cons.MaxParams > 0 && profiler.Params(a, g.in) > g.cons.MaxParams {
		return false, nil
	}
	if g.cons.MinThroughput > 0 {
		t, err := g.throughput(ctx, a)
		if err != nil {
			return false, err
		}
		return t >= g.cons.MinThroughput, nil
	}
	return true, nil
}

// random is the reference's gen_random_network_def generalised to all constraints: draw the
// widths and depths with heads and MLP at their largest until MACs reach the floor, shrink
// heads and MLP (later also widths and depth) until under the ceilings, and start over if the
// result left the window. Without a MACs ceiling every gene is drawn uniformly instead.
func (g *generator) random(ctx context.Context) (model.Arch, error) {
	draws := 0
	var a model.Arch // scratch for the draws; cloned when one is kept
	draw := func() error {
		if draws >= maxDraws {
			return fmt.Errorf("no random architecture of space %s satisfies %v after %d draws: widen the constraints", g.space.Name, g.cons, maxDraws)
		}
		if draws++; draws%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if g.cons.MaxMACs == 0 {
			a = sampleUniform(g.r, g.space, g.max)
		} else {
			sampleWidthsDepth(g.r, g.space, g.max, &a)
		}
		return nil
	}
	for {
		if err := draw(); err != nil {
			return model.Arch{}, err
		}
		if g.cons.MaxMACs > 0 {
			for profiler.MACs(a, g.in) < g.cons.MinMACs {
				if err := draw(); err != nil {
					return model.Arch{}, err
				}
			}
		}
		c, ok := reduceConstraint(g.r, g.space, a.Clone(), g.over)
		if !ok {
			continue
		}
		ok, err := g.fits(ctx, c)
		if err != nil {
			return model.Arch{}, err
		}
		if ok {
			return c, nil
		}
	}
}

// mutation redraws Mutate(parent) until the child fits, as mutate_network_def does; false if
// maxOperatorTries children all broke a constraint.
func (g *generator) mutation(ctx context.Context, parent model.Arch, p float64) (model.Arch, bool, error) {
	for range maxOperatorTries {
		a := mutate(g.r, g.space, parent, p)
		if ok, err := g.fits(ctx, a); err != nil || ok {
			return a, ok, err
		}
	}
	return model.Arch{}, false, nil
}

// crossover redraws Crossover(a, b) until the child fits, as crossover_network_def does.
func (g *generator) crossover(ctx context.Context, a, b model.Arch, p float64) (model.Arch, bool, error) {
	for range maxOperatorTries {
		c := crossover(g.r, g.space, a, b, p)
		if ok, err := g.fits(ctx, c); err != nil || ok {
			return c, ok, err
		}
	}
	return model.Arch{}, false, nil
}

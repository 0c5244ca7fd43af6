// Package evolution is resnas's evolutionary architecture search over a weight-sharing
// supernet: the reference's algorithm (reference.md §7) with constraints on MACs, parameters
// and measured throughput, a live Pareto front, steering while it runs, and an append-only
// journal that makes every search resumable and reproducible.
package evolution

import (
	"errors"
	"fmt"
	"math"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/supernet"
)

// ReferenceWindowRatio is the reference's lower MACs bound as a fraction of the ceiling
// (_EVOLVE_NETWORK_DEF_RESORUCE_LOWER_BOUND): candidates have 0.975·C ≤ MACs ≤ C.
const ReferenceWindowRatio = 0.975

// Constraints bound the candidates a search generates; a zero field is no bound.
type Constraints struct {
	MinMACs       int64   `json:"min_macs,omitempty"`
	MaxMACs       int64   `json:"max_macs,omitempty"`
	MaxParams     int64   `json:"max_params,omitempty"`
	MinThroughput float64 `json:"min_throughput,omitempty"` // images/s, as the Throughput meter measures it
}

// MACsWindow returns the reference's constraint [ratio·c, c] on MACs (ratio 0.975 there).
func MACsWindow(c int64, ratio float64) Constraints {
	return Constraints{MinMACs: int64(math.Ceil(ratio * float64(c))), MaxMACs: c}
}

// String is a short description for status lines and errors.
func (c Constraints) String() string {
	s := ""
	add := func(part string) {
		if s != "" {
			s += ", "
		}
		s += part
	}
	if c.MinMACs > 0 || c.MaxMACs > 0 {
		hi := "∞"
		if c.MaxMACs > 0 {
			hi = fmt.Sprint(c.MaxMACs)
		}
		add(fmt.Sprintf("MACs in [%d, %s]", c.MinMACs, hi))
	}
	if c.MaxParams > 0 {
		add(fmt.Sprintf("params ≤ %d", c.MaxParams))
	}
	if c.MinThroughput > 0 {
		add(fmt.Sprintf("throughput ≥ %g img/s", c.MinThroughput))
	}
	if s == "" {
		return "unconstrained"
	}
	return s
}

// check validates c for space s at input in: the bounds are ordered and the space has at
// least one architecture inside the MACs and parameter bounds. meter says whether a
// throughput bound can be measured.
func (c Constraints) check(s *supernet.Space, in model.Input, meter bool) error {
	switch {
	case c.MinMACs < 0 || c.MaxMACs < 0 || c.MaxParams < 0 || c.MinThroughput < 0:
		return errors.New("constraints: bounds must not be negative")
	case c.MaxMACs > 0 && c.MinMACs > c.MaxMACs:
		return fmt.Errorf("constraints: min MACs %d is above max MACs %d: swap them", c.MinMACs, c.MaxMACs)
	case c.MinThroughput > 0 && !meter:
		return errors.New("constraints: a minimum throughput needs a throughput meter: give one or drop the bound")
	}
	small, large := s.Min(), s.Max()
	if m := profiler.MACs(small, in); c.MaxMACs > 0 && m > c.MaxMACs {
		return fmt.Errorf("constraints: max MACs %d is below the smallest architecture of space %s (%d MACs): raise it", c.MaxMACs, s.Name, m)
	}
	if m := profiler.MACs(large, in); c.MinMACs > m {
		return fmt.Errorf("constraints: min MACs %d is above the largest architecture of space %s (%d MACs): lower it", c.MinMACs, s.Name, m)
	}
	if p := profiler.Params(small, in); c.MaxParams > 0 && p > c.MaxParams {
		return fmt.Errorf("constraints: max params %d is below the smallest architecture of space %s (%d params): raise it", c.MaxParams, s.Name, p)
	}
	return nil
}

// Options are a search's settings. They are stored in the journal header; a resumed search
// must use the same ones, except Generations, which may grow to extend a finished search.
type Options struct {
	Seed          uint64      `json:"seed"`
	Population    int         `json:"population"`  // candidates of iteration 0, sampled at random
	Generations   int         `json:"generations"` // iterations, the random one included
	Parents       int         `json:"parents"`     // top of the whole history that breeds
	Mutations     int         `json:"mutations"`   // mutants per later iteration
	Crossovers    int         `json:"crossovers"`  // crossover children per later iteration
	MutationProb  float64     `json:"mutation_prob"`
	CrossoverProb float64     `json:"crossover_prob"` // per gene, from the second parent
	Constraints   Constraints `json:"constraints"`
	Input         model.Input `json:"input"` // geometry for MACs and params; the space's if zero
	// Strategy is StrategyEvolution (also when empty) or StrategyRandom: the baseline that
	// draws every candidate at random under the same constraints, as many as evolution
	// evaluates (Evaluations), so the two can be compared for the same cost.
	Strategy string `json:"strategy,omitempty"`
	// Prescreen K > 0 breeds K× the usual candidates in every generation after the first,
	// ranks them by the upper confidence bound mean + PrescreenKappa·std of a predictor
	// (package predict) trained on every architecture measured so far in this search, and
	// measures only the usual number; each measured one records its prediction. K = 1 ranks
	// nothing but still records predictions. A generation with fewer than predict.MinPoints
	// measured architectures behind it is bred as without prescreening.
	Prescreen      int     `json:"prescreen,omitempty"`
	PrescreenKappa float64 `json:"prescreen_kappa,omitempty"`
}

// DefaultPrescreenKappa weighs the predictor's standard deviation in the prescreen's upper
// confidence bound: one standard deviation of optimism for what it knows little about.
const DefaultPrescreenKappa = 1

// Search strategies.
const (
	StrategyEvolution = "evolution"
	StrategyRandom    = "random"
)

// DefaultOptions are sized for the shipped 32 px Fashion-MNIST supernet: 40 random candidates
// then 5 generations of 10 mutants and 10 crossovers, 140 evaluations, which is 4.7 minutes at
// the 30 evaluations per minute two cores manage there (breeding them takes milliseconds).
// They keep the reference's shape: the random start is under a third of the budget, there are
// as many mutants as crossovers, p = 0.3 per gene and 0.5 per crossover gene, and the parents
// (10) are as many as the mutants; from a population of 40 that is 25% (the reference's 75 of
// 500 is 15%), so that a search this short does not collapse onto a handful of parents.
// Constraints are left to the caller (see MACsWindow).
func DefaultOptions() Options {
	return Options{Population: 40, Generations: 6, Parents: 10, Mutations: 10, Crossovers: 10,
		MutationProb: 0.3, CrossoverProb: 0.5}
}

// ReferenceOptions are evo_search.py's defaults, identical in all its scripts, for MACs
// ceiling c: 500 random candidates, 20 iterations, 75 parents, 75 mutants and 75 crossovers,
// and the window [0.975·c, c]. That is 3,350 evaluations.
func ReferenceOptions(c int64) Options {
	return Options{Population: 500, Generations: 20, Parents: 75, Mutations: 75, Crossovers: 75,
		MutationProb: 0.3, CrossoverProb: 0.5, Constraints: MACsWindow(c, ReferenceWindowRatio)}
}

// Evaluations is how many candidates a search with these options evaluates, injections aside.
func (o Options) Evaluations() int {
	if o.Generations < 1 {
		return 0
	}
	return o.Population + (o.Generations-1)*(o.Mutations+o.Crossovers)
}

func (o Options) check() error {
	switch {
	case o.Population < 1:
		return fmt.Errorf("options: population %d: must be at least 1", o.Population)
	case o.Generations < 1:
		return fmt.Errorf("options: generations %d: must be at least 1", o.Generations)
	case o.Generations > 1 && o.Parents < 1:
		return fmt.Errorf("options: parents %d: must be at least 1", o.Parents)
	case o.Mutations < 0 || o.Crossovers < 0 || (o.Generations > 1 && o.Mutations+o.Crossovers < 1):
		return fmt.Errorf("options: %d mutations and %d crossovers: a generation needs at least one child", o.Mutations, o.Crossovers)
	case !(o.MutationProb >= 0 && o.MutationProb <= 1):
		return fmt.Errorf("options: mutation probability %g: must be in [0, 1]", o.MutationProb)
	case !(o.CrossoverProb >= 0 && o.CrossoverProb <= 1):
		return fmt.Errorf("options: crossover probability %g: must be in [0, 1]", o.CrossoverProb)
	case o.strategy() != StrategyEvolution && o.strategy() != StrategyRandom:
		return fmt.Errorf("options: strategy %q: want %s or %s", o.Strategy, StrategyEvolution, StrategyRandom)
	case o.Prescreen < 0:
		return fmt.Errorf("options: prescreen %d: must be 0 (off) or a multiple of the offspring, at least 1", o.Prescreen)
	case !(o.PrescreenKappa >= 0) || math.IsInf(o.PrescreenKappa, 0):
		return fmt.Errorf("options: prescreen kappa %g: must be a non-negative number", o.PrescreenKappa)
	case o.Input.Size <= 0 || o.Input.Channels <= 0 || o.Input.Patch <= 0:
		return fmt.Errorf("options: input %+v: size, channels and patch must be positive", o.Input)
	}
	return nil
}

// strategy is Strategy with the default spelled out.
func (o Options) strategy() string {
	if o.Strategy == "" {
		return StrategyEvolution
	}
	return o.Strategy
}

// diff names the first setting in which o differs from the journal's j; Generations may differ.
func (o Options) diff(j Options) string {
	type field struct {
		name     string
		got, was any
	}
	for _, f := range []field{
		{"seed", o.Seed, j.Seed},
		{"population", o.Population, j.Population},
		{"parents", o.Parents, j.Parents},
		{"mutations", o.Mutations, j.Mutations},
		{"crossovers", o.Crossovers, j.Crossovers},
		{"mutation probability", o.MutationProb, j.MutationProb},
		{"crossover probability", o.CrossoverProb, j.CrossoverProb},
		{"constraints", o.Constraints, j.Constraints},
		{"strategy", o.strategy(), j.strategy()},
		{"prescreen", o.Prescreen, j.Prescreen},
		{"prescreen kappa", o.PrescreenKappa, j.PrescreenKappa},
		{"input", o.Input, j.Input},
	} {
		if f.got != f.was {
			return fmt.Sprintf("%s %v, the journal was written with %v", f.name, f.got, f.was)
		}
	}
	return ""
}

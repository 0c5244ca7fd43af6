package workbench

import (
	"time"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/stats"
)

// The values the explorer's services exchange. They live here, below tui, so the services
// of this package can produce them; tui names them in its service interfaces.

// Estimate is a top-1 accuracy measured on the first Images images of the evaluation set.
type Estimate struct {
	Top1   float64 // percent
	CI95   float64 // half-width of the 95% confidence interval, percentage points
	Images int     // images used
	Final  bool    // true when the whole evaluation set was used
	// Correct marks the images of the first Images whose top-1 prediction was right, for
	// paired comparisons; zero when the evaluator does not report it.
	Correct stats.Bitset
}

// EvalRequest asks for one evaluation.
type EvalRequest struct {
	Arch          model.Arch
	Limit         int  // images to use; 0 means the whole evaluation set
	RecalibrateBN bool // recompute BatchNorm statistics for this sub-network first
}

// Rate is a measured inference throughput.
type Rate struct {
	ImagesPerSec float64
	Spread       float64 // (max-min)/median over the timed repeats, as profiler.Throughput has it
}

// Budget bounds a search started in the explorer.
type Budget struct {
	MaxMACs     int64 // candidates must not exceed this; 0 means unconstrained
	Generations int   // generations to run, the random first one included
}

// SearchEventKind tells what a SearchEvent reports.
type SearchEventKind int

const (
	// SearchEvaluated: one candidate was scored (Arch, Estimate).
	SearchEvaluated SearchEventKind = iota
	// SearchGeneration: generation Generation finished. The explorer derives best and
	// median from the SearchEvaluated events, under the budget it shows.
	SearchGeneration
	// SearchNotice: something the user should read (Err); the search goes on.
	SearchNotice
	// SearchFailed: the search ended on an error (Err); the channel closes next.
	SearchFailed
	// SearchWorkers: the workers evaluating the search's candidates, as of now (Workers);
	// sent every few seconds while a distributed search runs.
	SearchWorkers
)

// WorkerStatus is what the driver knows of one worker of a distributed search.
type WorkerStatus struct {
	Name, Device string
	PerMinute    float64   // evaluations per minute
	Current      string    // network_def under evaluation; "" when idle
	LastSeen     time.Time // last heartbeat
	Silent       bool      // no heartbeat for a while: its work moves on to the others
	Refused      string    // why it refused its latest job, since its last evaluation; "" when none
}

// WorkerReporter is an evaluator whose work is spread over workers (distributed.Dispatcher).
type WorkerReporter interface {
	WorkerStatus() []WorkerStatus
}

// SearchEvent is one step of a running search. Done and Total count evaluations and are
// set on every event.
type SearchEvent struct {
	Kind           SearchEventKind
	Generation     int // 0-based; generation 0 is the random population
	Arch           model.Arch
	Estimate       Estimate // of Arch; Final when scored on the whole evaluation set
	RecalibratedBN bool     // the BN mode Estimate was measured in
	ImagesPerSec   float64  // throughput of Arch when the search measured it; 0 otherwise
	Done, Total    int
	Err            error
	Workers        []WorkerStatus // SearchWorkers
}

// SubnetRecord is what the explorer knows about a sub-network it exports.
type SubnetRecord struct {
	Arch           model.Arch
	Checkpoint     string
	Input          model.Input
	MACs, Params   int64
	Estimate       Estimate // zero when never evaluated
	BNRecalibrated bool
	Rate           Rate // zero when never measured
}

// Equal reports whether e and o are the same measurement, per-image results included.
func (e Estimate) Equal(o Estimate) bool {
	return e.Top1 == o.Top1 && e.CI95 == o.CI95 && e.Images == o.Images && e.Final == o.Final && e.Correct.Equal(o.Correct)
}

package tui

import (
	"context"
	"time"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// The explorer talks to the engines only through the interfaces in this file, so it can be
// tested with fakes (style.md §5 "Fakes sit at the service boundary") and so main can wire
// whichever backend it built. Every method may be called from a tea.Cmd goroutine while
// another call is still running; implementations must be safe for that and must return
// promptly once their context is cancelled.

// Estimate is a top-1 accuracy measured on the first Images images of the sub-val set.
type Estimate struct {
	Top1   float64 // percent
	CI95   float64 // half-width of the 95% confidence interval, percentage points
	Images int     // images used
	Final  bool    // true when the whole sub-val set was used
}

// EvalRequest asks for one evaluation.
type EvalRequest struct {
	Arch          model.Arch
	Limit         int  // images to use; 0 means the whole sub-val set
	RecalibrateBN bool // recompute BatchNorm statistics for this sub-network first
}

// Evaluator scores sub-networks of the supernet.
type Evaluator interface {
	Evaluate(ctx context.Context, req EvalRequest) (Estimate, error)
}

// Rate is a measured inference throughput.
type Rate struct {
	ImagesPerSec float64
	Spread       float64 // (max-min)/median over the timed repeats, as profiler.Throughput has it
}

// Throughput measures inference speed on the device the tool runs on.
type Throughput interface {
	Measure(ctx context.Context, arch model.Arch) (Rate, error)
}

// Budget bounds a search.
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
)

// SearchEvent is one step of a running search. Done and Total count evaluations and are
// set on every event.
type SearchEvent struct {
	Kind           SearchEventKind
	Generation     int // 0-based; generation 0 is the random population
	Arch           model.Arch
	Estimate       Estimate // of Arch; Final when scored on the whole sub-val set
	RecalibratedBN bool     // the BN mode Estimate was measured in
	ImagesPerSec   float64  // throughput of Arch when the search measured it; 0 otherwise
	Done, Total    int
	Err            error
}

// Searcher runs one evolutionary search at a time. Start returns a channel of events that
// is closed when the search ends (finished, stopped, or its context cancelled), after the
// search has flushed its journal. The other methods act on the running search.
type Searcher interface {
	Start(ctx context.Context, b Budget) (<-chan SearchEvent, error)
	Pause() error
	Resume() error
	Stop() error
	Inject(arch model.Arch) error
	SetBudget(b Budget) error
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

// Exporter writes a sub-network's sliced weights, its network_def and its metrics into dir
// and returns the paths it wrote.
type Exporter interface {
	ExportSubnet(ctx context.Context, dir string, rec SubnetRecord) ([]string, error)
}

// Clock gives the time for rates and ETAs; tests pass a fixed one.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Preset is a named architecture offered by the editor's preset key.
type Preset struct {
	Name string
	Arch model.Arch
}

// Options configure the explorer. Space is required; a nil service turns its keys off, and
// the status line says why when such a key is pressed.
type Options struct {
	Space *supernet.Space
	Input model.Input // zero: Space.Input

	Evaluator  Evaluator
	Throughput Throughput
	Searcher   Searcher
	Exporter   Exporter
	Clock      Clock // nil: SystemClock

	Initial        model.Arch // zero: the space's largest architecture
	CheckpointName string     // shown in the title and stored in exports
	Compute        string     // where sub-networks run, shown in the title, e.g. "cpu/openblas"
	Presets        []Preset   // besides largest, smallest and random
	Seed           uint64     // seeds the random-architecture key

	QuickImages int    // images of the first, quick estimate; 0: 256
	Generations int    // default generations offered when starting a search; 0: 20
	ExportDir   string // default export folder offered; "": "resnas-export"

	// CopyText puts text on the system clipboard (y yanks the network_def); nil keeps it
	// inside the explorer only, for P to paste.
	CopyText func(string) error

	// Context bounds every background job; nil: context.Background(). Cancelling it stops
	// evaluations and the search, as quitting does.
	Context context.Context
}

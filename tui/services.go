package tui

import (
	"context"
	"time"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
	"github.com/resnas/resnas/workbench"
)

// The explorer talks to the engines only through the interfaces in this file, so it can be
// tested with fakes (style.md §5 "Fakes sit at the service boundary") and so main can wire
// whichever backend it built. Every method may be called from a tea.Cmd goroutine while
// another call is still running; implementations must be safe for that and must return
// promptly once their context is cancelled.

// The values exchanged with the services are workbench's, which implements them for main.
type (
	Estimate        = workbench.Estimate
	EvalRequest     = workbench.EvalRequest
	Rate            = workbench.Rate
	Budget          = workbench.Budget
	SearchEventKind = workbench.SearchEventKind
	SearchEvent     = workbench.SearchEvent
	SubnetRecord    = workbench.SubnetRecord
	WorkerStatus    = workbench.WorkerStatus
)

// The kinds of SearchEvent.
const (
	SearchEvaluated  = workbench.SearchEvaluated
	SearchGeneration = workbench.SearchGeneration
	SearchNotice     = workbench.SearchNotice
	SearchFailed     = workbench.SearchFailed
	SearchWorkers    = workbench.SearchWorkers
)

// Evaluator scores sub-networks of the supernet.
type Evaluator interface {
	Evaluate(ctx context.Context, req EvalRequest) (Estimate, error)
}

// ImageCounter is an Evaluator that knows the size of its evaluation set (workbench.Session
// does): while a full estimate runs, the status line then says how long it has left, from
// the pace of the quick one.
type ImageCounter interface {
	Images() int
}

// Throughput measures inference speed on the device the tool runs on.
type Throughput interface {
	Measure(ctx context.Context, arch model.Arch) (Rate, error)
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

// Exporter writes a sub-network's sliced weights, its network_def and its metrics into dir
// and returns the paths it wrote.
type Exporter interface {
	ExportSubnet(ctx context.Context, dir string, rec SubnetRecord) ([]string, error)
}

// Predictor predicts top-1 from the architecture alone, from what it has learnt of measured
// networks (workbench.Predictions). Start reads what it learns from before the session and
// may do file IO; it is called once, from a tea.Cmd, and ctx ends its background work.
// Observe gives it a top-1 measured on the whole evaluation set with the BN as trained; it
// must be cheap and leave refitting to the background. Predict must answer within
// microseconds, as the explorer calls it in Update on every edit; ok is false while it
// knows too little, and then nothing is shown. Status says in one line what it is trained
// on and how well it ranks. Updates delivers a notice whenever Predict or Status may answer
// differently; notices may be merged.
type Predictor interface {
	Start(ctx context.Context) error
	Observe(arch model.Arch, top1 float64)
	Predict(arch model.Arch) (mean, std float64, ok bool)
	Status() string
	Updates() <-chan struct{}
}

// Clock gives the time for rates and ETAs; tests pass a fixed one.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Preset is a named architecture offered by the editor's preset key.
type Preset = supernet.NamedArch

// Options configure the explorer. Space is required; a nil service turns its keys off, and
// the status line says why when such a key is pressed.
type Options struct {
	Space *supernet.Space
	Input model.Input // zero: Space.Input

	Evaluator  Evaluator
	Throughput Throughput
	Searcher   Searcher
	Exporter   Exporter
	Predictor  Predictor // nil: no predicted top-1
	Clock      Clock     // nil: SystemClock

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

// workbench.Predictions is the explorer's predictor.
var _ Predictor = (*workbench.Predictions)(nil)

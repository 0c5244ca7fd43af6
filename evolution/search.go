package evolution

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// maxNonNovel is how many consecutive already-seen candidates a generation refuses before it
// accepts a duplicate (_CROSSOVER_SKIP_CHECKING_THRESHOLD in the reference, which applies it
// to crossovers only; here it also ends the endless loops of random sampling and mutation in
// a small space).
const maxNonNovel = 100

// maxOperatorFailures is how many mutations or crossovers in a row may find no child inside
// the constraints (each after maxOperatorTries draws) before a slot is filled at random. It
// only happens when the constraints changed under the parents or the window is tiny.
const maxOperatorFailures = 10

// Config describes a search.
type Config struct {
	Space      *supernet.Space
	Evaluator  Evaluator
	Throughput Throughput // optional: measured for every evaluated architecture when set
	Options    Options

	// Journal is the path of the search's journal: created when missing or empty, replayed
	// when it exists. "" keeps the search in memory only.
	Journal    string
	Checkpoint string            // sha256 of the supernet checkpoint; a journal of another is refused
	Data       string            // hash of the evaluation data manifest; likewise
	Meta       map[string]string // evaluator settings recorded in the journal header, for the record
	// Scoring are the evaluator settings that change scores (images per candidate, BN mode,
	// which weights): recorded in the header's meta like Meta, and compared on resume, since
	// a journal mixing scores of two settings would rank them against each other.
	Scoring map[string]string

	// OutputDir, when set, receives summary.txt, search.csv and search.jsonl after every
	// generation and when the search ends.
	OutputDir string

	Clock       func() time.Time // for evaluations per minute; time.Now when nil
	EventBuffer int              // events held for a slow consumer before they drop; 256 when 0
}

// State is where a search is.
type State int

const (
	StateIdle      State = iota // created, not started
	StateReplaying              // re-deriving the journaled part of the search
	StateRunning
	StatePaused
	StateStopped  // stopped or cancelled: the journal resumes it
	StateFinished // every generation evaluated
	StateFailed   // an evaluator or journal error ended it
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateReplaying:
		return "replaying"
	case StateRunning:
		return "running"
	case StatePaused:
		return "paused"
	case StateStopped:
		return "stopped"
	case StateFinished:
		return "finished"
	case StateFailed:
		return "failed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// EventKind says which field of an Event is set.
type EventKind int

const (
	EventEvaluated  EventKind = iota + 1 // Record: a new evaluation
	EventGeneration                      // Summary: a generation finished
	EventState                           // State (and Err when failed): the search changed state
	EventSteered                         // Action: the engine applied a steering action
	EventWarning                         // Message
)

// Event is one notice from a running search. Events are a convenience: when the consumer is
// slow they are dropped, and Dropped on the next delivered event says how many, so that the
// consumer re-reads the search (Search.Records or the journal), which is the source of truth.
type Event struct {
	Kind     EventKind
	Record   Record
	Summary  GenerationSummary
	State    State
	Err      error
	Action   Action
	Message  string
	Replayed bool // the record or summary was re-derived from the journal
	Dropped  int  // events dropped just before this one
}

// Snapshot is a consistent copy of a search's public state.
type Snapshot struct {
	State        State
	Generation   int // under way or last finished; -1 before the first
	Evaluated    int
	Constraints  Constraints
	MutationProb float64
	Front        []Record // in evaluation order
	Summaries    []GenerationSummary
	Best         *Record // nil before the first evaluation
}

// Search is an evolutionary search. Start it with Run or Start; the steering methods are safe
// from any goroutine while it runs.
type Search struct {
	cfg    Config
	opts   Options
	header Header
	max    model.Arch
	replay *journalFile // the journal to re-derive; nil or empty for a new search
	clock  func() time.Time
	events chan Event
	wake   chan struct{} // one pending signal: the steering queue changed
	done   chan struct{}

	mu         sync.Mutex
	pending    []Action // steering calls the engine has not applied yet
	cancelEval context.CancelFunc
	started    bool
	ended      bool
	err        error
	state      State
	gen        int
	records    []Record
	front      Front
	summaries  []GenerationSummary
	cons       Constraints
	mutProb    float64
	best       int // index of the best record, -1 when none
}

// errStopped ends the engine loop on a Stop call.
var errStopped = errors.New("search stopped")

// errInterrupted means Pause or Stop cancelled the evaluation under way; it is not recorded.
var errInterrupted = errors.New("evaluation interrupted")

// ErrEnded is returned by steering calls on a search that is over.
var ErrEnded = errors.New("the search has ended")

// New checks cfg and, when its journal exists, reads it and checks that it belongs to this
// checkpoint, space, data and options.
func New(cfg Config) (*Search, error) {
	if cfg.Space == nil {
		return nil, errors.New("search: no search space")
	}
	if cfg.Evaluator == nil {
		return nil, errors.New("search: no evaluator")
	}
	if err := cfg.Space.Validate(); err != nil {
		return nil, err
	}
	opts := cfg.Options
	if opts.Input == (model.Input{}) {
		opts.Input = cfg.Space.Input
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := opts.Constraints.check(cfg.Space, opts.Input, cfg.Throughput != nil); err != nil {
		return nil, err
	}
	s := &Search{
		cfg:  cfg,
		opts: opts,
		header: Header{Version: JournalVersion, PerImage: true, Checkpoint: cfg.Checkpoint, Space: cfg.Space.Name,
			Data: cfg.Data, Seed: opts.Seed, Options: opts, Meta: mergeMeta(cfg.Meta, cfg.Scoring)},
		max:     cfg.Space.Max(),
		clock:   cfg.Clock,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		gen:     -1,
		cons:    opts.Constraints,
		mutProb: opts.MutationProb,
		best:    -1,
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	buf := cfg.EventBuffer
	if buf <= 0 {
		buf = 256
	}
	s.events = make(chan Event, buf)
	if cfg.Journal != "" {
		j, err := readJournal(cfg.Journal)
		if err != nil {
			return nil, err
		}
		if j != nil && j.validLen > 0 {
			if err := j.checkResume(s.header, cfg.Scoring); err != nil {
				return nil, err
			}
		}
		s.replay = j
	}
	return s, nil
}

// mergeMeta is the header's meta: the recorded settings and the scoring ones (which win).
func mergeMeta(meta, scoring map[string]string) map[string]string {
	if len(meta)+len(scoring) == 0 {
		return nil
	}
	m := make(map[string]string, len(meta)+len(scoring))
	for k, v := range meta {
		m[k] = v
	}
	for k, v := range scoring {
		m[k] = v
	}
	return m
}

// Options returns the options the search runs with (the space's input filled in).
func (s *Search) Options() Options { return s.opts }

// Resumed is the number of evaluations the journal already holds.
func (s *Search) Resumed() int {
	n := 0
	if s.replay != nil {
		for _, e := range s.replay.entries {
			if e.record != nil {
				n++
			}
		}
	}
	return n
}

// Events delivers the search's events; it is closed when the search ends. It never blocks
// the search: see Event.Dropped.
func (s *Search) Events() <-chan Event { return s.events }

// Start runs the search in its own goroutine until it finishes, fails, is stopped or ctx is
// cancelled; Wait returns how it ended.
func (s *Search) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("search: already started")
	}
	s.started = true
	go s.run(ctx)
	return nil
}

// Run is Start then Wait.
func (s *Search) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	return s.Wait()
}

// Wait blocks until the search ends. It returns nil when it finished or was stopped, ctx's
// error when cancelled, and the failure otherwise; the journal is complete in every case.
func (s *Search) Wait() error {
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Done is closed when the search has ended.
func (s *Search) Done() <-chan struct{} { return s.done }

// Pause stops the search at the next candidate and interrupts the evaluation under way, which
// is redone on Resume: only finished evaluations are recorded.
func (s *Search) Pause() { s.steer(Action{Kind: ActionPause}, true) }

// Resume continues a paused search.
func (s *Search) Resume() { s.steer(Action{Kind: ActionResume}, false) }

// Stop ends the search after interrupting the evaluation under way; the journal resumes it.
func (s *Search) Stop() { s.steer(Action{Kind: ActionStop}, true) }

// Inject adds a to the search: it is evaluated next, joins the current generation and the
// history, and may become a parent. It need not satisfy the constraints (it then never breeds).
func (s *Search) Inject(a model.Arch) error {
	if err := s.cfg.Space.Contains(a); err != nil {
		return fmt.Errorf("inject: %w", err)
	}
	return s.steer(Action{Kind: ActionInject, NetworkDef: a.String(), arch: a.Clone()}, false)
}

// SetConstraints replaces the constraints from the next candidate on. Candidates already
// generated for this generation that break them are dropped; the next generation is bred from
// the best of the history that satisfies them.
func (s *Search) SetConstraints(c Constraints) error {
	if err := c.check(s.cfg.Space, s.opts.Input, s.cfg.Throughput != nil); err != nil {
		return err
	}
	return s.steer(Action{Kind: ActionSetConstraints, Constraints: &c}, false)
}

// SetMutationProb sets the per-gene mutation probability from the next generation on.
func (s *Search) SetMutationProb(p float64) error {
	if !(p >= 0 && p <= 1) {
		return fmt.Errorf("mutation probability %g: must be in [0, 1]", p)
	}
	return s.steer(Action{Kind: ActionSetMutationProb, MutationProb: &p}, false)
}

// steer queues a for the engine, optionally interrupting the evaluation under way.
func (s *Search) steer(a Action, interrupt bool) error {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return ErrEnded
	}
	s.pending = append(s.pending, a)
	if interrupt && s.cancelEval != nil {
		s.cancelEval()
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// State returns the search's state.
func (s *Search) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Records returns the evaluations from index from on, in order. Callers must not modify them.
func (s *Search) Records(from int) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	if from < 0 || from >= len(s.records) {
		return nil
	}
	return slices.Clone(s.records[from:])
}

// Snapshot returns a consistent copy of the search's state.
func (s *Search) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := Snapshot{State: s.state, Generation: s.gen, Evaluated: len(s.records),
		Constraints: s.cons, MutationProb: s.mutProb, Front: s.front.Members(),
		Summaries: slices.Clone(s.summaries)}
	if s.best >= 0 {
		b := s.records[s.best]
		snap.Best = &b
	}
	return snap
}

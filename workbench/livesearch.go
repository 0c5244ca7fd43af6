package workbench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/model"
)

// LiveSearch runs evolution.Search for the explorer: one search per Start, configured by
// the session's SearchConfig for the budget the user typed, its events translated into
// SearchEvents. It owns the goroutine that follows the engine, so the explorer only reads a
// channel.
type LiveSearch struct {
	config      func(b Budget, journal string) evolution.Config
	journalBase string
	now         func() time.Time

	mu      sync.Mutex
	current *evolution.Search // the running (or last) search; nil before the first Start
	started Budget            // the budget the current search started with
	journal string            // the current search's journal
}

// NewLiveSearch runs searches configured by config, which must do no work; each search
// started gets its own journal named after journalBase (see SearchJournal). The
// configuration's Options.Constraints must be BudgetOptions(b)'s, which SetBudget applies.
func NewLiveSearch(config func(b Budget, journal string) evolution.Config, journalBase string) *LiveSearch {
	return &LiveSearch{config: config, journalBase: journalBase, now: time.Now}
}

// LiveSearch is the explorer's search over this session, scored as resnas search scores by
// default, so either can resume the other's journal.
func (s *Session) LiveSearch(journalBase string) *LiveSearch { return s.LiveSearchOn(journalBase, nil) }

// LiveSearchOn is LiveSearch with its candidates evaluated by ev (such as the dispatcher of
// a distributed search) instead of in this process; nil: in this process.
func (s *Session) LiveSearchOn(journalBase string, ev evolution.Evaluator) *LiveSearch {
	return NewLiveSearch(func(b Budget, journal string) evolution.Config {
		cfg := s.SearchConfig(SearchSpec{Options: BudgetOptions(b), Journal: journal})
		if ev != nil {
			cfg.Evaluator = ev
		}
		return cfg
	}, journalBase)
}

// JournalBase is what the journals of the searches started here are named after; they lie
// in its folder.
func (e *LiveSearch) JournalBase() string { return e.journalBase }

// Started reports the journal and the budget the last search started with: what resumes it
// (a journal replays later budget changes itself). ok is false before any search started.
func (e *LiveSearch) Started() (journal string, b Budget, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.journal, e.started, e.current != nil
}

// Start builds and starts a search; its events arrive on the returned channel, which
// closes after the search has ended and flushed its journal.
func (e *LiveSearch) Start(ctx context.Context, b Budget) (<-chan SearchEvent, error) {
	journal := SearchJournal(e.journalBase, b, e.now())
	cfg := e.config(b, journal)
	s, err := evolution.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.current, e.started, e.journal = s, b, journal
	e.mu.Unlock()
	out := make(chan SearchEvent, 64)
	reporter, _ := cfg.Evaluator.(WorkerReporter)
	go e.forward(ctx, s, reporter, out)
	return out, nil
}

// WorkerInterval is how often a distributed search reports its workers to the explorer.
const WorkerInterval = 2 * time.Second

// forward translates s's events until s ends. The search never waits for it (evolution
// drops events for a slow reader and says how many); after a drop it re-reads the missed
// records and generation summaries, which the search keeps, so the explorer's history and
// its best/median curve stay whole.
// With workers, it also sends their status every WorkerInterval.
func (e *LiveSearch) forward(ctx context.Context, s *evolution.Search, workers WorkerReporter, out chan<- SearchEvent) {
	defer close(out)
	var tick <-chan time.Time
	if workers != nil {
		t := time.NewTicker(WorkerInterval)
		defer t.Stop()
		tick = t.C
	}
	send := func(ev SearchEvent) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	total := s.Options().Evaluations()
	seen, gens := 0, 0 // records and generation summaries forwarded
	summary := func(sum evolution.GenerationSummary) SearchEvent {
		return SearchEvent{Kind: SearchGeneration, Generation: sum.Generation, Done: sum.Total, Total: max(total, sum.Total)}
	}
	// catchUp forwards the records and summaries the events missed, up to (not including)
	// record index recordLimit and generation genLimit.
	catchUp := func(recordLimit, genLimit int) bool {
		for _, r := range s.Records(seen) {
			if r.Index >= recordLimit {
				break
			}
			seen = r.Index + 1
			if !send(e.evaluated(r, max(total, seen))) {
				return false
			}
		}
		for _, sum := range s.Snapshot().Summaries {
			if sum.Generation < gens || sum.Generation >= genLimit {
				continue
			}
			gens = sum.Generation + 1
			if !send(summary(sum)) {
				return false
			}
		}
		return true
	}
	events := s.Events()
	for {
		var ev evolution.Event
		select {
		case <-tick:
			if !send(SearchEvent{Kind: SearchWorkers, Workers: workers.WorkerStatus(), Done: seen, Total: total}) {
				return
			}
			continue
		case next, ok := <-events:
			if !ok {
				events = nil
			}
			ev = next
		}
		if events == nil {
			break
		}
		if ev.Dropped > 0 {
			// Catch up to just before this event, no further: records and summaries of later
			// generations would otherwise arrive ahead of the summaries before them.
			recordLimit, genLimit := math.MaxInt, math.MaxInt
			switch ev.Kind {
			case evolution.EventEvaluated:
				recordLimit, genLimit = ev.Record.Index, ev.Record.Generation
			case evolution.EventGeneration:
				recordLimit, genLimit = ev.Summary.Total, ev.Summary.Generation
			}
			if !catchUp(recordLimit, genLimit) {
				return
			}
		}
		var se SearchEvent
		switch ev.Kind {
		case evolution.EventEvaluated:
			if ev.Record.Index < seen {
				continue
			}
			seen = ev.Record.Index + 1
			se = e.evaluated(ev.Record, max(total, seen))
		case evolution.EventGeneration:
			if ev.Summary.Generation < gens {
				continue
			}
			gens = ev.Summary.Generation + 1
			se = summary(ev.Summary)
		case evolution.EventWarning:
			se = SearchEvent{Kind: SearchNotice, Err: errors.New(ev.Message), Done: seen, Total: total}
		default:
			continue
		}
		if !send(se) {
			return
		}
	}
	// The last events may have been dropped with no later event to say so.
	if !catchUp(math.MaxInt, math.MaxInt) {
		return
	}
	if err := s.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		send(SearchEvent{Kind: SearchFailed, Err: err, Done: seen, Total: total})
	}
}

func (e *LiveSearch) evaluated(r evolution.Record, total int) SearchEvent {
	correct, _ := r.PerImage()
	return SearchEvent{Kind: SearchEvaluated, Generation: r.Generation, Arch: r.Arch,
		Estimate:       Estimate{Top1: r.Top1, CI95: r.CI95(), Images: r.Images, Final: true, Correct: correct},
		RecalibratedBN: false, // the explorer's searches score with the BN as trained
		ImagesPerSec:   r.Throughput, Done: r.Index + 1, Total: total}
}

func (e *LiveSearch) running() (*evolution.Search, error) {
	e.mu.Lock()
	s := e.current
	e.mu.Unlock()
	if s == nil {
		return nil, errors.New("no search has started")
	}
	return s, nil
}

// Pause pauses the search at the next candidate; the evaluation under way is redone later.
func (e *LiveSearch) Pause() error {
	s, err := e.running()
	if err == nil {
		s.Pause()
	}
	return err
}

// Resume continues a paused search.
func (e *LiveSearch) Resume() error {
	s, err := e.running()
	if err == nil {
		s.Resume()
	}
	return err
}

// Stop ends the search; its journal resumes it later.
func (e *LiveSearch) Stop() error {
	s, err := e.running()
	if err == nil {
		s.Stop()
	}
	return err
}

// Inject adds arch to the search, evaluated next.
func (e *LiveSearch) Inject(arch model.Arch) error {
	s, err := e.running()
	if err != nil {
		return err
	}
	return s.Inject(arch)
}

// SetBudget changes the search's constraints. The number of generations is fixed when a
// search starts (it shapes the journal), so a budget that changes it is refused.
func (e *LiveSearch) SetBudget(b Budget) error {
	s, err := e.running()
	if err != nil {
		return err
	}
	if g := s.Options().Generations; b.Generations != g {
		return fmt.Errorf("a running search keeps its %d generations; stop it and start another to change them", g)
	}
	return s.SetConstraints(BudgetOptions(b).Constraints)
}

package workbench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sync"

	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/predict"
	"github.com/resnas/resnas/supernet"
)

// Predictions is the explorer's accuracy predictor (predict.Predictor): it learns top-1 from
// the architecture alone, from every whole-set estimate the explorer measures and every
// record its searches report (Observe), and, when it starts, from the journals of earlier
// searches of the same checkpoint, data and scoring next to the explorer's journal. It
// refits in the background, one refit at a time; points that arrive meanwhile wait for the
// next one, which follows at once. Predict never waits for a refit.
//
// Every method is safe for concurrent use.
type Predictions struct {
	cfg   PredictionsConfig
	space string // the space's name, which matching journals name
	pred  *predict.Predictor
	err   error // the predictor could not be built: predictions are off

	mu       sync.Mutex
	ctx      context.Context // from Start; nil before
	dirty    bool            // points were added since the last refit began
	fitting  bool            // a refit goroutine runs
	idle     chan struct{}   // closed when the running refit goroutine ends
	fitErr   error           // of the last refit; a *predict.TooFewError is not kept
	journals int             // journals the predictor was started with
	cache    map[string]prediction
	fits     int // refits finished; an answer computed across one is not memoized
	updates  chan struct{}
}

type prediction struct {
	mean, std float64
	ok        bool
}

// maxCachedPredictions bounds Predict's memo of the current model's answers.
const maxCachedPredictions = 4096

// PredictionsConfig says which measurements a Predictions may learn from: the journals
// next to JournalBase (the same folder, *.jsonl) whose header names this Checkpoint
// (sha256), Data (manifest digest) and space, and whose scoring settings include every one
// of Scoring's.
type PredictionsConfig struct {
	JournalBase string // "": no journals
	Checkpoint  string
	Data        string
	Scoring     map[string]string
	Seed        uint64 // the predictor's cross-validation folds and GP subsets
}

// NewPredictions makes an untrained predictor of space at input in. A predictor that
// cannot be built (no space) is off: Predict says no and Status says why.
func NewPredictions(space *supernet.Space, in model.Input, cfg PredictionsConfig) *Predictions {
	p := &Predictions{cfg: cfg, updates: make(chan struct{}, 1), cache: map[string]prediction{}}
	if space != nil {
		p.space = space.Name
	}
	p.pred, p.err = predict.New(space, in, predict.Options{Seed: cfg.Seed})
	return p
}

// Predictions is the explorer's predictor of this session: it learns from the session's
// whole-set, BN-as-trained top-1 (how the explorer's searches score, SearchConfig) and from
// the journals next to journalBase scored the same way.
func (s *Session) Predictions(journalBase string, seed uint64) *Predictions {
	_, scoring := s.Scoring(0, false)
	return NewPredictions(s.Loaded.Space, s.Loaded.Input, PredictionsConfig{
		JournalBase: journalBase, Checkpoint: s.Loaded.Checkpoint.SHA256, Data: s.DataHash(),
		Scoring: scoring, Seed: seed,
	})
}

// Start reads the matching journals, then fits; refits end once ctx is cancelled. It may
// take a while (file IO): call it from a goroutine. Journals of other checkpoints, data or
// scoring, and files that are not journals, are passed over; the error lists the matching
// journals that could not be read, whose records are then missing.
func (p *Predictions) Start(ctx context.Context) error {
	if p.err != nil {
		return nil
	}
	n, err := p.readJournals(ctx)
	p.mu.Lock()
	p.ctx, p.journals = ctx, n
	p.scheduleLocked()
	p.mu.Unlock()
	p.notify()
	return err
}

// Observe records a measured top-1 (percent) of a, measured on the whole evaluation set
// with the BN as trained; a network measured before keeps its first value. It only adds
// the point: the refit runs in the background.
func (p *Predictions) Observe(a model.Arch, top1 float64) {
	if p.err != nil {
		return
	}
	added, err := p.pred.Add(a, top1)
	if err != nil || !added {
		return
	}
	p.mu.Lock()
	p.scheduleLocked()
	p.mu.Unlock()
}

// Predict returns the predicted top-1 of a (percent) and the standard deviation of a
// measurement of it; ok is false while the predictor has too few points, and for
// architectures outside the space. Answers are memoized until the next refit.
func (p *Predictions) Predict(a model.Arch) (mean, std float64, ok bool) {
	if p.err != nil {
		return 0, 0, false
	}
	k := a.String()
	p.mu.Lock()
	c, hit := p.cache[k]
	fits := p.fits
	p.mu.Unlock()
	if hit {
		return c.mean, c.std, c.ok
	}
	c.mean, c.std, c.ok = p.pred.Predict(a)
	p.mu.Lock()
	// A refit that swapped the model meanwhile would leave this answer of the old model in
	// the memo past its clearing: store it only if no refit finished in between.
	if p.fits == fits {
		if len(p.cache) >= maxCachedPredictions {
			clear(p.cache)
		}
		p.cache[k] = c
	}
	p.mu.Unlock()
	return c.mean, c.std, c.ok
}

// Status says in one line what the predictor is trained on and how well it ranks:
// "predictor: 143 networks, τ 0.62" (its cross-validated Kendall τ), or, with too few
// points, "predictor: 4 of 10 networks measured".
func (p *Predictions) Status() string {
	if p.err != nil {
		return "predictor: off (" + p.err.Error() + ")"
	}
	p.mu.Lock()
	fitErr := p.fitErr
	p.mu.Unlock()
	q, fitted := p.pred.Quality()
	n := p.pred.Len()
	switch {
	case fitted:
		tau := "—"
		if !math.IsNaN(q.All.Tau) {
			tau = fmt.Sprintf("%.2f", q.All.Tau)
		}
		s := fmt.Sprintf("predictor: %d networks, τ %s", q.Points, tau)
		if fitErr != nil {
			s += " (refit failed)"
		}
		return s
	case n < predict.MinPoints:
		return fmt.Sprintf("predictor: %d of %d networks measured", n, predict.MinPoints)
	case fitErr != nil:
		return fmt.Sprintf("predictor: %d networks, fit failed: %v", n, fitErr)
	}
	return fmt.Sprintf("predictor: %d networks, fitting…", n)
}

// Updates delivers a notice after each refit (and once Start has read the journals), when
// Status and Predict may answer differently. A notice not yet taken stands for later ones.
func (p *Predictions) Updates() <-chan struct{} { return p.updates }

// Wait returns once no refit runs or is due, or when ctx ends.
func (p *Predictions) Wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		fitting, idle := p.fitting, p.idle
		p.mu.Unlock()
		if !fitting {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (p *Predictions) notify() {
	select {
	case p.updates <- struct{}{}:
	default: // one is pending already
	}
}

// scheduleLocked marks the points changed and starts the refit goroutine unless one runs
// (it takes the new points next) or Start has not been called.
func (p *Predictions) scheduleLocked() {
	p.dirty = true
	if p.fitting || p.ctx == nil || p.ctx.Err() != nil {
		return
	}
	p.fitting, p.idle = true, make(chan struct{})
	go p.refit(p.ctx, p.idle)
}

// refit fits until no new point arrived during the last fit, or ctx ends.
func (p *Predictions) refit(ctx context.Context, idle chan struct{}) {
	defer close(idle)
	for {
		p.mu.Lock()
		if !p.dirty || ctx.Err() != nil {
			p.fitting = false
			p.mu.Unlock()
			return
		}
		p.dirty = false
		p.mu.Unlock()
		if p.pred.Len() < predict.MinPoints {
			continue // nothing to fit yet; Status counts the points
		}
		err := p.pred.Fit()
		p.mu.Lock()
		p.fitErr = err
		p.fits++
		clear(p.cache)
		p.mu.Unlock()
		p.notify()
	}
}

// readJournals adds the records of the matching journals next to the journal base, in
// file-name order; it returns how many journals matched.
func (p *Predictions) readJournals(ctx context.Context) (int, error) {
	if p.cfg.JournalBase == "" {
		return 0, nil
	}
	paths, err := filepath.Glob(filepath.Join(filepath.Dir(p.cfg.JournalBase), "*.jsonl"))
	if err != nil {
		return 0, err
	}
	slices.Sort(paths)
	var errs []error
	n := 0
	for _, path := range paths {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if h, err := evolution.ReadJournalHeader(path); err != nil || !p.matches(h) {
			continue // not a journal, or one of other scores
		}
		j, err := evolution.ReadJournal(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !p.matches(j.Header) {
			continue // rewritten since
		}
		n++
		for _, r := range j.Records {
			if r.Images > 0 {
				p.pred.Add(r.Arch, r.Top1) // an architecture outside the space is skipped
			}
		}
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("predictor: %w", errors.Join(errs...))
	}
	return n, nil
}

// matches reports whether a journal's scores are the explorer's.
func (p *Predictions) matches(h evolution.Header) bool {
	if h.Checkpoint != p.cfg.Checkpoint || h.Data != p.cfg.Data || h.Space != p.space {
		return false
	}
	for k, v := range p.cfg.Scoring {
		if h.Meta[k] != v {
			return false
		}
	}
	return true
}

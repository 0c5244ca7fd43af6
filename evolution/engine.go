package evolution

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/stats"
)

// engine is the search's private state, touched only by the engine goroutine.
type engine struct {
	s         *Search
	gr        generator
	journal   *journalWriter
	mutProb   float64
	paused    bool
	gen       int
	genStart  int             // index of the generation's first record
	history   []int           // first record of every distinct network
	byKey     map[string]int  // canonicalKey → first record
	genKeys   map[string]bool // canonicalKeys bred for this generation
	queue     []candidate
	injects   []candidate
	thr       map[string]float64 // measured throughput by canonicalKey
	entries   []journalEntry     // journal to replay
	cursor    int
	replaying bool
	liveEvals int // live evaluations in this generation, and when the first one began
	liveStart time.Time
	dropped   int
	async     AsyncEvaluator  // the evaluator when it takes several candidates at once
	submitted map[string]bool // canonicalKeys handed to async
	// predSummary describes the predictor the generation under way was prescreened with.
	predSummary *PredictorSummary
}

type candidate struct {
	arch    model.Arch
	def     string // arch.String(), as journaled
	key     string // canonicalKey(arch): the network, for the cache and the novelty check
	origin  Origin
	parents []int
	// pred and predStd are the prescreen's prediction; nil when not prescreened.
	pred, predStd *float64
}

func (s *Search) run(ctx context.Context) {
	e := &engine{s: s, mutProb: s.opts.MutationProb, gen: -1, byKey: map[string]int{},
		genKeys: map[string]bool{}, thr: map[string]float64{}}
	e.gr = generator{space: s.cfg.Space, max: s.max, in: s.opts.Input, r: newRNG(s.opts.Seed),
		cons: s.opts.Constraints}
	if s.cfg.Throughput != nil {
		e.gr.throughput = e.measure
	}
	if a, ok := s.cfg.Evaluator.(AsyncEvaluator); ok {
		e.async, e.submitted = a, map[string]bool{}
	}
	if j := s.replay; j != nil {
		for _, w := range j.warnings {
			e.emit(Event{Kind: EventWarning, Message: w})
		}
		e.entries = j.entries
		for def, v := range j.throughput {
			if a, err := model.ParseArch(def); err == nil && s.cfg.Space.Contains(a) == nil {
				e.thr[canonicalKey(s.cfg.Space, a)] = v
			}
		}
	}
	err := e.open()
	if err == nil {
		e.replaying = len(e.entries) > 0
		if e.replaying {
			e.setState(StateReplaying, nil)
		} else {
			e.setState(StateRunning, nil)
		}
		err = e.loop(ctx)
	}
	final := StateFinished
	switch {
	case errors.Is(err, errStopped):
		final, err = StateStopped, nil
	case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
		final = StateStopped
	case err != nil:
		final = StateFailed
	}
	if err == nil && final == StateFinished && e.cursor < len(e.entries) {
		e.emit(Event{Kind: EventWarning, Message: fmt.Sprintf("journal line %d and later lie beyond the end of the search and were not replayed", e.entries[e.cursor].line)})
	}
	if s.cfg.OutputDir != "" && len(s.records) > 0 {
		if xerr := WriteExports(s.cfg.OutputDir, s.records); xerr != nil && err == nil {
			err, final = xerr, StateFailed
		}
	}
	if e.journal != nil {
		if cerr := e.journal.close(); cerr != nil && err == nil {
			err, final = fmt.Errorf("journal: %w", cerr), StateFailed
		}
	}
	s.mu.Lock()
	s.ended = true
	s.err = err
	s.mu.Unlock()
	e.setState(final, err)
	close(s.events)
	close(s.done)
}

func (e *engine) open() error {
	if e.s.cfg.Journal == "" {
		return nil
	}
	w, err := openJournal(e.s.cfg.Journal, e.s.header, e.s.replay)
	e.journal = w
	return err
}

func (e *engine) write(v any) error {
	if e.journal == nil {
		return nil
	}
	return e.journal.append(v)
}

// emit delivers ev unless the consumer's buffer is full, in which case it is counted.
func (e *engine) emit(ev Event) {
	ev.Dropped = e.dropped
	select {
	case e.s.events <- ev:
		e.dropped = 0
	default:
		e.dropped++
	}
}

func (e *engine) setState(st State, err error) {
	e.s.mu.Lock()
	changed := e.s.state != st
	e.s.state = st
	e.s.mu.Unlock()
	if changed {
		e.emit(Event{Kind: EventState, State: st, Err: err})
	}
}

// loop is the search. Steering actions apply only at its apply points, each placed by the
// number of evaluations done and the generation under way; a generation is bred between two
// apply points, so that replaying the journal meets every action at the same place.
func (e *engine) loop(ctx context.Context) error {
	for {
		if err := e.applyPoint(ctx); err != nil {
			return err
		}
		c, ok := e.peek()
		if !ok {
			if e.gen >= 0 {
				e.endGeneration()
			}
			if e.gen+1 >= e.s.opts.Generations {
				return nil
			}
			if err := e.startGeneration(ctx); err != nil {
				return err
			}
			continue
		}
		if err := e.evaluate(ctx, c); err != nil && !errors.Is(err, errInterrupted) {
			return err
		}
	}
}

// peek returns the next candidate: injected ones first once the first generation exists.
func (e *engine) peek() (candidate, bool) {
	if e.gen >= 0 && len(e.injects) > 0 {
		return e.injects[0], true
	}
	if len(e.queue) > 0 {
		return e.queue[0], true
	}
	return candidate{}, false
}

func (e *engine) pop() {
	if e.gen >= 0 && len(e.injects) > 0 {
		e.injects = e.injects[1:]
		return
	}
	e.queue = e.queue[1:]
}

// applyPoint applies the steering actions due here: while replaying, the journal's actions
// placed here; live, the queued calls, each journaled before it takes effect. A paused search
// waits here.
func (e *engine) applyPoint(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := e.s
	at := len(s.records)
	if e.replaying {
		for e.cursor < len(e.entries) {
			a := e.entries[e.cursor].action
			if a == nil || a.At != at || a.Generation != e.gen {
				break
			}
			e.cursor++
			if err := e.apply(ctx, *a, true); err != nil {
				return fmt.Errorf("%s:%d: %w", s.cfg.Journal, e.entries[e.cursor-1].line, err)
			}
		}
		if !e.endReplay() {
			return nil
		}
	}
	for {
		s.mu.Lock()
		pending := s.pending
		s.pending = nil
		s.mu.Unlock()
		for _, a := range pending {
			a.At, a.Generation = at, e.gen
			if err := e.write(actionLine{Kind: lineAction, Action: a}); err != nil {
				return err
			}
			if err := e.apply(ctx, a, false); err != nil {
				return err
			}
		}
		if !e.paused {
			e.setState(StateRunning, nil)
			return nil
		}
		e.setState(StatePaused, nil)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		}
	}
}

// endReplay switches to live once the whole journal has been re-derived.
func (e *engine) endReplay() bool {
	if e.replaying && e.cursor == len(e.entries) {
		e.replaying = false
		e.setState(StateRunning, nil)
	}
	return !e.replaying
}

// apply makes one steering action take effect. Pause, resume and stop only act live.
func (e *engine) apply(ctx context.Context, a Action, replayed bool) error {
	s := e.s
	switch a.Kind {
	case ActionInject:
		if err := s.cfg.Space.Contains(a.arch); err != nil {
			return fmt.Errorf("inject: %w", err)
		}
		e.injects = append(e.injects, candidate{arch: a.arch, def: a.NetworkDef,
			key: canonicalKey(s.cfg.Space, a.arch), origin: OriginInject})
	case ActionSetConstraints:
		e.gr.cons = *a.Constraints
		kept := e.queue[:0]
		for _, c := range e.queue {
			ok, err := e.gr.fits(ctx, c.arch)
			if err != nil {
				return err
			}
			if ok {
				kept = append(kept, c)
			} else {
				delete(e.genKeys, c.key)
			}
		}
		e.queue = kept
		s.mu.Lock()
		s.cons = *a.Constraints
		s.mu.Unlock()
	case ActionSetMutationProb:
		e.mutProb = *a.MutationProb
		s.mu.Lock()
		s.mutProb = *a.MutationProb
		s.mu.Unlock()
	case ActionPause:
		if !replayed {
			e.paused = true
		}
	case ActionResume:
		e.paused = false
	case ActionStop:
		if !replayed {
			e.emit(Event{Kind: EventSteered, Action: a})
			return errStopped
		}
	}
	e.emit(Event{Kind: EventSteered, Action: a, Replayed: replayed})
	return nil
}

// measure returns a's throughput, measuring and journaling it the first time.
func (e *engine) measure(ctx context.Context, a model.Arch) (float64, error) {
	key := canonicalKey(e.s.cfg.Space, a)
	if t, ok := e.thr[key]; ok {
		return t, nil
	}
	t, err := e.s.cfg.Throughput.Throughput(ctx, a)
	if err != nil {
		return 0, fmt.Errorf("measuring the throughput of %s: %w", key, err)
	}
	if !(t > 0) || math.IsInf(t, 0) {
		return 0, fmt.Errorf("measuring the throughput of %s: got %g images/s", key, t)
	}
	if err := e.write(throughputLine{Kind: lineThroughput, NetworkDef: key, Throughput: t}); err != nil {
		return 0, err
	}
	e.thr[key] = t
	return t, nil
}

// evaluate scores c: from the journal while replaying, from the history when c was seen
// before, else from the evaluator; then records it.
func (e *engine) evaluate(ctx context.Context, c candidate) error {
	s := e.s
	var fit Fitness
	var thr float64
	var correct string // the per-image bits, encoded, of a record copied from the journal or the history
	replayed := e.replaying
	switch {
	case e.replaying:
		ent := e.entries[e.cursor]
		if ent.record == nil {
			return fmt.Errorf("%s:%d: the search diverged from its journal: its %s action was not met at evaluation %d of generation %d (was the journal written by another resnas version?)", s.cfg.Journal, ent.line, ent.action.Kind, ent.action.At, ent.action.Generation)
		}
		if ent.record.NetworkDef != c.def || ent.record.Generation != e.gen {
			return fmt.Errorf("%s:%d: the search diverged from its journal at evaluation %d: journal has %s, the search generated %s in generation %d (was the journal written by another resnas version?)", s.cfg.Journal, ent.line, len(s.records), ent.record.NetworkDef, c.def, e.gen)
		}
		e.cursor++
		fit, thr, correct = ent.record.scores(), ent.record.Throughput, ent.record.validCorrect()
		// The journal's prediction is the one recorded: replaying recomputes the same ranking,
		// and the exports must show what was predicted then.
		c.pred, c.predStd = ent.record.Predicted, ent.record.PredictedStd
	default:
		if i, ok := e.byKey[c.key]; ok {
			fit, thr, correct = s.records[i].scores(), s.records[i].Throughput, s.records[i].validCorrect()
			break
		}
		if e.liveEvals == 0 {
			e.liveStart = s.clock()
		}
		evalCtx, cancel := context.WithCancel(ctx)
		s.mu.Lock()
		s.cancelEval = cancel
		s.mu.Unlock()
		var err error
		if e.async != nil {
			if err = e.submitAhead(ctx); err == nil {
				fit, err = e.async.Await(evalCtx, c.key)
			}
		} else {
			fit, err = s.cfg.Evaluator.Evaluate(evalCtx, c.arch)
		}
		s.mu.Lock()
		s.cancelEval = nil
		s.mu.Unlock()
		interrupted := evalCtx.Err() != nil
		cancel()
		switch {
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil && interrupted:
			return errInterrupted
		case err != nil:
			return fmt.Errorf("evaluating %s: %w", c.def, err)
		case math.IsNaN(fit.Top1) || fit.Top1 < 0 || fit.Top1 > 100:
			return fmt.Errorf("evaluating %s: top-1 %g%% is not a percentage", c.def, fit.Top1)
		}
		e.liveEvals++
		if s.cfg.Throughput != nil {
			if thr, err = e.measure(ctx, c.arch); err != nil {
				return err
			}
		}
	}
	macs, params := profiler.Count(c.arch, s.opts.Input)
	rec := Record{Index: len(s.records), Generation: e.gen, NetworkDef: c.def, Top1: fit.Top1,
		Top5: fit.Top5, Images: fit.Images, MACs: macs, Params: params, Throughput: thr, Origin: c.origin,
		Parents: c.parents, Arch: c.arch, Predicted: c.pred, PredictedStd: c.predStd, Correct: correct}
	if fit.Correct.N == fit.Images && fit.Images > 0 {
		rec.Correct = fit.Correct.Encode()
	}
	if !replayed {
		if err := e.write(evalLine{Kind: lineEval, Record: rec}); err != nil {
			return err
		}
	}
	if thr > 0 {
		e.thr[c.key] = thr
	}
	e.pop()
	_, seen := e.byKey[c.key]
	if !seen {
		e.byKey[c.key] = rec.Index
		e.history = append(e.history, rec.Index)
	}
	s.mu.Lock()
	s.records = append(s.records, rec)
	s.front.Add(rec)
	if s.best < 0 || rec.Top1 > s.records[s.best].Top1 {
		s.best = rec.Index
	}
	s.mu.Unlock()
	e.emit(Event{Kind: EventEvaluated, Record: rec, Replayed: replayed})
	if replayed {
		e.endReplay()
	}
	return nil
}

// submitAhead hands the asynchronous evaluator every queued candidate it does not have yet,
// injected ones first: the order the engine will await them in. Candidates already in the
// history are not submitted; their results come from it.
func (e *engine) submitAhead(ctx context.Context) error {
	var queued []candidate
	if e.gen >= 0 {
		queued = e.injects
	}
	for _, list := range [][]candidate{queued, e.queue} {
		for _, c := range list {
			if _, seen := e.byKey[c.key]; seen || e.submitted[c.key] {
				continue
			}
			if err := e.async.Submit(ctx, c.key, c.arch); err != nil {
				return fmt.Errorf("submitting %s: %w", c.def, err)
			}
			e.submitted[c.key] = true
		}
	}
	return nil
}

// better orders records by fitness, best first; ties go to the earlier evaluation, as the
// reference's stable descending sort of its history does.
func better(a, b Record) int {
	if c := cmp.Compare(b.Top1, a.Top1); c != 0 {
		return c
	}
	return a.Index - b.Index
}

// parents returns the records that breed: the top Parents of the whole history (each
// architecture once) among those that satisfy the current constraints.
func (e *engine) parents(ctx context.Context) ([]int, error) {
	recs := e.s.records
	order := slices.Clone(e.history)
	slices.SortFunc(order, func(i, j int) int { return better(recs[i], recs[j]) })
	var out []int
	for _, i := range order {
		if len(out) == e.s.opts.Parents {
			break
		}
		ok, err := e.gr.fits(ctx, recs[i].Arch)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, i)
		}
	}
	return out, nil
}

// startGeneration breeds the next generation: random sampling first, then mutants and
// crossovers of the parents, each new to the history and the generation where possible.
func (e *engine) startGeneration(ctx context.Context) error {
	s := e.s
	e.gen++
	e.genStart = len(s.records)
	e.genKeys = map[string]bool{}
	e.liveEvals = 0
	e.predSummary = nil
	s.mu.Lock()
	s.gen = e.gen
	s.mu.Unlock()
	if e.gen == 0 {
		return e.fill(ctx, s.opts.Population, OriginRandom, nil)
	}
	pred, err := e.trainPredictor()
	if err != nil {
		return fmt.Errorf("generation %d: prescreen: %w", e.gen, err)
	}
	mult := 1
	if pred != nil {
		mult = s.opts.Prescreen
	}
	if err := e.breed(ctx, mult); err != nil {
		return err
	}
	if pred != nil {
		e.prescreen(pred, s.opts.Mutations+s.opts.Crossovers)
	}
	return nil
}

// breed queues mult times the generation's usual candidates: random ones for the random
// strategy, else mutants and crossovers of the parents.
func (e *engine) breed(ctx context.Context, mult int) error {
	s := e.s
	if s.opts.strategy() == StrategyRandom {
		// The baseline: as many candidates as evolution would breed, drawn as generation 0's.
		return e.fill(ctx, mult*(s.opts.Mutations+s.opts.Crossovers), OriginRandom, nil)
	}
	parents, err := e.parents(ctx)
	if err != nil {
		return err
	}
	if len(parents) == 0 {
		e.emit(Event{Kind: EventWarning, Message: fmt.Sprintf("generation %d: no evaluated architecture satisfies %v, so it is sampled at random", e.gen, e.gr.cons)})
		return e.fill(ctx, mult*(s.opts.Mutations+s.opts.Crossovers), OriginRandom, nil)
	}
	recs := s.records
	mutant := func() (model.Arch, []int, bool, error) {
		p := parents[e.gr.r.intn(len(parents))]
		a, ok, err := e.gr.mutation(ctx, recs[p].Arch, e.mutProb)
		return a, []int{p}, ok, err
	}
	if err := e.fill(ctx, mult*s.opts.Mutations, OriginMutation, mutant); err != nil {
		return err
	}
	child := func() (model.Arch, []int, bool, error) {
		i, j := e.gr.r.intn(len(parents)), 0
		if len(parents) > 1 {
			if j = e.gr.r.intn(len(parents) - 1); j >= i {
				j++
			}
		}
		pa, pb := parents[i], parents[j]
		a, ok, err := e.gr.crossover(ctx, recs[pa].Arch, recs[pb].Arch, s.opts.CrossoverProb)
		return a, []int{pa, pb}, ok, err
	}
	return e.fill(ctx, mult*s.opts.Crossovers, OriginCrossover, child)
}

// fill queues n candidates from draw (random sampling when draw is nil). A candidate already
// in the history or the generation is refused up to maxNonNovel times in a row, then taken;
// an operator that fails the constraints maxOperatorFailures times in a row gives way to
// random sampling for that slot.
func (e *engine) fill(ctx context.Context, n int, origin Origin, draw func() (model.Arch, []int, bool, error)) error {
	for made, refused, failed := 0, 0, 0; made < n; {
		var a model.Arch
		var parents []int
		var err error
		ok, from := false, origin
		if draw != nil && failed < maxOperatorFailures {
			if a, parents, ok, err = draw(); err != nil {
				return err
			}
			if !ok {
				failed++
				continue
			}
		} else {
			if a, err = e.gr.random(ctx); err != nil {
				return err
			}
			parents, from = nil, OriginRandom
		}
		key := canonicalKey(e.s.cfg.Space, a)
		_, seen := e.byKey[key]
		if (seen || e.genKeys[key]) && refused < maxNonNovel {
			refused++
			continue
		}
		e.queue = append(e.queue, candidate{arch: a, def: a.String(), key: key, origin: from, parents: parents})
		e.genKeys[key] = true
		made, refused, failed = made+1, 0, 0
	}
	return nil
}

// endGeneration summarises the finished generation and refreshes the exports.
func (e *engine) endGeneration() {
	s := e.s
	recs := s.records[e.genStart:]
	tops := make([]float64, len(recs))
	for i, r := range recs {
		tops[i] = r.Top1
	}
	var median float64
	if len(tops) > 0 {
		median = stats.Median(tops)
	}
	var rate float64
	if e.liveEvals > 0 {
		if d := s.clock().Sub(e.liveStart); d > 0 {
			rate = float64(e.liveEvals) / d.Minutes()
		}
	}
	s.mu.Lock()
	sum := GenerationSummary{Generation: e.gen, Evaluated: len(recs), Total: len(s.records),
		Median: median, FrontSize: s.front.Len(), EvalsPerMinute: rate, Predictor: e.predSummary}
	if s.best >= 0 {
		sum.Best = s.records[s.best]
	}
	s.summaries = append(s.summaries, sum)
	s.mu.Unlock()
	e.emit(Event{Kind: EventGeneration, Summary: sum, Replayed: e.replaying})
	if s.cfg.OutputDir != "" && !e.replaying {
		if err := WriteExports(s.cfg.OutputDir, s.records); err != nil {
			e.emit(Event{Kind: EventWarning, Message: err.Error()})
		}
	}
}

package workbench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/model"
)

// SearchSpec is what a search is asked to do, whichever front end starts it.
type SearchSpec struct {
	Options         evolution.Options // Input is filled in from the checkpoint
	Journal         string
	Limit           int  // images per candidate; 0 (or at least the whole set) evaluates all
	RecalibrateBN   bool // recalibrate the stem BN before each evaluation
	ThroughputBatch int  // batch of throughput measurements, used when Options.Constraints.MinThroughput > 0
}

// The scoring settings a journal records: every setting that changes a candidate's top-1,
// compared when a journal is resumed or journals are pooled. The GEMM backend only moves
// float rounding, so a search may move between machines.
const (
	ScoringLimit         = "limit"
	ScoringRecalibrateBN = "recalibrate_bn"
	ScoringWeights       = "weights"
)

// Scoring is the normalised image limit (a limit of at least the whole set is 0, as all
// images are: one recorded value for one setting) and the scoring settings of evaluations
// on this session with limit images and that BN mode.
func (s *Session) Scoring(limit int, recalibrate bool) (int, map[string]string) {
	if limit >= s.Data.Len() {
		limit = 0
	}
	return limit, map[string]string{ScoringLimit: fmt.Sprint(limit), ScoringRecalibrateBN: fmt.Sprint(recalibrate),
		ScoringWeights: s.Loaded.Checkpoint.Source}
}

// SearchConfig is the one builder of a search's configuration, for resnas search and the
// explorer alike, so that either can resume the other's journal. It does no work.
func (s *Session) SearchConfig(spec SearchSpec) evolution.Config {
	l := s.Loaded
	o := spec.Options
	o.Input = l.Input
	limit, scoring := s.Scoring(spec.Limit, spec.RecalibrateBN)
	cfg := evolution.Config{
		Space: l.Space, Evaluator: s.Fitness(limit, spec.RecalibrateBN), Options: o, Journal: spec.Journal,
		Checkpoint: l.Checkpoint.SHA256, Data: s.DataHash(),
		Meta: map[string]string{"gemm": s.Backend.Name}, Scoring: scoring,
	}
	if o.Constraints.MinThroughput > 0 {
		batch := spec.ThroughputBatch
		scoring["throughput_batch"] = fmt.Sprint(batch)
		cfg.Throughput = evolution.ThroughputFunc(func(ctx context.Context, a model.Arch) (float64, error) {
			tp, err := s.Throughput(ctx, a, batch)
			return tp.ImagesPerSec, err
		})
	}
	return cfg
}

// BudgetOptions are the search options of an explorer budget: the defaults, b's generations
// and a MACs window ending at b.MaxMACs, as the reference's evolution uses.
func BudgetOptions(b Budget) evolution.Options {
	o := evolution.DefaultOptions()
	o.Generations = b.Generations
	if b.MaxMACs > 0 {
		o.Constraints = evolution.MACsWindow(b.MaxMACs, evolution.ReferenceWindowRatio)
	}
	return o
}

// SearchJournal names the journal of a search started in the explorer at time now, next to
// base, so a new budget never collides with an earlier search's header.
func SearchJournal(base string, b Budget, now time.Time) string {
	ext := filepath.Ext(base)
	return fmt.Sprintf("%s-%dmacs-%dgen-%s%s", base[:len(base)-len(ext)], b.MaxMACs, b.Generations, now.Format("20060102-150405"), ext)
}

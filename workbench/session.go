package workbench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"

	"github.com/resnas/resnas/checkpoints/shipped"
	"github.com/resnas/resnas/data"
	"github.com/resnas/resnas/evaluate"
	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/internal/gemm/backend"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/stats"
)

// RecalibrationImages is how many images BN recalibration uses when it is switched on.
const RecalibrationImages = 1024

// ExplorerThroughputBatch is the batch of the explorer's throughput measurements.
const ExplorerThroughputBatch = 64

// OpenData opens shards for evaluation: dir if given, else the shipped sub-val when the
// shipped checkpoint is used (checkpoint ""), else nothing (nil, nil).
func OpenData(dir, checkpoint string) (*data.Set, error) {
	if dir != "" {
		set, err := data.Open(dir, data.OpenOptions{})
		if err != nil {
			return nil, fmt.Errorf("--data: %w", err)
		}
		return set, nil
	}
	if checkpoint == "" {
		return shipped.SubVal()
	}
	return nil, nil
}

// Session is a loaded checkpoint with its evaluation data and compute backend: what the
// search and the explorer evaluate sub-networks with. It serves the explorer as its
// Evaluator, Throughput and Exporter.
type Session struct {
	Loaded  *Loaded
	Data    *data.Set
	Backend backend.Selected
	Threads int

	plain *evaluate.Evaluator // stem BN as trained
	recal *evaluate.Evaluator // stem BN recalibrated on the evaluation data
}

// NewSession checks that set suits l (a known space, the same normalisation) and builds the
// evaluators. The caller keeps ownership of set and sel.
func NewSession(l *Loaded, set *data.Set, sel backend.Selected, threads int) (*Session, error) {
	if l.Space == nil {
		return nil, fmt.Errorf("%s: no known search space (pass --space NAME; resnas spaces lists them)", l.Name)
	}
	s := &Session{Loaded: l, Data: set, Backend: sel, Threads: threads}
	var err error
	if s.plain, err = s.EvaluatorOn(set, false); err != nil {
		return nil, err
	}
	if s.recal, err = s.EvaluatorOn(set, true); err != nil {
		return nil, err
	}
	return s, nil
}

// checkNormalisation refuses shards normalised differently from what the checkpoint was
// trained with (when the checkpoint records it): accuracies would silently be wrong.
func checkNormalisation(l *Loaded, set *data.Set) error {
	m := l.Checkpoint.Meta
	if len(m.Mean) == 0 || len(set.Manifest.Mean) != len(m.Mean) {
		return nil
	}
	for i := range m.Mean {
		if math.Abs(m.Mean[i]-set.Manifest.Mean[i]) > 1e-4 || math.Abs(m.Std[i]-set.Manifest.Std[i]) > 1e-4 {
			return fmt.Errorf("%s shards normalise with mean %v std %v, but %s was trained with mean %v std %v (shards of another dataset?)",
				set.Manifest.Split, set.Manifest.Mean, set.Manifest.Std, l.Name, m.Mean, m.Std)
		}
	}
	return nil
}

// Evaluator returns the evaluator for a BN mode.
func (s *Session) Evaluator(recalibrate bool) *evaluate.Evaluator {
	if recalibrate {
		return s.recal
	}
	return s.plain
}

// Fitness evaluates architectures in the evolution package's units (percent).
func (s *Session) Fitness(limit int, recalibrate bool) evolution.EvaluatorFunc {
	return func(ctx context.Context, a model.Arch) (evolution.Fitness, error) {
		r, err := s.Evaluator(recalibrate).Evaluate(ctx, a, limit, nil)
		return evolution.Fitness{Top1: 100 * r.Top1, Top5: 100 * r.Top5, Images: r.Images, Correct: r.Correct}, err
	}
}

// Throughput measures images/s of a on this session's backend.
func (s *Session) Throughput(ctx context.Context, a model.Arch, batch int) (profiler.Throughput, error) {
	n, err := s.Loaded.Net(a, s.Backend, s.Threads)
	if err != nil {
		return profiler.Throughput{}, err
	}
	return profiler.MeasureThroughput(ctx, n, profiler.ThroughputOptions{Batch: batch})
}

// DataHash identifies the evaluation data for journals: a digest of the manifest, which
// holds every shard's digest.
func (s *Session) DataHash() string { return ManifestHash(s.Data.Manifest) }

// ManifestHash is DataHash for shards not opened yet (a worker's local copy).
func ManifestHash(m *data.Manifest) string {
	b, _ := json.Marshal(m)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Evaluate scores req.Arch for the explorer.
func (s *Session) Evaluate(ctx context.Context, req EvalRequest) (Estimate, error) {
	r, err := s.Evaluator(req.RecalibrateBN).Evaluate(ctx, req.Arch, req.Limit, nil)
	return Estimate{Top1: 100 * r.Top1, CI95: 100 * r.CI95, Images: r.Images, Final: r.Final, Correct: r.Correct}, err
}

// Images is the size of the evaluation set, what a full estimate uses; the explorer turns
// it and the pace of its quick estimate into the time left to a full one.
func (s *Session) Images() int { return s.Data.Len() }

// Measure measures a's throughput for the explorer.
func (s *Session) Measure(ctx context.Context, a model.Arch) (Rate, error) {
	tp, err := s.Throughput(ctx, a, ExplorerThroughputBatch)
	return Rate{ImagesPerSec: tp.ImagesPerSec, Spread: tp.Spread}, err
}

// ExportSubnet writes the explorer's sub-network into dir with the metrics it knows.
func (s *Session) ExportSubnet(ctx context.Context, dir string, rec SubnetRecord) ([]string, error) {
	l := s.Loaded
	metrics := map[string]any{
		"network_def": rec.Arch.String(), "compact": rec.Arch.Compact().String(),
		"macs": rec.MACs, "params": rec.Params, "input": l.Input,
		"checkpoint": l.Name, "sha256": l.Checkpoint.SHA256, "data": s.Data.Manifest.Split,
		"top1": rec.Estimate.Top1, "top1_ci95": rec.Estimate.CI95, "images": rec.Estimate.Images,
		"bn_recalibrated": rec.BNRecalibrated,
	}
	if rec.Rate.ImagesPerSec > 0 {
		metrics["images_per_sec"] = rec.Rate.ImagesPerSec
		metrics["gemm"] = s.Backend.Name
		metrics["device"] = s.Backend.Device
	}
	return ExportSubnet(l, rec.Arch, dir, metrics)
}

// Compare evaluates a and b on the same first limit images (0: all) and compares them
// pairwise: the difference a − b with its 95% interval and the exact McNemar p-value.
func (s *Session) Compare(ctx context.Context, a, b model.Arch, limit int, recalibrate bool) (stats.Paired, error) {
	ev := s.Evaluator(recalibrate)
	ra, err := ev.Evaluate(ctx, a, limit, nil)
	if err != nil {
		return stats.Paired{}, err
	}
	rb, err := ev.Evaluate(ctx, b, limit, nil)
	if err != nil {
		return stats.Paired{}, err
	}
	return stats.PairedOf(ra.Correct, rb.Correct)
}

// EvaluatorOn is an evaluator of this checkpoint on set, the session's own data or other
// shards such as a held-out test split, checked the same way (geometry, normalisation).
func (s *Session) EvaluatorOn(set *data.Set, recalibrate bool) (*evaluate.Evaluator, error) {
	l := s.Loaded
	if err := checkNormalisation(l, set); err != nil {
		return nil, err
	}
	dw, err := l.DeviceWeights(s.Backend)
	if err != nil {
		return nil, err
	}
	opts := evaluate.Options{Weights: l.Checkpoint.Weights, Input: l.Input, Backend: s.Backend.Backend, Threads: s.Threads, Device: dw}
	if recalibrate {
		opts.RecalibrateBN = RecalibrationImages
	}
	return evaluate.New(set, opts)
}

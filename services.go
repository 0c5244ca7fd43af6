package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/resnas/resnas/data"
	"github.com/resnas/resnas/evaluate"
	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/internal/gemm/backend"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
)

// recalibrationImages is how many images BN recalibration uses when it is switched on.
const recalibrationImages = 1024

// session is a loaded checkpoint with its evaluation data and compute backend: what the
// search and the explorer evaluate sub-networks with.
type session struct {
	l       *loaded
	set     *data.Set
	sel     backend.Selected
	threads int
	plain   *evaluate.Evaluator // stem BN as trained
	recal   *evaluate.Evaluator // stem BN recalibrated on the evaluation data
}

func newSession(l *loaded, set *data.Set, sel backend.Selected, threads int) (*session, error) {
	if l.space == nil {
		return nil, fmt.Errorf("%s: no known search space (pass --space NAME; resnas spaces lists them)", l.name)
	}
	if err := checkNormalisation(l, set); err != nil {
		return nil, err
	}
	s := &session{l: l, set: set, sel: sel, threads: threads}
	dw, err := l.deviceWeights(sel)
	if err != nil {
		return nil, err
	}
	opts := evaluate.Options{Weights: l.ck.Weights, Input: l.input, Backend: sel.Backend, Threads: threads, Device: dw}
	if s.plain, err = evaluate.New(set, opts); err != nil {
		return nil, err
	}
	opts.RecalibrateBN = recalibrationImages
	if s.recal, err = evaluate.New(set, opts); err != nil {
		return nil, err
	}
	return s, nil
}

// checkNormalisation refuses shards normalised differently from what the checkpoint was
// trained with (when the checkpoint records it): accuracies would silently be wrong.
func checkNormalisation(l *loaded, set *data.Set) error {
	m := l.ck.Meta
	if len(m.Mean) == 0 || len(set.Manifest.Mean) != len(m.Mean) {
		return nil
	}
	for i := range m.Mean {
		if abs(m.Mean[i]-set.Manifest.Mean[i]) > 1e-4 || abs(m.Std[i]-set.Manifest.Std[i]) > 1e-4 {
			return fmt.Errorf("%s shards normalise with mean %v std %v, but %s was trained with mean %v std %v (shards of another dataset?)",
				set.Manifest.Split, set.Manifest.Mean, set.Manifest.Std, l.name, m.Mean, m.Std)
		}
	}
	return nil
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// evaluator returns the evaluator for a BN mode.
func (s *session) evaluator(recalibrate bool) *evaluate.Evaluator {
	if recalibrate {
		return s.recal
	}
	return s.plain
}

// fitness evaluates a in the evolution package's units (percent).
func (s *session) fitness(limit int, recalibrate bool) evolution.EvaluatorFunc {
	return func(ctx context.Context, a model.Arch) (evolution.Fitness, error) {
		r, err := s.evaluator(recalibrate).Evaluate(ctx, a, limit, nil)
		return evolution.Fitness{Top1: 100 * r.Top1, Top5: 100 * r.Top5, Images: r.Images}, err
	}
}

// throughput measures images/s of a on this session's backend.
func (s *session) throughput(ctx context.Context, a model.Arch, batch int) (profiler.Throughput, error) {
	n, err := s.l.net(a, s.sel, s.threads)
	if err != nil {
		return profiler.Throughput{}, err
	}
	return profiler.MeasureThroughput(ctx, n, profiler.ThroughputOptions{Batch: batch})
}

// dataHash identifies the evaluation data for journals: the manifest's shard digests.
func (s *session) dataHash() string {
	b, _ := json.Marshal(s.set.Manifest)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// parseMACs reads a MACs figure: an integer, a number with a K/M/G suffix, or a percentage
// of the space's largest sub-network ("50%").
func parseMACs(s string, largest int64) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "%"):
		v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil || v <= 0 {
			return 0, usagef("--max-macs %q: want a positive percentage such as 50%%", s)
		}
		return int64(v / 100 * float64(largest)), nil
	case strings.HasSuffix(strings.ToUpper(s), "K"):
		mult = 1e3
	case strings.HasSuffix(strings.ToUpper(s), "M"):
		mult = 1e6
	case strings.HasSuffix(strings.ToUpper(s), "G"):
		mult = 1e9
	}
	num := s
	if mult != 1 {
		num = s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 {
		return 0, usagef("--max-macs %q: want a positive number such as 8500000, 8.5M or 50%%", s)
	}
	return int64(v * mult), nil
}

// checkFileCreatable fails at once, naming flag, when path (a file to be written when the
// work is done, by a temp file renamed into place) cannot be created: better than an hour
// of training or searching lost to a typo. Its directory must exist.
// outputPath is a flag's value that names a file or folder the command writes.
type outputPath struct{ flag, path string }

// checkDistinctOutputs refuses two flags naming the same path: the second writer would
// silently replace the first's output (a CSV export written over the search's own journal).
func checkDistinctOutputs(outs ...outputPath) error {
	seen := map[string]string{}
	for _, o := range outs {
		if o.path == "" {
			continue
		}
		abs, err := filepath.Abs(o.path)
		if err != nil {
			return fmt.Errorf("%s %s: %v", o.flag, o.path, err)
		}
		if prev, ok := seen[abs]; ok {
			return usagef("%s %s is also %s: give each output its own path", o.flag, o.path, prev)
		}
		seen[abs] = o.flag
	}
	return nil
}

func checkFileCreatable(flag, path string) error {
	if path == "" {
		return nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%s %s is a directory: give a file path", flag, path)
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: directory %s does not exist: create it or choose another path", flag, path, dir)
	case err != nil:
		return fmt.Errorf("%s %s: %v: choose another path", flag, path, rootCause(err))
	case !st.IsDir():
		return fmt.Errorf("%s %s: %s is not a directory: choose another path", flag, path, dir)
	}
	return probeWritable(flag, path, dir)
}

// checkDirCreatable is checkFileCreatable for dir, the directory path (the value of flag)
// is written in, created with its parents when missing: its nearest existing ancestor must
// be a writable directory.
func checkDirCreatable(flag, path, dir string) error {
	dir = filepath.Clean(dir)
	for {
		st, err := os.Stat(dir)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s %s: %s is not a directory: choose another path", flag, path, dir)
			}
			return probeWritable(flag, path, dir)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s %s: %v: choose another path", flag, path, rootCause(err))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return fmt.Errorf("%s %s: %v: choose another path", flag, path, rootCause(err))
		}
		dir = parent
	}
}

// probeWritable creates and removes a temporary file in dir: permissions, read-only mounts
// and pseudo-filesystems all answer only to an actual attempt.
func probeWritable(flag, path, dir string) error {
	f, err := os.CreateTemp(dir, ".resnas-write-check-*")
	if err != nil {
		return fmt.Errorf("%s %s: cannot create files in %s (%v): choose a writable directory", flag, path, dir, rootCause(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// rootCause drops the operation and path a *fs.PathError repeats, which the messages above
// already give.
func rootCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

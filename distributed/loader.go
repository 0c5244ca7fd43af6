package distributed

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/resnas/resnas/data"
	"github.com/resnas/resnas/evolution"
	"github.com/resnas/resnas/internal/atomicfile"
	"github.com/resnas/resnas/internal/gemm/backend"
	"github.com/resnas/resnas/workbench"
)

// SessionLoader is the Loader of `resnas worker`: it loads each checkpoint and data set once
// and keeps them. It looks for them locally first (Checkpoint and Data, the shipped default,
// the cache), then fetches them from the driver into Cache.
type SessionLoader struct {
	// Checkpoint and Data are local copies. A worker given them serves only them and refuses
	// jobs of another checkpoint or data set.
	Checkpoint, Data string
	Cache            string // where fetched files go
	Backend          backend.Options

	mu     sync.Mutex
	pinned *workbench.Loaded // Checkpoint, loaded
	// pinnedSet is Data, opened; the shipped default's checkpoint and sub-val are tried once
	// (and kept by digest): a job of another one is refused again every second, and must not
	// reload them each time.
	pinnedSet          *data.Set
	triedShippedCk     bool
	triedShippedSubVal bool
	sel                *backend.Selected
	loaded             map[string]*workbench.Loaded // by sha256
	sets               map[string]*data.Set         // by manifest digest
	sessions           map[[2]string]*workbench.Session
}

// Close releases the backend and the data sets.
func (l *SessionLoader) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.sets {
		s.Close()
	}
	if l.sel != nil {
		l.sel.Close()
	}
}

// Load returns the evaluator for spec.
func (l *SessionLoader) Load(ctx context.Context, spec Spec, files *Files) (evolution.Evaluator, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.loaded == nil {
		l.loaded, l.sets, l.sessions = map[string]*workbench.Loaded{}, map[string]*data.Set{}, map[[2]string]*workbench.Session{}
	}
	if s, ok := l.sessions[[2]string{spec.Checkpoint, spec.Data}]; ok {
		return check(s, spec)
	}
	ck, err := l.checkpoint(ctx, spec, files)
	if err != nil {
		return nil, err
	}
	set, err := l.data(ctx, spec, files)
	if err != nil {
		return nil, err
	}
	if l.sel == nil {
		sel, err := backend.Open(l.Backend)
		if err != nil {
			return nil, err
		}
		l.sel = &sel
	}
	s, err := workbench.NewSession(ck, set, *l.sel, l.Backend.Threads)
	if err != nil {
		return nil, err
	}
	l.sessions[[2]string{spec.Checkpoint, spec.Data}] = s
	return check(s, spec)
}

// check refuses a spec whose scoring this session would not reproduce.
func check(s *workbench.Session, spec Spec) (evolution.Evaluator, error) {
	if w, ok := spec.Scoring["weights"]; ok && w != s.Loaded.Checkpoint.Source {
		return nil, fmt.Errorf("the search scores the checkpoint's %s weights, this worker loaded %s (pass the same --weights)", w, s.Loaded.Checkpoint.Source)
	}
	return s.Fitness(spec.Limit, spec.RecalibrateBN), nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func (l *SessionLoader) checkpoint(ctx context.Context, spec Spec, files *Files) (*workbench.Loaded, error) {
	if ck, ok := l.loaded[spec.Checkpoint]; ok {
		return ck, nil
	}
	opts := workbench.LoadOptions{Prefer: spec.Prefer, Patch: spec.Patch, Space: spec.Space}
	load := func(path string) (*workbench.Loaded, error) {
		ck, err := workbench.Load(path, opts)
		if err != nil {
			return nil, err
		}
		l.loaded[ck.Checkpoint.SHA256] = ck
		return ck, nil
	}
	if l.Checkpoint != "" {
		ck := l.pinned
		if ck == nil {
			var err error
			if ck, err = load(l.Checkpoint); err != nil {
				return nil, err
			}
			l.pinned = ck
		}
		if ck.Checkpoint.SHA256 != spec.Checkpoint {
			return nil, fmt.Errorf("the search uses checkpoint %s (sha256 %s), this worker serves %s (sha256 %s): start it without --checkpoint or with the driver's", spec.CheckpointName, short(spec.Checkpoint), l.Checkpoint, short(ck.Checkpoint.SHA256))
		}
		return ck, nil
	}
	if !l.triedShippedCk {
		l.triedShippedCk = true
		if ck, err := load(""); err == nil && ck.Checkpoint.SHA256 == spec.Checkpoint {
			return ck, nil
		}
	}
	path := filepath.Join(l.Cache, "checkpoints", spec.Checkpoint+checkpointExt(spec.CheckpointName))
	if _, err := os.Stat(path); err != nil {
		ok, err := files.Get(ctx, CheckpointObject(spec.Checkpoint), path)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("no copy of checkpoint %s (sha256 %s) here, and the driver did not publish one (give the worker --checkpoint)", spec.CheckpointName, short(spec.Checkpoint))
		}
	}
	ck, err := load(path)
	if err != nil {
		return nil, err
	}
	if ck.Checkpoint.SHA256 != spec.Checkpoint {
		return nil, fmt.Errorf("%s: sha256 %s, want %s (remove the damaged copy)", path, short(ck.Checkpoint.SHA256), short(spec.Checkpoint))
	}
	return ck, nil
}

func checkpointExt(name string) string {
	if strings.HasSuffix(name, ".pth.tar") {
		return ".pth.tar"
	}
	if ext := filepath.Ext(name); ext == ".pth" || ext == ".pt" || ext == ".tar" {
		return ext
	}
	return ".safetensors"
}

func (l *SessionLoader) data(ctx context.Context, spec Spec, files *Files) (*data.Set, error) {
	if set, ok := l.sets[spec.Data]; ok {
		return set, nil
	}
	// open opens dir ("" for the shipped sub-val) and keeps it by its digest.
	open := func(dir string) (*data.Set, error) {
		var set *data.Set
		var err error
		if dir == "" {
			set, err = workbench.OpenData("", "")
		} else {
			set, err = data.Open(dir, data.OpenOptions{})
		}
		if err != nil {
			return nil, err
		}
		h := workbench.ManifestHash(set.Manifest)
		if kept, ok := l.sets[h]; ok {
			set.Close()
			return kept, nil
		}
		l.sets[h] = set
		return set, nil
	}
	if l.Data != "" {
		if l.pinnedSet == nil {
			set, err := open(l.Data)
			if err != nil {
				return nil, err
			}
			l.pinnedSet = set
		}
		if workbench.ManifestHash(l.pinnedSet.Manifest) != spec.Data {
			return nil, fmt.Errorf("the search evaluates on %s (manifest %s), this worker serves %s: start it without --data or with the driver's", spec.DataName, short(spec.Data), l.Data)
		}
		return l.pinnedSet, nil
	}
	if !l.triedShippedSubVal {
		l.triedShippedSubVal = true
		if set, err := open(""); err == nil && workbench.ManifestHash(set.Manifest) == spec.Data {
			return set, nil
		}
	}
	dir := filepath.Join(l.Cache, "data", spec.Data)
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		if err := fetchData(ctx, files, spec, dir); err != nil {
			return nil, err
		}
	}
	set, err := open(dir)
	if err != nil {
		return nil, err
	}
	if workbench.ManifestHash(set.Manifest) != spec.Data {
		return nil, fmt.Errorf("%s: manifest digest differs from %s (remove the damaged copy)", dir, short(spec.Data))
	}
	return set, nil
}

// fetchData downloads the shards of spec.Data: the list object names every file.
func fetchData(ctx context.Context, files *Files, spec Spec, dir string) error {
	tmp := dir + ".part"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	b, ok, err := files.GetBytes(ctx, DataObject(spec.Data, ".files.json"))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no copy of the data %s (manifest %s) here, and the driver did not publish one (give the worker --data)", spec.DataName, short(spec.Data))
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return fmt.Errorf("data file list: %w", err)
	}
	for _, n := range names {
		if n != filepath.Base(n) || strings.HasPrefix(n, ".") {
			return fmt.Errorf("data file list names %q: not a plain file name", n)
		}
		// A shard missing from the driver's store would leave an incomplete copy that the
		// cache then takes for whole: fail instead.
		if ok, err := files.Get(ctx, DataObject(spec.Data, n), filepath.Join(tmp, n)); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("data file %s is listed but the driver has no copy of it: rerun the search so it publishes its data again", n)
		}
	}
	return atomicfile.ReplaceDir(tmp, dir)
}

// CheckpointObject and DataObject name the object-store copies.
func CheckpointObject(sha string) string { return "checkpoint/" + sha }

// DataObject names one file of a data set.
func DataObject(hash, file string) string { return "data/" + hash + "/" + file }

// Publish puts the checkpoint at path (unless it is the shipped one: path "") and the shards
// in dir (unless shipped: dir "") into the object store for workers without a copy.
func (d *Dispatcher) Publish(ctx context.Context, checkpoint, dir string) error {
	f := NewFiles(d.js)
	if checkpoint != "" {
		if err := f.Put(ctx, CheckpointObject(d.o.Spec.Checkpoint), checkpoint); err != nil {
			return fmt.Errorf("publishing %s: %w", checkpoint, err)
		}
	}
	if dir == "" {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
			if err := f.Put(ctx, DataObject(d.o.Spec.Data, e.Name()), filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("publishing %s: %w", filepath.Join(dir, e.Name()), err)
			}
		}
	}
	b, _ := json.Marshal(names)
	// The list goes last: a worker that finds it finds every file.
	return f.PutBytes(ctx, DataObject(d.o.Spec.Data, ".files.json"), b)
}

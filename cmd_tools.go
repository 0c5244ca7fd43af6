package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/checkpoints/shipped"
	"github.com/resnas/resnas/data"
	"github.com/resnas/resnas/evaluate"
	"github.com/resnas/resnas/internal/atomicfile"
	"github.com/resnas/resnas/internal/gemm/backend"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/supernet"
)

func cmdVersion(ctx context.Context, args []string, e env) error {
	fs := newFlags("version")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	v := struct {
		Version  string   `json:"version"`
		Go       string   `json:"go"`
		OS       string   `json:"os"`
		CPUs     int      `json:"cpus"`
		GEMM     string   `json:"gemm"`
		GEMMInfo string   `json:"gemm_info,omitempty"`
		CUDA     string   `json:"cuda"`
		Notes    []string `json:"notes,omitempty"`
		Default  string   `json:"default_checkpoint"`
	}{Version: buildVersion(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU()}
	sel, err := backend.Open(backend.Options{Device: "cpu", Backend: e.getenv("RESNAS_GEMM")})
	if err != nil {
		return err
	}
	v.GEMM, v.GEMMInfo, v.Notes = sel.Name, sel.Detail, sel.Notes
	sel.Close()
	if cu, err := backend.Open(backend.Options{Device: "cuda"}); err != nil {
		v.CUDA = "unavailable: " + oneLine(err.Error())
	} else {
		v.CUDA = cu.Detail
		cu.Close()
	}
	if ck, err := shipped.Checkpoint(); err == nil {
		v.Default = fmt.Sprintf("%s (%s, sha256 %.12s)", ck.Path, ck.Meta.Space, ck.SHA256)
	} else {
		v.Default = "none: " + oneLine(err.Error())
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(v)
	}
	fmt.Fprintf(e.stdout, "resnas %s (%s, %s, %d CPUs)\nGEMM     %s %s\nCUDA     %s\ndefault  %s\n", v.Version, v.Go, v.OS, v.CPUs, v.GEMM, v.GEMMInfo, v.CUDA, v.Default)
	for _, n := range v.Notes {
		fmt.Fprintf(e.stdout, "note     %s\n", n)
	}
	return nil
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}

func cmdSpaces(ctx context.Context, args []string, e env) error {
	fs := newFlags("spaces")
	asJSON := fs.Bool("json", false, "print JSON (the whole choice lists)")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	var spaces []*supernet.Space
	for _, n := range supernet.Names() {
		s, err := supernet.Lookup(n)
		if err != nil {
			return err
		}
		spaces = append(spaces, s)
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(spaces)
	}
	for _, s := range spaces {
		max, min := s.Max(), s.Min()
		fmt.Fprintf(e.stdout, "%-12s %3dpx %dch patch %-2d  max %8.2f MMACs %7.2f M params   min %8.2f MMACs\n", s.Name, s.Input.Size, s.Input.Channels, s.Input.Patch,
			float64(profiler.MACs(max, s.Input))/1e6, float64(profiler.Params(max, s.Input))/1e6, float64(profiler.MACs(min, s.Input))/1e6)
	}
	return nil
}

func cmdConvert(ctx context.Context, args []string, e env) error {
	fs := newFlags("convert")
	arch := fs.String("arch", "", "largest architecture the weights hold (default: the detected space's max)")
	space := fs.String("space", "", "search space (default: detected from the shapes)")
	patch := fs.Int("patch", 14, "patch size (PyTorch files do not record it)")
	prefer := fs.String("weights", "", "model or model_ema (default: model_ema when present)")
	half := fs.Bool("float16", false, "store float16 (half the size)")
	overwrite := fs.Bool("overwrite", false, "replace an existing OUT file")
	asJSON := fs.Bool("json", false, "print JSON")
	// IN and OUT come first; flags may follow them.
	var pos []string
	for len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		pos, args = append(pos, args[0]), args[1:]
	}
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	if len(pos) != 2 {
		return usagef("want IN and OUT, got %d arguments", len(pos))
	}
	if err := checkOutFile(pos[1], *overwrite); err != nil {
		return err
	}
	l, err := loadCheckpoint(pos[0], loadOptions{prefer: *prefer, patch: *patch, space: *space})
	if err != nil {
		return err
	}
	// What the shapes and the flags tell; checkpoints fills in the rest (run args, provenance).
	meta := checkpoints.Meta{Input: l.input}
	if *arch != "" {
		a, err := l.resolveArch(*arch)
		if err != nil {
			return err
		}
		meta.Arch = a.String()
	} else if l.hasMax {
		meta.Arch = l.maxArch.String()
	}
	if l.space != nil {
		meta.Space = l.space.Name
		meta.Classes = l.space.Classes
	}
	meta.Provenance.Command = "resnas convert " + pos[0] + " " + pos[1]
	if err := checkpoints.ConvertLoaded(l.ck, pos[1], meta, checkpoints.SaveOptions{Float16: *half}); err != nil {
		return err
	}
	res := map[string]any{"out": pos[1], "tensors": len(l.ck.Weights), "arch": meta.Arch, "space": meta.Space, "source": l.ck.Source}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	spaceText := meta.Space
	if spaceText == "" {
		spaceText = "none (weights outside the known spaces)"
	}
	fmt.Fprintf(e.stderr, "wrote %s: %d tensors from %s (%s), space %s\n", pos[1], len(l.ck.Weights), pos[0], l.ck.Source, spaceText)
	return nil
}

// checkOutFile refuses to replace an existing output file unless overwrite is set, as shards
// build does, and refuses anything that is not a file whatever the flag says.
func checkOutFile(out string, overwrite bool) error {
	st, err := os.Lstat(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s: exists and is not a file, so it will not be replaced (choose another output)", out)
	case !overwrite:
		return fmt.Errorf("%s: already exists (pass --overwrite to replace it, or choose another output)", out)
	}
	return nil
}

// cmdExport slices a sub-network out of the supernet and writes its weights, its network_def
// and its metrics into one directory, each file whole or not at all.
func cmdExport(ctx context.Context, args []string, e env) error {
	fs := newFlags("export")
	var cf computeFlags
	cf.register(fs, false)
	out := fs.String("out", "", "output directory")
	dataDir := fs.String("data", "", "shards to measure accuracy on (optional; default: the shipped sub-val with the default checkpoint)")
	limit := fs.Int("limit", 0, "evaluate on at most N images (0: all)")
	overwrite := fs.Bool("overwrite", false, "replace an earlier export in --out")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out DIR is required")
	}
	if *limit < 0 {
		return usagef("--limit %d: want 0 (all images) or a positive count", *limit)
	}
	if err := cf.check(); err != nil {
		return err
	}
	// Before the evaluation, which can take minutes: the output must be usable.
	if err := checkExportDir(*out, *overwrite); err != nil {
		return err
	}
	l, err := cf.load()
	if err != nil {
		return err
	}
	a, err := l.resolveArch(cf.arch)
	if err != nil {
		return err
	}
	metrics := map[string]any{
		"network_def": a.String(),
		"compact":     a.Compact().String(),
		"macs":        profiler.MACs(a, l.input),
		"params":      profiler.Params(a, l.input),
		"input":       l.input,
		"checkpoint":  l.name,
		"sha256":      l.ck.SHA256,
	}
	if set, err := openEvalData(*dataDir, cf.checkpoint); err != nil {
		return err
	} else if set != nil {
		defer set.Close()
		sel, err := cf.backend(e)
		if err != nil {
			return err
		}
		defer sel.Close()
		dw, err := l.deviceWeights(sel)
		if err != nil {
			return err
		}
		ev, err := evaluate.New(set, evaluate.Options{Weights: l.ck.Weights, Input: l.input, Backend: sel.Backend, Threads: cf.threads, Device: dw})
		if err != nil {
			return err
		}
		r, err := ev.Evaluate(ctx, a, *limit, nil)
		if err != nil {
			return err
		}
		metrics["accuracy"] = r
		metrics["data"] = set.Manifest.Split
	}
	files, err := exportSubnet(l, a, *out, metrics)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"files": files, "metrics": metrics})
	}
	for _, f := range files {
		fmt.Fprintln(e.stdout, f)
	}
	return nil
}

// exportFiles are what an export writes into its folder, in the order it lists them.
func exportFiles() []string {
	return []string{"subnet.safetensors", "network_def.txt", "metrics.json"}
}

// checkExportDir refuses an existing non-empty dir unless overwrite is set and it holds only
// an earlier export's files, so a mistyped --out never deletes someone's folder.
func checkExportDir(dir string, overwrite bool) error {
	// The export is staged next to --out and renamed into place, which cannot be done to the
	// current folder or one above it.
	if abs, err := filepath.Abs(dir); err == nil {
		if wd, err := os.Getwd(); err == nil && (abs == wd || strings.HasPrefix(wd, abs+string(filepath.Separator)) || abs == filepath.Dir(abs)) {
			return usagef("--out %s is the current folder or one above it: name a subfolder, e.g. --out %s", dir, filepath.Join(dir, "export"))
		}
	}
	st, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return checkParentDir(dir)
	} else if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("--out %s: exists and is not a folder (choose another output)", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if len(entries) == 0 {
		return checkParentDir(dir)
	}
	if !overwrite {
		return fmt.Errorf("--out %s: already exists (pass --overwrite to replace an earlier export, or choose another output)", dir)
	}
	for _, en := range entries {
		if !slices.Contains(exportFiles(), en.Name()) {
			return fmt.Errorf("--out %s: holds %s, which is not part of an export, so the folder will not be overwritten (remove it yourself or choose another output)", dir, en.Name())
		}
		if !en.Type().IsRegular() {
			return fmt.Errorf("--out %s: %s is not a file, so the folder will not be overwritten (remove it yourself or choose another output)", dir, en.Name())
		}
	}
	return checkParentDir(dir)
}

// checkParentDir checks that a folder can be created next to dir, where the export is staged.
func checkParentDir(dir string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dir)), "."+filepath.Base(dir)+".check-*")
	if err != nil {
		return fmt.Errorf("--out %s: cannot write there: %w", dir, err)
	}
	return os.Remove(tmp)
}

// exportSubnet writes DIR/subnet.safetensors, DIR/network_def.txt and DIR/metrics.json into a
// folder next to dir and then renames it into place, so dir ends up with all three files or
// keeps what it had. checkExportDir has vetted dir.
func exportSubnet(l *loaded, arch model.Arch, dir string, metrics map[string]any) (files []string, err error) {
	w, err := supernet.Slice(l.ck.Weights, arch, l.input)
	if err != nil {
		return nil, err
	}
	dir = filepath.Clean(dir)
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	// MkdirTemp makes 0700; an export is meant to be shared like any output folder.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	meta := checkpoints.Meta{Arch: arch.String(), Input: l.input, Classes: arch.Head.Classes, Mean: l.ck.Meta.Mean, Std: l.ck.Meta.Std}
	meta.Provenance = checkpoints.Provenance{Source: l.name, SHA256: l.ck.SHA256, Command: "resnas export", Created: time.Now().UTC()}
	names := exportFiles()
	staged := make([]string, len(names))
	for i, name := range names {
		staged[i] = filepath.Join(tmp, name)
		files = append(files, filepath.Join(dir, name))
	}
	if err := checkpoints.Save(staged[0], w, meta, checkpoints.SaveOptions{}); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(staged[1], []byte(arch.String()+"\n")); err != nil {
		return nil, err
	}
	mj, err := json.MarshalIndent(metrics, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(staged[2], append(mj, '\n')); err != nil {
		return nil, err
	}
	if err := atomicfile.ReplaceDir(tmp, dir); err != nil {
		return nil, fmt.Errorf("--out %s: %w", dir, err)
	}
	return files, nil
}

// openEvalData opens shards for evaluation: dir if given, else the shipped sub-val when the
// default checkpoint is used, else nothing.
func openEvalData(dir, checkpoint string) (*data.Set, error) {
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

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/checkpoints/shipped"
	"github.com/resnas/resnas/evaluate"
	"github.com/resnas/resnas/internal/gemm/backend"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/supernet"
	"github.com/resnas/resnas/workbench"
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
	l, err := workbench.Load(pos[0], workbench.LoadOptions{Prefer: *prefer, Patch: *patch, Space: *space})
	if err != nil {
		return err
	}
	// What the shapes and the flags tell; checkpoints fills in the rest (run args, provenance).
	meta := checkpoints.Meta{Input: l.Input}
	if *arch != "" {
		a, err := l.ResolveArch(*arch)
		if err != nil {
			return err
		}
		meta.Arch = a.String()
	} else if l.HasMax {
		meta.Arch = l.MaxArch.String()
	}
	if l.Space != nil {
		meta.Space = l.Space.Name
		meta.Classes = l.Space.Classes
	}
	meta.Provenance.Command = "resnas convert " + pos[0] + " " + pos[1]
	ck := l.Checkpoint
	if err := checkpoints.ConvertLoaded(ck, pos[1], meta, checkpoints.SaveOptions{Float16: *half}); err != nil {
		return err
	}
	res := map[string]any{"out": pos[1], "tensors": len(ck.Weights), "arch": meta.Arch, "space": meta.Space, "source": ck.Source}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	spaceText := meta.Space
	if spaceText == "" {
		spaceText = "none (weights outside the known spaces)"
	}
	fmt.Fprintf(e.stderr, "wrote %s: %d tensors from %s (%s), space %s\n", pos[1], len(ck.Weights), pos[0], ck.Source, spaceText)
	return nil
}

// cmdExport slices a sub-network out of the supernet and writes its weights (safetensors,
// PyTorch or both), its network_def and its metrics into one directory, whole or not at all.
func cmdExport(ctx context.Context, args []string, e env) error {
	fs := newFlags("export")
	var cf computeFlags
	cf.register(fs, false)
	out := fs.String("out", "", "output directory")
	dataDir := fs.String("data", "", "shards to measure accuracy on (optional; default: the shipped sub-val with the default checkpoint)")
	limit := fs.Int("limit", 0, "evaluate on at most N images (0: all)")
	overwrite := fs.Bool("overwrite", false, "replace an earlier export in --out")
	format := fs.String("format", workbench.FormatSafetensors, "weights format: safetensors, pytorch (torch.save, compact network_def, reference RETRAIN.md) or both")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out DIR is required")
	}
	if err := workbench.CheckExportFormat(*format); err != nil {
		return flagError("--format", err)
	}
	if *limit < 0 {
		return usagef("--limit %d: want 0 (all images) or a positive count", *limit)
	}
	if err := cf.check(); err != nil {
		return err
	}
	// Before the evaluation, which can take minutes: the output must be usable.
	if err := workbench.CheckExportDir(*out, *overwrite); err != nil {
		return flagError("--out", err)
	}
	l, err := cf.load()
	if err != nil {
		return err
	}
	a, err := l.ResolveArch(cf.arch)
	if err != nil {
		return err
	}
	metrics := map[string]any{
		"network_def": a.String(),
		"compact":     a.Compact().String(),
		"macs":        profiler.MACs(a, l.Input),
		"params":      profiler.Params(a, l.Input),
		"input":       l.Input,
		"checkpoint":  l.Name,
		"sha256":      l.Checkpoint.SHA256,
	}
	if set, err := workbench.OpenData(*dataDir, cf.checkpoint); err != nil {
		return err
	} else if set != nil {
		defer set.Close()
		sel, err := cf.backend(e)
		if err != nil {
			return err
		}
		defer sel.Close()
		dw, err := l.DeviceWeights(sel)
		if err != nil {
			return err
		}
		ev, err := evaluate.New(set, evaluate.Options{Weights: l.Checkpoint.Weights, Input: l.Input, Backend: sel.Backend, Threads: cf.threads, Device: dw})
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
	res, err := workbench.ExportSubnetAs(l, a, *out, metrics, workbench.ExportOptions{Format: *format})
	if err != nil {
		return err
	}
	if res.Notes == nil {
		res.Notes = []string{}
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"files": res.Files, "notes": res.Notes, "format": *format, "metrics": metrics})
	}
	for _, f := range res.Files {
		fmt.Fprintln(e.stdout, f)
	}
	if line := workbench.NotesLine(res.Notes); line != "" {
		fmt.Fprintln(e.stderr, "note: "+line)
	}
	return nil
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/resnas/resnas/data"
	"github.com/resnas/resnas/internal/atomicfile"
	"github.com/resnas/resnas/internal/gemm/backend"
	"github.com/resnas/resnas/internal/gemm/backend/native"
	"github.com/resnas/resnas/internal/gemm/cuda"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/workbench"
)

// newFlags makes a flag set that returns errors instead of exiting; run prints them once.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args, prints the flag list for -h, and turns flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string, e env) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(e.stdout)
			fmt.Fprintf(e.stdout, "usage of resnas %s:\n", fs.Name())
			fs.PrintDefaults()
			return err
		}
		return usageError{Msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// flagError puts the flag in front of err, whose message already names the flag's value,
// keeping a usage error one: "--out x: already exists".
func flagError(flag string, err error) error {
	if errors.As(err, new(usageError)) {
		return usagef("%s %v", flag, err)
	}
	return fmt.Errorf("%s %w", flag, err)
}

// computeFlags are the flags of every command that runs a network.
type computeFlags struct {
	checkpoint, arch, prefer, space, device string
	patch, threads                          int
	float16                                 bool
}

func (c *computeFlags) register(fs interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
	BoolVar(*bool, string, bool, string)
}, withDevice bool) {
	fs.StringVar(&c.checkpoint, "checkpoint", "", "supernet or network checkpoint (.pth.tar or .safetensors); empty: the shipped default")
	fs.StringVar(&c.arch, "arch", "", "network_def tuple, preset, max, min, or JSON file")
	fs.StringVar(&c.prefer, "weights", "", "which weights of a training checkpoint: model or model_ema (default: model_ema when present, as the reference evaluates)")
	fs.StringVar(&c.space, "space", "", "search space of the checkpoint (default: detected)")
	fs.IntVar(&c.patch, "patch", 14, "patch size of a PyTorch checkpoint (stem downsampling)")
	fs.IntVar(&c.threads, "threads", 0, "CPU threads (default: all cores)")
	fs.BoolVar(&c.float16, "float16", false, "keep the supernet's weights in float16 in memory (half the memory; each sub-network computes in float32 on copies of the blocks it uses); CPU only")
	if withDevice {
		fs.StringVar(&c.device, "device", "auto", "cpu, cuda or auto (the GPU when CUDA loads, else the CPU)")
	}
}

// withoutArch registers the compute flags but --arch, for commands that generate their own
// architectures: a flag accepted but ignored would mislead.
type withoutArch struct{ *flag.FlagSet }

func (f withoutArch) StringVar(p *string, name, value, usage string) {
	if name != "arch" {
		f.FlagSet.StringVar(p, name, value, usage)
	}
}

// check rejects values that would otherwise be quietly replaced by a default.
func (c *computeFlags) check() error {
	if c.prefer != "" && c.prefer != "model" && c.prefer != "model_ema" {
		return usagef("--weights must be model or model_ema, not %q", c.prefer)
	}
	if c.threads < 0 {
		return usagef("--threads %d: want 0 (all cores) or a positive count", c.threads)
	}
	if c.patch <= 0 || c.patch > model.MaxDim {
		return usagef("--patch %d: want 1..%d", c.patch, model.MaxDim)
	}
	return nil
}

func (c *computeFlags) load() (*workbench.Loaded, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	return workbench.Load(c.checkpoint, workbench.LoadOptions{Prefer: c.prefer, Patch: c.patch, Space: c.space, Float16: c.float16})
}

// backend opens the GEMM backend --device asks for and reports on stderr what a user should
// know of the choice.
func (c *computeFlags) backend(e env) (backend.Selected, error) {
	dev := c.device
	if dev == "" {
		dev = "cpu" // commands without --device run on the CPU
	}
	if dev != "cpu" && dev != "cuda" && dev != "auto" {
		return backend.Selected{}, usagef("--device must be cpu, cuda or auto, not %q", dev)
	}
	if c.float16 {
		if dev == "cuda" {
			return backend.Selected{}, usagef("--float16 keeps weights for the CPU path: leave it out to run on the GPU, or give --device cpu")
		}
		dev = "cpu" // auto: float16 weights run on the CPU
	}
	sel, err := backend.Open(backend.Options{Device: dev, Threads: c.threads, Backend: e.getenv("RESNAS_GEMM")})
	if err != nil {
		return sel, err
	}
	for _, n := range sel.Notes {
		if strings.HasPrefix(n, "cuda: ") && errors.Is(sel.CUDAErr, cuda.ErrNoDriver) {
			continue // no NVIDIA driver: a CPU machine, nothing to report
		}
		if strings.HasPrefix(n, "openblas: ") && errors.Is(sel.OpenBLASErr, native.ErrNotFound) {
			continue // not installed: pure Go is the documented fallback, and resnas version says so
		}
		fmt.Fprintf(e.stderr, "resnas: %s\n", n)
	}
	if sel.Device == "cuda" && dev == "auto" {
		// auto may land on either; say which, so a CPU figure is never taken for a GPU one.
		fmt.Fprintf(e.stderr, "resnas: running on the GPU: %s\n", sel.Detail)
	}
	return sel, nil
}

// loadWithData loads the checkpoint, its evaluation shards (dataDir, or the shipped sub-val
// with the shipped checkpoint) and the GEMM backend. On success the caller closes set and sel.
func (c *computeFlags) loadWithData(dataDir string, e env) (*workbench.Loaded, *data.Set, backend.Selected, error) {
	var sel backend.Selected
	l, err := c.load()
	if err != nil {
		return nil, nil, sel, err
	}
	set, err := workbench.OpenData(dataDir, c.checkpoint)
	if err != nil {
		return nil, nil, sel, err
	}
	if set == nil {
		return nil, nil, sel, usagef("--data DIR is required with --checkpoint (build shards with resnas shards build)")
	}
	if sel, err = c.backend(e); err != nil {
		set.Close()
		return nil, nil, sel, err
	}
	return l, set, sel, nil
}

// session is loadWithData and a workbench.Session over it; on success the caller closes
// the session's Data and Backend.
func (c *computeFlags) session(dataDir string, e env) (*workbench.Session, error) {
	l, set, sel, err := c.loadWithData(dataDir, e)
	if err != nil {
		return nil, err
	}
	s, err := workbench.NewSession(l, set, sel, c.threads)
	if err != nil {
		set.Close()
		sel.Close()
		return nil, err
	}
	return s, nil
}

// netFor resolves --arch against l and builds its network on the backend the flags choose.
// On success the caller closes sel.
func (c *computeFlags) netFor(l *workbench.Loaded, e env) (*model.Net, model.Arch, backend.Selected, error) {
	var sel backend.Selected
	a, err := l.ResolveArch(c.arch)
	if err != nil {
		return nil, a, sel, err
	}
	if sel, err = c.backend(e); err != nil {
		return nil, a, sel, err
	}
	n, err := l.Net(a, sel, c.threads)
	if err != nil {
		sel.Close()
		return nil, a, sel, err
	}
	return n, a, sel, nil
}

// maxShapeValues bounds N·C·H·W of --shape (2^34 float32 values, 64 GiB), far above any real
// input file, so the product and its byte count can never overflow an int.
const maxShapeValues = 1 << 34

func parseShape(s string) ([4]int, error) {
	var d [4]int
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return d, usagef("--shape %q: want N,C,H,W", s)
	}
	total := 1
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v <= 0 {
			return d, usagef("--shape %q: %q is not a positive integer", s, p)
		}
		// Checked before multiplying, so the product never wraps around.
		if v > maxShapeValues/total {
			return d, usagef("--shape %q: too large (at most %d values in all, %d GiB of float32)", s, maxShapeValues, maxShapeValues*4>>30)
		}
		total *= v
		d[i] = v
	}
	return d, nil
}

// checkInputFile explains an --input that cannot be a float32 file before the checkpoint loads.
func checkInputFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("--input: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("--input %s is a directory; give a file of float32 NCHW values", path)
	}
	return nil
}

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

// checkFileCreatable fails at once, naming flag, when path (a file written when the work is
// done) cannot be created: better than an hour of training or searching lost to a typo.
func checkFileCreatable(flag, path string) error {
	if path == "" {
		return nil
	}
	if err := atomicfile.Creatable(path); err != nil {
		return fmt.Errorf("%s %s: %w", flag, path, err)
	}
	return nil
}

// checkDirCreatable is checkFileCreatable for dir, the directory path (the value of flag)
// is written in, created with its parents when missing.
func checkDirCreatable(flag, path, dir string) error {
	if err := atomicfile.DirCreatable(dir); err != nil {
		return fmt.Errorf("%s %s: %w", flag, path, err)
	}
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

package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/resnas/resnas/data"
	"github.com/resnas/resnas/internal/gemm/backend"
	"github.com/resnas/resnas/internal/gemm/cuda"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
)

// computeFlags are the flags of every command that runs a network.
type computeFlags struct {
	checkpoint, arch, prefer, space, device string
	patch, threads                          int
}

func (c *computeFlags) register(fs interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
}, withDevice bool) {
	fs.StringVar(&c.checkpoint, "checkpoint", "", "supernet or network checkpoint (.pth.tar or .safetensors); empty: the shipped default")
	fs.StringVar(&c.arch, "arch", "", "network_def tuple, preset, max, min, or JSON file")
	fs.StringVar(&c.prefer, "weights", "", "which weights of a training checkpoint: model or model_ema (default: model_ema when present, as the reference evaluates)")
	fs.StringVar(&c.space, "space", "", "search space of the checkpoint (default: detected)")
	fs.IntVar(&c.patch, "patch", 14, "patch size of a PyTorch checkpoint (stem downsampling)")
	fs.IntVar(&c.threads, "threads", 0, "CPU threads (default: all cores)")
	if withDevice {
		fs.StringVar(&c.device, "device", "auto", "cpu, cuda or auto (the GPU when CUDA loads, else the CPU)")
	}
}

func (c *computeFlags) load() (*loaded, error) {
	if c.prefer != "" && c.prefer != "model" && c.prefer != "model_ema" {
		return nil, usagef("--weights must be model or model_ema, not %q", c.prefer)
	}
	return loadCheckpoint(c.checkpoint, loadOptions{prefer: c.prefer, patch: c.patch, space: c.space})
}

func (c *computeFlags) backend(e env) (backend.Selected, error) {
	dev := c.device
	if dev == "" {
		dev = "cpu" // commands without --device run on the CPU
	}
	if dev != "cpu" && dev != "cuda" && dev != "auto" {
		return backend.Selected{}, usagef("--device must be cpu, cuda or auto, not %q", dev)
	}
	sel, err := backend.Open(backend.Options{Device: dev, Threads: c.threads, Backend: e.getenv("RESNAS_GEMM")})
	if err != nil {
		return sel, err
	}
	for _, n := range sel.Notes {
		if strings.HasPrefix(n, "cuda: ") && errors.Is(sel.CUDAErr, cuda.ErrNoDriver) {
			continue // no NVIDIA driver: a CPU machine, nothing to report
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
func (c *computeFlags) loadWithData(dataDir string, e env) (*loaded, *data.Set, backend.Selected, error) {
	var sel backend.Selected
	l, err := c.load()
	if err != nil {
		return nil, nil, sel, err
	}
	set, err := openEvalData(dataDir, c.checkpoint)
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

// netFor resolves --arch against l and builds its network on the backend the flags choose.
// On success the caller closes sel.
func (c *computeFlags) netFor(l *loaded, e env) (*model.Net, model.Arch, backend.Selected, error) {
	var sel backend.Selected
	a, err := l.resolveArch(c.arch)
	if err != nil {
		return nil, a, sel, err
	}
	if sel, err = c.backend(e); err != nil {
		return nil, a, sel, err
	}
	n, err := l.net(a, sel, c.threads)
	if err != nil {
		sel.Close()
		return nil, a, sel, err
	}
	return n, a, sel, nil
}

func cmdPredict(ctx context.Context, args []string, e env) error {
	fs := newFlags("predict")
	var cf computeFlags
	cf.register(fs, true)
	input := fs.String("input", "", "input images: float32 little-endian NCHW, already normalised")
	shape := fs.String("shape", "", "N,C,H,W of --input")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if *input == "" || *shape == "" {
		return usagef("--input and --shape are required")
	}
	dims, err := parseShape(*shape)
	if err != nil {
		return err
	}
	l, err := cf.load()
	if err != nil {
		return err
	}
	if dims[1] != l.input.Channels || dims[2] != l.input.Size || dims[3] != l.input.Size {
		return fmt.Errorf("--shape %s: images are %d×%d×%d, but %s expects %d×%d×%d", *shape, dims[1], dims[2], dims[3], l.name, l.input.Channels, l.input.Size, l.input.Size)
	}
	x, err := readF32(*input, dims[0]*dims[1]*dims[2]*dims[3])
	if err != nil {
		return err
	}
	n, _, sel, err := cf.netFor(l, e)
	if err != nil {
		return err
	}
	defer sel.Close()
	logits := make([]float32, dims[0]*n.Classes())
	if err := n.Forward(ctx, x, dims[0], logits); err != nil {
		return err
	}
	w := bufio.NewWriter(e.stdout)
	for i := 0; i < dims[0]; i++ {
		row := logits[i*n.Classes() : (i+1)*n.Classes()]
		b, err := json.Marshal(row)
		if err != nil {
			return err
		}
		w.Write(b)
		w.WriteByte('\n')
	}
	return w.Flush()
}

func parseShape(s string) ([4]int, error) {
	var d [4]int
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return d, usagef("--shape %q: want N,C,H,W", s)
	}
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v <= 0 {
			return d, usagef("--shape %q: %q is not a positive integer", s, p)
		}
		d[i] = v
	}
	return d, nil
}

// readF32 reads exactly n little-endian float32 values.
func readF32(path string, n int) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() != int64(n)*4 {
		return nil, fmt.Errorf("%s: %d bytes, but --shape needs %d values = %d bytes", path, st.Size(), n, n*4)
	}
	buf := make([]byte, n*4)
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[i*4:]))
	}
	return x, nil
}

func cmdProfile(ctx context.Context, args []string, e env) error {
	fs := newFlags("profile")
	arch := fs.String("arch", "", "network_def tuple, preset, max, min, or JSON file")
	img := fs.Int("img", 0, "image size (default: the checkpoint's, or 224 for presets and tuples)")
	patch := fs.Int("patch", 0, "patch size (default: the checkpoint's, or 14)")
	channels := fs.Int("channels", 0, "input channels (default: the checkpoint's, or 3)")
	ckpt := fs.String("checkpoint", "", "checkpoint whose space resolves max/min and whose geometry is the default (empty: the shipped default)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	var l *loaded
	var err error
	// A preset or a tuple needs no checkpoint; max/min and the geometry default come from one.
	if *ckpt != "" || *arch == "max" || *arch == "min" || *arch == "" {
		if l, err = loadCheckpoint(*ckpt, loadOptions{patch: *patch}); err != nil {
			return err
		}
	} else {
		l = &loaded{name: "--arch", input: model.ReferenceInput()}
	}
	a, err := l.resolveArch(*arch)
	if err != nil {
		return err
	}
	in := l.input
	if *img > 0 {
		in.Size = *img
	}
	if *patch > 0 {
		in.Patch = *patch
	}
	if *channels > 0 {
		in.Channels = *channels
	}
	if err := a.ValidateFor(in); err != nil {
		return err
	}
	res := struct {
		MACs     int64  `json:"macs"`
		Params   int64  `json:"params"`
		Img      int    `json:"img"`
		Patch    int    `json:"patch"`
		Channels int    `json:"channels"`
		Blocks   int    `json:"blocks"`
		Arch     string `json:"network_def"`
	}{profiler.MACs(a, in), profiler.Params(a, in), in.Size, in.Patch, in.Channels, len(a.Compact().Layers), a.String()}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	fmt.Fprintf(e.stdout, "MACs    %d (%.4f G)\nparams  %d (%.2f M)\ninput   %d×%d×%d, patch %d\n", res.MACs, float64(res.MACs)/1e9, res.Params, float64(res.Params)/1e6, in.Channels, in.Size, in.Size, in.Patch)
	return nil
}

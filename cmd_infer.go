package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
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

func (c *computeFlags) load() (*loaded, error) {
	if err := c.check(); err != nil {
		return nil, err
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
	asJSON := fs.Bool("json", false, `print one JSON object {"logits": [[…], …], "predicted": […], …} instead of one array per line`)
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
	if err := cf.check(); err != nil {
		return err
	}
	if err := checkInputFile(*input); err != nil {
		return err
	}
	l, err := cf.load()
	if err != nil {
		return err
	}
	if dims[1] != l.input.Channels || dims[2] != l.input.Size || dims[3] != l.input.Size {
		return fmt.Errorf("--shape %s: images are %d×%d×%d, but checkpoint %s expects %d×%d×%d", *shape, dims[1], dims[2], dims[3], l.name, l.input.Channels, l.input.Size, l.input.Size)
	}
	n, a, sel, err := cf.netFor(l, e)
	if err != nil {
		return err
	}
	defer sel.Close()
	// The whole file is one batch, so it must fit in memory with its activations.
	if err := checkBatchMemory(dims[0], a, l.input, n.OnGPU(), "--shape: split --input into files of at most %d images"); err != nil {
		return err
	}
	x, err := readF32(*input, dims[0]*dims[1]*dims[2]*dims[3])
	if err != nil {
		return err
	}
	classes := n.Classes()
	logits := make([]float32, dims[0]*classes)
	if err := n.Forward(ctx, x, dims[0], logits); err != nil {
		return err
	}
	rows := make([][]float32, dims[0])
	for i := range rows {
		rows[i] = logits[i*classes : (i+1)*classes]
	}
	if *asJSON {
		res := struct {
			Logits     [][]float32 `json:"logits"`
			Predicted  []int       `json:"predicted"` // argmax of each row
			Images     int         `json:"images"`
			Classes    int         `json:"classes"`
			Arch       string      `json:"network_def"`
			Checkpoint string      `json:"checkpoint"`
			Device     string      `json:"device"`
		}{rows, make([]int, len(rows)), len(rows), classes, a.String(), l.name, sel.Device}
		for i, r := range rows {
			for j, v := range r {
				if v > r[res.Predicted[i]] {
					res.Predicted[i] = j
				}
			}
		}
		return json.NewEncoder(e.stdout).Encode(res)
	}
	// Default: one JSON array per image, which scripts read line by line.
	w := bufio.NewWriter(e.stdout)
	for _, row := range rows {
		b, err := json.Marshal(row)
		if err != nil {
			return err
		}
		w.Write(b)
		w.WriteByte('\n')
	}
	return w.Flush()
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
	if st.IsDir() {
		return nil, fmt.Errorf("--input %s is a directory; give a file of float32 NCHW values", path)
	}
	if st.Size() != int64(n)*4 {
		return nil, fmt.Errorf("%s: %d bytes, but --shape needs %d values = %d bytes", path, st.Size(), n, int64(n)*4)
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

// batchBytesPerImage estimates the host memory one image of a batch takes in a forward: its
// input, its logits, the raw bytes it is read from and, on the CPU, the activations the
// workspaces hold for every image of the batch (token matrices, qkv, attention, MLP hidden).
// On the GPU, activations live in a bounded device workspace, so only the host side counts.
func batchBytesPerImage(a model.Arch, in model.Input, gpu bool) float64 {
	pix := float64(in.Channels) * float64(in.Size) * float64(in.Size)
	floats := 2*pix + float64(a.Head.Classes) // input, its raw bytes (as many), logits
	if !gpu {
		grid, c := float64(in.Grid()), float64(a.Stem.Width)
		tok := 1 + grid*grid
		tokens, widest := tok*c, 0.0
		for _, l := range a.Layers {
			switch l.Type {
			case model.TypeBlock:
				if l.Exists {
					hd := float64(l.Heads) * float64(l.HeadDim)
					widest = max(widest, tok*(4*hd+float64(l.MLP))) // qkv, attention, hidden
				}
			case model.TypeReduction:
				grid = math.Floor(grid / 2)
				tok = 1 + grid*grid
				tokens = max(tokens, tok*float64(l.Out))
			}
		}
		floats += 3*tokens + widest // x, xAlt and the LayerNorm output
	}
	return 4 * floats
}

// checkBatchMemory refuses a batch whose forward would not fit in the memory available now,
// so a typo in --batch is an error message rather than an out-of-memory crash. fix is the
// advice, with a %d for the largest batch that fits.
func checkBatchMemory(batch int, a model.Arch, in model.Input, gpu bool, fix string) error {
	per := batchBytesPerImage(a, in, gpu)
	need := per * float64(batch)
	avail, ok := availableMemory()
	if !ok || need <= float64(avail) {
		return nil
	}
	return fmt.Errorf("%d images need about %s of memory for inputs and activations, but %s is available; "+fix,
		batch, humanBytes(need), humanBytes(float64(avail)), int(float64(avail)/per))
}

// availableMemory reads MemAvailable from /proc/meminfo; ok is false where that is unknown.
func availableMemory() (uint64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, found := strings.CutPrefix(line, "MemAvailable:"); found {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, false
			}
			return kb * 1024, true
		}
	}
	return 0, false
}

func humanBytes(b float64) string {
	switch {
	case b >= 1<<40:
		return fmt.Sprintf("%.1f TiB", b/(1<<40))
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", b/(1<<30))
	default:
		return fmt.Sprintf("%.0f MiB", b/(1<<20))
	}
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
	// 0 stands for "the checkpoint's", so only a value typed on the command line is checked.
	var err error
	fs.Visit(func(f *flag.Flag) {
		size := map[string]*int{"img": img, "patch": patch, "channels": channels}[f.Name]
		if err == nil && size != nil && (*size <= 0 || *size > model.MaxDim) {
			err = usagef("--%s %d: want 1..%d", f.Name, *size, model.MaxDim)
		}
	})
	if err != nil {
		return err
	}
	var l *loaded
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

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"github.com/resnas/resnas/data"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/workbench"
)

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
	if in := l.Input; dims[1] != in.Channels || dims[2] != in.Size || dims[3] != in.Size {
		return fmt.Errorf("--shape %s: images are %d×%d×%d, but checkpoint %s expects %d×%d×%d", *shape, dims[1], dims[2], dims[3], l.Name, in.Channels, in.Size, in.Size)
	}
	n, a, sel, err := cf.netFor(l, e)
	if err != nil {
		return err
	}
	defer sel.Close()
	// The whole file is one batch, so it must fit in memory with its activations.
	if err := checkBatchMemory(dims[0], a, l.Input, n.OnGPU(), "--shape: split --input into files of at most %d images"); err != nil {
		return err
	}
	x, err := data.ReadFloat32(*input, dims[0]*dims[1]*dims[2]*dims[3])
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
		}{rows, make([]int, len(rows)), len(rows), classes, a.String(), l.Name, sel.Device}
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
	l := workbench.ForArch()
	// A preset or a tuple needs no checkpoint; max/min and the geometry default come from one.
	if *ckpt != "" || *arch == "max" || *arch == "min" || *arch == "" {
		if l, err = workbench.Load(*ckpt, workbench.LoadOptions{Patch: *patch}); err != nil {
			return err
		}
	}
	a, err := l.ResolveArch(*arch)
	if err != nil {
		return err
	}
	in := l.Input
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

// checkBatchMemory refuses a batch whose forward would not fit in the memory available now;
// fix is the advice, with a %d for the largest batch that fits.
func checkBatchMemory(batch int, a model.Arch, in model.Input, gpu bool, fix string) error {
	var me *profiler.MemoryError
	if err := profiler.CheckBatchMemory(batch, a, in, gpu); errors.As(err, &me) {
		return fmt.Errorf("%v; "+fix, me, me.MaxBatch)
	}
	return nil
}

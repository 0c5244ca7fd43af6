// Package train trains a supernet with multi-architecture sampling (the reference's
// vit-search recipe, optionally with the sandwich rule): Run keeps a resumable state per
// epoch in Options.Dir and returns the trained weights with their checkpoint metadata for
// the caller to save.
package train

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/gemm/gonum"
	"github.com/resnas/resnas/internal/nn"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// Images is a labelled image set, as data.Set provides: Batch writes the normalised images
// idx (channels × height × width each, row-major) into dst and their labels into labels.
type Images interface {
	Len() int
	Shape() (c, h, w int)
	Batch(idx []int, dst []float32, labels []int)
}

// Options configure supernet training. DefaultOptions gives a working recipe; the
// zero value is not one.
type Options struct {
	Space supernet.Space // search space; its Input gives the image geometry
	Train Images         // training images, geometry Space.Input
	Val   Images         // optional: top-1 of the largest and smallest sub-networks after each epoch
	Gemm  gemm.Backend   // nil: pure Go (gonum)
	// Workers is the number of goroutines training uses; 0 means runtime.NumCPU(). Each
	// keeps its own activations and gradients (4 bytes per supernet parameter), and results
	// are reproducible for a given Workers (it sets the order of floating-point sums).
	Workers int

	Epochs          int
	BatchSize       int // images per step
	ExamplesPerArch int // images per sub-network: BatchSize/ExamplesPerArch sub-networks per step
	// ChannelWarmupEpochs phases in the smaller choices (reference --num-warmup-epochs) and
	// bounds the epochs with rewiring (importance sorting).
	ChannelWarmupEpochs int
	// Sandwich replaces two of each batch's sampled sub-networks by the largest and the
	// smallest in play (BigNAS's sandwich rule; not in the reference, which samples all k):
	// the extremes the search trades between get trained every step. It needs at least 3
	// sub-networks per batch (with 2, only the largest is forced).
	Sandwich bool
	// LargestGroups, with Sandwich, is how many of each batch's groups run the largest
	// sub-network (0 and 1 mean one, BigNAS's rule). More gives the largest network, whose
	// accuracy bounds the whole front, more of each step, at the cost of fewer random draws.
	LargestGroups int

	LR, WarmupLR, MinLR float64 // peak (already scaled for the batch size), start, floor
	LRWarmupEpochs      int
	WeightDecay         float64
	LabelSmoothing      float64
	DropPath            float64 // largest drop-path rate (linear over blocks)

	// Augmentation: random translation by up to ShiftPad pixels in each direction (a random
	// crop of the image padded with Fill), horizontal flip with probability ½, and random
	// erasing (timm pixel mode) with probability EraseProb.
	ShiftPad  int
	Flip      bool
	EraseProb float64
	// Fill is the normalised value of a black pixel per channel; nil uses each channel's
	// minimum over the first training batch (black in Fashion-MNIST).
	Fill []float32

	Seed uint64
	// Dir receives the training state after every epoch (StateFile), read by Resume. Empty:
	// nothing is written. The trained weights are not written here: Run returns them.
	Dir    string
	Resume bool // continue from Dir/StateFile
	// Mean and Std (per channel, on the 0..1 scale) are recorded in Result.Meta so the
	// weights say how their inputs were normalised; optional.
	Mean, Std []float64
	// Command is recorded in Result.Meta's provenance; optional.
	Command string
}

// StateFile is the file Run keeps in Options.Dir: the training state after the last
// complete epoch (weights, AdamW moments, epoch), rewritten atomically after every epoch.
const StateFile = "train-state.safetensors"

// DefaultOptions is the recommended recipe for the fmnist space on 2 cores: 28 epochs of
// 55,000 images, about 65 minutes (measured with other work on the machine: 3.5 minutes for
// epoch 0, which trains only the largest network, then about 2.3 per epoch including the
// sub-val evaluation of the largest and smallest networks). Batches of 128 are split between 4
// sub-networks of 32 images (with at most 4 choices per dimension, stratified sampling then
// trains every choice of every dimension in every batch); the first 7 epochs (a quarter, as
// the reference's 30 of 120) phase in the smaller choices while rewiring. AdamW at 2e-3 with
// one epoch of linear warm-up and a cosine decay, weight decay 0.05, label smoothing 0.1, light
// drop-path 0.05, shifts of up to 2 pixels and horizontal flips (a short schedule gains little
// from heavier regularisation). A 6-epoch run of this recipe reached 88.0% (largest) and 87.2%
// (smallest) sub-val top-1 after its fifth epoch.
func DefaultOptions() Options {
	return Options{
		Epochs: 28, BatchSize: 128, ExamplesPerArch: 32, ChannelWarmupEpochs: 7,
		LR: 2e-3, WarmupLR: 1e-5, MinLR: 1e-5, LRWarmupEpochs: 1,
		WeightDecay: 0.05, LabelSmoothing: 0.1, DropPath: 0.05,
		ShiftPad: 2, Flip: true, LargestGroups: 1,
	}
}

// Progress reports training as it goes.
type Progress struct {
	Epoch, Epochs int // 0-based current epoch, total
	Step, Steps   int // steps done in this epoch, steps per epoch
	ImagesPerSec  float64
	Loss          float64 // mean training loss over this epoch so far
	LR            float64
	ETA           time.Duration // to the end of training at the current speed
	// EpochDone marks the report after an epoch's checkpoint; Val* are set then when a
	// validation set was given (NaN otherwise).
	EpochDone         bool
	ValTop1Largest    float64
	ValTop1Smallest   float64
	CheckpointWritten string
}

func (o *Options) check() error {
	s := o.Space
	if o.Train == nil {
		return errors.New("train: no training images (set Options.Train)")
	}
	if c, h, w := o.Train.Shape(); c != s.Input.Channels || h != s.Input.Size || w != s.Input.Size {
		return fmt.Errorf("train: images are %d×%d×%d but space %s wants %d×%d×%d (build shards at the space's size)", c, h, w, s.Name, s.Input.Channels, s.Input.Size, s.Input.Size)
	}
	switch {
	case o.Epochs < 1:
		return fmt.Errorf("train: epochs %d: want at least 1", o.Epochs)
	case o.BatchSize < 1 || o.ExamplesPerArch < 1 || o.BatchSize%o.ExamplesPerArch != 0:
		return fmt.Errorf("train: batch %d is not a multiple of examples-per-arch %d", o.BatchSize, o.ExamplesPerArch)
	case o.Train.Len() < o.BatchSize:
		return fmt.Errorf("train: %d training images, fewer than one batch of %d", o.Train.Len(), o.BatchSize)
	case o.LR <= 0 || o.WarmupLR < 0 || o.MinLR < 0:
		return fmt.Errorf("train: learning rates peak %g, warm-up start %g, floor %g: want peak > 0, others ≥ 0", o.LR, o.WarmupLR, o.MinLR)
	case o.LRWarmupEpochs < 0 || o.ChannelWarmupEpochs < 0:
		return fmt.Errorf("train: warm-up epochs (learning rate %d, channels %d): want ≥ 0", o.LRWarmupEpochs, o.ChannelWarmupEpochs)
	case o.WeightDecay < 0 || o.EraseProb < 0 || o.EraseProb > 1:
		return fmt.Errorf("train: weight decay %g, erase probability %g: want ≥ 0 and a probability", o.WeightDecay, o.EraseProb)
	case o.LabelSmoothing < 0 || o.LabelSmoothing >= 1:
		return fmt.Errorf("train: label smoothing %g: want [0, 1)", o.LabelSmoothing)
	case o.DropPath < 0 || o.DropPath >= 1:
		return fmt.Errorf("train: drop-path %g: want [0, 1)", o.DropPath)
	case o.ShiftPad < 0 || o.ShiftPad >= s.Input.Size:
		return fmt.Errorf("train: shift padding %d: want [0, image size)", o.ShiftPad)
	case o.Fill != nil && len(o.Fill) != s.Input.Channels:
		return fmt.Errorf("train: fill has %d values, want one per channel (%d)", len(o.Fill), s.Input.Channels)
	case o.LargestGroups < 0 || o.LargestGroups > 1 && !o.Sandwich:
		return fmt.Errorf("train: %d groups of the largest network: want ≥ 0, and more than one only with the sandwich rule", o.LargestGroups)
	case o.LargestGroups > 1 && o.LargestGroups >= o.groups():
		return fmt.Errorf("train: %d groups of the largest network leave none for the smallest in batches of %d sub-networks: lower it or raise batch/examples-per-arch", o.LargestGroups, o.groups())
	case o.Resume && o.Dir == "":
		return errors.New("train: resume needs the checkpoint directory (Options.Dir)")
	}
	if o.Val != nil {
		if c, h, w := o.Val.Shape(); c != s.Input.Channels || h != s.Input.Size || w != s.Input.Size {
			return fmt.Errorf("train: validation images are %d×%d×%d, want %d×%d×%d", c, h, w, s.Input.Channels, s.Input.Size, s.Input.Size)
		}
	}
	return nil
}

// groups is the number of sub-networks each step trains: one per ExamplesPerArch images.
func (o *Options) groups() int { return o.BatchSize / o.ExamplesPerArch }

// trainer is one training run's state.
type trainer struct {
	opts  Options
	e     *nn.Exec
	p     *supernetParams
	net   *trainNet
	adam  AdamW
	epoch int // next epoch to run
	step  int // optimizer steps done
	fill  []float32

	// Per-batch host buffers.
	idx     []int
	raw     []float32
	labels  []int
	aug     []float32 // one image
	uniform []float32 // one draw per image of a group

	valLargest, valSmallest float64 // after the last epoch run, NaN when not measured
}

func newTrainer(opts Options) (*trainer, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if opts.Gemm == nil {
		opts.Gemm = gonum.New()
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.NumCPU()
	}
	if th, ok := opts.Gemm.(gemm.Threaded); ok && opts.Workers > 1 {
		th.SetThreads(1) // the kernels split GEMMs across goroutines themselves
	}
	e := &nn.Exec{Gemm: opts.Gemm, Workers: opts.Workers}
	initRNG := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	p, err := newSupernetParams(opts.Space, opts.Space.Input, opts.DropPath, initRNG)
	if err != nil {
		return nil, err
	}
	t := &trainer{opts: opts, e: e, p: p,
		adam: AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: opts.WeightDecay}}
	t.net = newTrainNet(e, p, opts.BatchSize, opts.ExamplesPerArch)
	in := opts.Space.Input
	t.idx = make([]int, opts.BatchSize)
	t.raw = make([]float32, opts.BatchSize*in.Channels*in.Size*in.Size)
	t.labels = make([]int, opts.BatchSize)
	t.aug = make([]float32, in.Channels*in.Size*in.Size)
	t.uniform = make([]float32, opts.ExamplesPerArch)
	t.valLargest, t.valSmallest = math.NaN(), math.NaN()
	t.fill = opts.Fill
	if t.fill == nil {
		t.fill = t.darkest()
	}
	return t, nil
}

// Result is a finished run: the trained supernet's weights and the metadata to save them
// with (checkpoints.Save), naming the space, the input geometry, the seed and the last
// validation accuracies. Saving them is the caller's business.
type Result struct {
	Weights model.Weights
	Meta    checkpoints.Meta
}

// Run trains the supernet of opts.Space on opts.Train, writing the state after every epoch
// to opts.Dir (when set) and reporting through progress (may be nil). On cancellation it
// returns ctx's error; the state of the last complete epoch stays on disk, and a run with
// Resume set continues from it with the same losses an uninterrupted run would have had
// (given the same options and Workers).
func Run(ctx context.Context, opts Options, progress func(Progress)) (Result, error) {
	t, err := newTrainer(opts)
	if err != nil {
		return Result{}, err
	}
	if opts.Resume {
		path := filepath.Join(opts.Dir, StateFile)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return Result{}, fmt.Errorf("resume: no training state %s (start without resume, or point at the directory of the interrupted run)", path)
		}
		if err := t.load(path); err != nil {
			return Result{}, err
		}
	}
	for t.epoch < opts.Epochs {
		if err := t.runEpoch(ctx, progress); err != nil {
			return Result{}, err
		}
	}
	return t.result()
}

// epochRNG is the epoch's random stream: shuffling, augmentation, architecture draws and
// drop-path all draw from it in a fixed order, so an epoch depends only on (seed, epoch) and
// the state at its start — which is what a checkpoint stores.
func (t *trainer) epochRNG(epoch int) *rand.Rand {
	return rand.New(rand.NewPCG(t.opts.Seed, uint64(epoch)+1))
}

func (t *trainer) stepsPerEpoch() int { return t.opts.Train.Len() / t.opts.BatchSize }

func (t *trainer) runEpoch(ctx context.Context, progress func(Progress)) error {
	o := t.opts
	epoch := t.epoch
	rng := t.epochRNG(epoch)
	if epoch <= o.ChannelWarmupEpochs {
		t.p.rewire()
	}
	perm := rng.Perm(o.Train.Len())
	steps := t.stepsPerEpoch()
	start := time.Now()
	var lossSum float64
	for s := 0; s < steps; s++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		copy(t.idx, perm[s*o.BatchSize:(s+1)*o.BatchSize])
		lr := LRAt(float64(epoch)+float64(s)/float64(steps), o.Epochs, o.LRWarmupEpochs, o.LR, o.WarmupLR, o.MinLR)
		loss := t.trainStep(rng, epoch, lr)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fmt.Errorf("train: loss is %g at epoch %d step %d (lower the learning rate)", loss, epoch, s)
		}
		lossSum += loss
		if progress != nil {
			el := time.Since(start).Seconds()
			ips := float64((s+1)*o.BatchSize) / max(el, 1e-9)
			left := float64((o.Epochs-epoch)*steps-(s+1)) * float64(o.BatchSize) / ips
			progress(Progress{Epoch: epoch, Epochs: o.Epochs, Step: s + 1, Steps: steps, ImagesPerSec: ips,
				Loss: lossSum / float64(s+1), LR: lr, ETA: time.Duration(left * float64(time.Second)),
				ValTop1Largest: math.NaN(), ValTop1Smallest: math.NaN()})
		}
	}
	t.epoch++
	pr := Progress{Epoch: epoch, Epochs: o.Epochs, Step: steps, Steps: steps, EpochDone: true,
		Loss: lossSum / float64(steps), ValTop1Largest: math.NaN(), ValTop1Smallest: math.NaN()}
	if o.Dir != "" {
		path := filepath.Join(o.Dir, StateFile)
		if err := t.save(path); err != nil {
			return err
		}
		pr.CheckpointWritten = path
	}
	if o.Val != nil {
		var err error
		if pr.ValTop1Largest, err = t.evaluate(ctx, o.Space.Max()); err != nil {
			return err
		}
		if pr.ValTop1Smallest, err = t.evaluate(ctx, o.Space.Min()); err != nil {
			return err
		}
		t.valLargest, t.valSmallest = pr.ValTop1Largest, pr.ValTop1Smallest
	}
	if progress != nil {
		progress(pr)
	}
	return nil
}

// trainStep runs one optimizer step on the images t.idx and returns the batch-mean loss.
func (t *trainer) trainStep(rng *rand.Rand, epoch int, lr float64) float64 {
	o := t.opts
	t.loadBatch(rng)
	archs := stepArchs(rng, o, epoch)
	loss := t.forwardBackward(rng, archs, float32(o.LabelSmoothing))
	t.step++
	t.adam.step(t.e, t.p, lr, t.step)
	return loss
}

// stepArchs draws the sub-networks of one step, one per group of ExamplesPerArch images:
// sampled, then with the sandwich rule the first LargestGroups (at least one) replaced by the
// largest in play and the last by the smallest.
func stepArchs(rng *rand.Rand, o Options, epoch int) []model.Arch {
	k := o.groups()
	archs := supernet.SampleArchs(rng, o.Space, epoch, o.ChannelWarmupEpochs, k)
	if o.Sandwich && k >= 2 {
		largest := supernet.WarmupExtreme(o.Space, epoch, o.ChannelWarmupEpochs, true)
		for i := 0; i < max(1, o.LargestGroups); i++ {
			archs[i] = largest
		}
		if k >= 3 {
			archs[k-1] = supernet.WarmupExtreme(o.Space, epoch, o.ChannelWarmupEpochs, false)
		}
	}
	return archs
}

// drawDropPath draws the per-image drop-path scales of group a (images [a·g, (a+1)·g))
// running sub-network arch for every block (two independent draws per block, one per
// residual branch, as the reference's DropPath module is called twice).
func (t *trainer) drawDropPath(rng *rand.Rand, arch model.Arch, a int) {
	u := t.uniform
	g := t.opts.ExamplesPerArch
	for i := range arch.Layers {
		if arch.Layers[i].Type != model.TypeBlock {
			continue
		}
		for _, dst := range t.net.drop[i] {
			for j := range u {
				u[j] = rng.Float32()
			}
			nn.DropPathScales(dst[a*g:(a+1)*g], u, t.p.layers[i].dropRate)
		}
	}
}

// forwardBackward computes the gradients of the batch-mean loss of sub-networks archs (one
// per group of ExamplesPerArch images of the batch in t.net.img) and returns that loss.
func (t *trainer) forwardBackward(rng *rand.Rand, archs []model.Arch, smoothing float32) float64 {
	net := t.net
	for a, arch := range archs {
		t.drawDropPath(rng, arch, a)
	}
	t.p.zeroGrad()
	net.stemForward(archs)
	sum := net.run(archs, t.labels, smoothing, true, 1/float32(t.opts.BatchSize))
	net.stemBackward()
	net.reduceGrads()
	return sum / float64(t.opts.BatchSize)
}

package train

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/resnas/resnas/data"
	"github.com/resnas/resnas/internal/gemm/openblas"
	"github.com/resnas/resnas/supernet"
)

// TestTrainFashionMNIST is a real training run, off by default: set RESNAS_FMNIST to a shard
// directory holding train/sub-train and train/sub-val (resnas shards build), and optionally
// RESNAS_FMNIST_EPOCHS (the channel warm-up then takes a quarter of them) and
// RESNAS_FMNIST_LIMIT (training images used per epoch). It logs images/s and the sub-val
// top-1 of the largest and smallest sub-networks after every epoch. RESNAS_FMNIST_SANDWICH=1
// turns on Options.Sandwich.
func TestTrainFashionMNIST(t *testing.T) {
	dir := os.Getenv("RESNAS_FMNIST")
	if dir == "" {
		t.Skip("set RESNAS_FMNIST to a Fashion-MNIST shard directory to run")
	}
	trainSet, err := data.Open(dir+"/train/sub-train", data.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer trainSet.Close()
	testSet, err := data.Open(dir+"/train/sub-val", data.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer testSet.Close()
	s, err := supernet.Lookup("fmnist")
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Space = *s
	o.Train, o.Val = trainSet, testSet
	if v, err := strconv.Atoi(os.Getenv("RESNAS_FMNIST_LIMIT")); err == nil && v > 0 {
		sub, err := trainSet.Slice(0, v)
		if err != nil {
			t.Fatal(err)
		}
		o.Train = sub
	}
	if v, err := strconv.Atoi(os.Getenv("RESNAS_FMNIST_EPOCHS")); err == nil && v > 0 {
		o.Epochs = v
		o.ChannelWarmupEpochs = max(1, v/4)
	}
	if os.Getenv("RESNAS_FMNIST_SANDWICH") != "" {
		o.Sandwich = true
	}
	if be, err := openblas.Open(); err == nil {
		o.Gemm = be
	}
	o.Dir = t.TempDir()
	start := time.Now()
	_, err = Run(context.Background(), o, func(p Progress) {
		if p.EpochDone {
			t.Logf("epoch %d: loss %.4f, top-1 largest %.2f%%, smallest %.2f%% (%s)", p.Epoch, p.Loss, p.ValTop1Largest, p.ValTop1Smallest, time.Since(start).Round(time.Second))
		} else if p.Step%50 == 0 {
			t.Logf("epoch %d step %d/%d: loss %.4f, %.1f images/s, lr %.2g, ETA %s", p.Epoch, p.Step, p.Steps, p.Loss, p.ImagesPerSec, p.LR, p.ETA.Round(time.Second))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

package train

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/model"
)

type stepLoss struct {
	epoch, step int
	loss        float64
}

// collect records the running-mean loss of every step (which determines each step's loss).
func collect(dst *[]stepLoss) func(Progress) {
	return func(p Progress) {
		if !p.EpochDone {
			*dst = append(*dst, stepLoss{p.Epoch, p.Step, p.Loss})
		}
	}
}

// TestResumeMatchesUninterrupted trains a tiny supernet for 3 epochs in one go, then again
// with a cancellation in the middle of epoch 1 and a resume: the resumed run must reproduce
// the uninterrupted run's losses exactly from epoch 1 on, and end with the same weights.
func TestResumeMatchesUninterrupted(t *testing.T) {
	for _, c := range stemMidCases {
		t.Run(c.name, func(t *testing.T) { resumeMatchesUninterrupted(t, c.mids) })
	}
}

func resumeMatchesUninterrupted(t *testing.T, mids []int) {
	train := newSynthImages(64, 1, 16, 5, 7)
	dirA, dirB := t.TempDir(), t.TempDir()

	var full []stepLoss
	o := tinyOptions(train)
	o.Space.StemMids = mids
	o.Dir = dirA
	resA, err := Run(context.Background(), o, collect(&full))
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var first []stepLoss
	o.Dir = dirB
	_, err = Run(ctx, o, func(p Progress) {
		collect(&first)(p)
		if p.Epoch == 1 && p.Step == 2 {
			cancel() // mid-epoch: the state on disk is still the end of epoch 0
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run returned %v, want context.Canceled", err)
	}
	var resumed []stepLoss
	o.Resume = true
	resB, err := Run(context.Background(), o, collect(&resumed))
	if err != nil {
		t.Fatal(err)
	}
	steps := 64 / o.BatchSize
	if len(full) != 3*steps || len(resumed) != 2*steps {
		t.Fatalf("got %d and %d step reports, want %d and %d", len(full), len(resumed), 3*steps, 2*steps)
	}
	for i, r := range resumed {
		if f := full[steps+i]; r != f {
			t.Fatalf("resumed step %+v differs from uninterrupted %+v", r, f)
		}
	}
	for i, r := range first[:steps] {
		if r != full[i] {
			t.Fatalf("epoch 0 step %+v differs between runs: %+v", r, full[i])
		}
	}
	a, err := os.ReadFile(filepath.Join(dirA, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dirB, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatal("final training states differ between the uninterrupted and the resumed run")
	}
	// The state directory holds the state alone: the weights are returned, not written.
	if ents, _ := os.ReadDir(dirB); len(ents) != 1 || ents[0].Name() != StateFile {
		t.Errorf("%s holds %v, want only %s", dirB, ents, StateFile)
	}
	for key, a := range resA.Weights {
		if !slices.Equal(a.Data, resB.Weights[key].Data) {
			t.Fatalf("returned weights %s differ between the uninterrupted and the resumed run", key)
		}
	}
	// The returned weights and metadata save (as the command does) and load back with the
	// supernet's keys and shapes.
	path := filepath.Join(t.TempDir(), "supernet.safetensors")
	if err := checkpoints.Save(path, resB.Weights, resB.Meta, checkpoints.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoints.Load(path, checkpoints.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sp := o.Space
	for _, p := range model.ParamShapes(sp.Max(), sp.Input) {
		got, ok := ck.Weights[p.Key]
		if !ok || fmt.Sprint(got.Shape) != fmt.Sprint(p.Shape) {
			t.Fatalf("saved result: %s missing or shaped %v, want %v", p.Key, got.Shape, p.Shape)
		}
	}
	for _, mid := range sp.StemMidChoices()[1:] { // every narrower stem width's own, trained statistics
		for layer := 1; layer <= 3; layer++ {
			key := model.StemBNStatsPrefix(layer, mid) + ".running_mean"
			got, ok := ck.Weights[key]
			if !ok || fmt.Sprint(got.Shape) != fmt.Sprint([]int{mid}) || got.Data[0] == 0 {
				t.Fatalf("saved result: %s missing, shaped %v or untrained (%v)", key, got.Shape, got.Data)
			}
		}
	}
	if ck.Meta.Space != sp.Name || ck.Meta.Arch != sp.Max().String() {
		t.Fatalf("saved result: metadata space %q arch %q", ck.Meta.Space, ck.Meta.Arch)
	}
	if ck.Meta.Provenance.Seed == nil || *ck.Meta.Provenance.Seed != int64(o.Seed) {
		t.Fatalf("saved result: seed %v, want %d", ck.Meta.Provenance.Seed, o.Seed)
	}
	if full[len(full)-1].loss >= full[steps-1].loss {
		t.Errorf("loss did not fall: epoch 0 mean %.3f, last epoch mean %.3f", full[steps-1].loss, full[len(full)-1].loss)
	}
}

// TestResumeRejectsOtherRun checks that a state from another configuration is refused with a
// message naming the file.
func TestResumeRejectsOtherRun(t *testing.T) {
	train := newSynthImages(32, 1, 16, 5, 7)
	o := tinyOptions(train)
	o.Epochs = 1
	o.Dir = t.TempDir()
	if _, err := Run(context.Background(), o, nil); err != nil {
		t.Fatal(err)
	}
	o.Seed++
	o.Resume = true
	o.Epochs = 2
	_, err := Run(context.Background(), o, nil)
	if err == nil || !strings.Contains(err.Error(), StateFile) {
		t.Fatalf("resume with another seed: got %v, want an error naming %s", err, StateFile)
	}
}

// TestReadStateInfo: the state of an interrupted run says how far it got and of how many
// epochs, read from its header; a file that is no state is refused naming it.
func TestReadStateInfo(t *testing.T) {
	train := newSynthImages(32, 1, 16, 5, 7)
	o := tinyOptions(train)
	o.Epochs = 3
	o.Dir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Run(ctx, o, func(p Progress) {
		if p.EpochDone && p.Epoch == 0 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run returned %v", err)
	}
	info, err := ReadStateInfo(filepath.Join(o.Dir, StateFile))
	if err != nil || info != (StateInfo{Epoch: 1, Epochs: 3}) {
		t.Fatalf("ReadStateInfo = %+v, %v; want epoch 1 of 3", info, err)
	}
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, []byte("hello, not a state file"), 0o644)
	if _, err := ReadStateInfo(junk); err == nil || !strings.Contains(err.Error(), junk) {
		t.Fatalf("ReadStateInfo of junk: %v, want an error naming it", err)
	}
}

// TestTrainOptionErrors checks that bad options fail before any work with a message naming
// the field.
func TestTrainOptionErrors(t *testing.T) {
	train := newSynthImages(32, 1, 16, 5, 7)
	for _, c := range []struct {
		name   string
		mutate func(*Options)
		want   string
	}{
		{"batch", func(o *Options) { o.ExamplesPerArch = 5 }, "examples-per-arch"},
		{"epochs", func(o *Options) { o.Epochs = 0 }, "epochs"},
		{"size", func(o *Options) { o.Train = newSynthImages(32, 1, 8, 5, 7) }, "space tiny-test"},
		{"resume", func(o *Options) { o.Resume = true }, "Dir"},
		{"too few", func(o *Options) { o.Train = newSynthImages(8, 1, 16, 5, 7) }, "fewer than one batch"},
		{"largest without sandwich", func(o *Options) { o.LargestGroups = 2 }, "sandwich"},
		{"no group for the smallest", func(o *Options) { o.Sandwich, o.LargestGroups = true, 2 }, "none for the smallest"},
		{"negative largest", func(o *Options) { o.LargestGroups = -1 }, "largest network"},
	} {
		o := tinyOptions(train)
		c.mutate(&o)
		_, err := Run(context.Background(), o, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
}

// TestStepArchsLargestGroups: with the sandwich rule the first LargestGroups groups run the
// largest network in play and the last the smallest; the draws in between, and the random
// stream, are those of one largest group (so LargestGroups 1 trains exactly as before).
func TestStepArchsLargestGroups(t *testing.T) {
	o := tinyOptions(newSynthImages(32, 1, 16, 5, 7))
	o.BatchSize, o.ExamplesPerArch, o.Sandwich = 40, 8, true // 5 groups
	epoch := o.ChannelWarmupEpochs + 1                       // every choice in play
	largest, smallest := o.Space.Max().String(), o.Space.Min().String()
	draw := func(groups int) ([]string, uint64) {
		o.LargestGroups = groups
		rng := rand.New(rand.NewPCG(3, 4))
		var s []string
		for _, a := range stepArchs(rng, o, epoch) {
			s = append(s, a.String())
		}
		return s, rng.Uint64()
	}
	one, next1 := draw(1)
	for _, groups := range []int{0, 2, 3} {
		got, next := draw(groups)
		n := max(1, groups)
		for i, a := range got {
			switch want := one[i]; {
			case i < n && a != largest:
				t.Errorf("LargestGroups %d: group %d runs %s, want the largest", groups, i, a)
			case i == len(got)-1 && a != smallest:
				t.Errorf("LargestGroups %d: last group runs %s, want the smallest", groups, a)
			case i >= n && a != want:
				t.Errorf("LargestGroups %d: group %d runs %s, want the draw %s of LargestGroups 1", groups, i, a, want)
			}
		}
		if next != next1 {
			t.Errorf("LargestGroups %d consumed a different amount of the random stream", groups)
		}
	}
	if one[1] == largest && one[2] == largest && one[3] == largest {
		t.Fatal("the sampled groups are all the largest: the test cannot tell the rule from chance")
	}
}

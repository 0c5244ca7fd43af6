package train

import (
	"math/rand/v2"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// tinySpace is a small space exercising every part of the trainer: a conv stem with mid
// width, a skippable block, two reductions, head dims that differ per stage.
func tinySpace() supernet.Space {
	return supernet.Space{
		Name: "tiny-test", Input: model.Input{Size: 16, Channels: 1, Patch: 4}, Classes: 5,
		StemType: model.TypeConvStemMid, StemMid: 4, Widths: []int{8, 6},
		Layers: []supernet.LayerChoices{
			{Type: model.TypeBlock, Heads: []int{2, 1}, HeadDim: 4, MLP: []int{12, 8}},
			{Type: model.TypeBlock, Heads: []int{2, 1}, HeadDim: 4, MLP: []int{12, 8}, Skippable: true},
			{Type: model.TypeReduction, Widths: []int{12, 10}},
			{Type: model.TypeBlock, Heads: []int{3, 2}, HeadDim: 4, MLP: []int{16, 8}, Skippable: true},
			{Type: model.TypeBlock, Heads: []int{3, 2}, HeadDim: 4, MLP: []int{16, 8}},
			{Type: model.TypeReduction, Widths: []int{16, 14}},
			{Type: model.TypeBlock, Heads: []int{2, 1}, HeadDim: 8, MLP: []int{20, 12}},
		},
	}
}

// synthImages is a learnable toy set: class c brightens quadrant c mod 4 (class 4: the
// centre), over noise.
type synthImages struct {
	c, s   int
	pix    []float32
	labels []int
}

func newSynthImages(n, channels, size, classes int, seed uint64) *synthImages {
	rng := rand.New(rand.NewPCG(seed, 99))
	im := &synthImages{c: channels, s: size, pix: make([]float32, n*channels*size*size), labels: make([]int, n)}
	h := size / 2
	for i := 0; i < n; i++ {
		l := rng.IntN(classes)
		im.labels[i] = l
		for c := 0; c < channels; c++ {
			for y := 0; y < size; y++ {
				for x := 0; x < size; x++ {
					v := float32(rng.NormFloat64()) * 0.5
					q := (y/h)*2 + x/h
					centre := y >= h/2 && y < h+h/2 && x >= h/2 && x < h+h/2
					if (l < 4 && q == l) || (l == 4 && centre) {
						v += 1.5
					}
					im.pix[((i*channels+c)*size+y)*size+x] = v
				}
			}
		}
	}
	return im
}

func (im *synthImages) Len() int             { return len(im.labels) }
func (im *synthImages) Shape() (c, h, w int) { return im.c, im.s, im.s }
func (im *synthImages) Batch(idx []int, dst []float32, labels []int) {
	n := im.c * im.s * im.s
	for i, j := range idx {
		copy(dst[i*n:(i+1)*n], im.pix[j*n:(j+1)*n])
		labels[i] = im.labels[j]
	}
}

func tinyOptions(train Images) Options {
	o := DefaultOptions()
	o.Space = tinySpace()
	o.Train = train
	o.Epochs = 3
	o.BatchSize = 16
	o.ExamplesPerArch = 8
	o.ChannelWarmupEpochs = 1
	o.LRWarmupEpochs = 1
	o.LR = 3e-3
	o.Workers = 2
	o.Seed = 42
	o.EraseProb = 0.25 // cover every augmentation
	o.DropPath = 0.1
	return o
}

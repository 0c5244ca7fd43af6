package supernet

import "github.com/resnas/resnas/model"

// tinySpace is a small space with every kind of choice: a conv stem with mid width, a
// skippable block, two reductions, head dims that differ per stage.
func tinySpace() Space {
	return Space{
		Name: "tiny-test", Input: model.Input{Size: 16, Channels: 1, Patch: 4}, Classes: 5,
		StemType: model.TypeConvStemMid, StemMid: 4, Widths: []int{8, 6},
		Layers: []LayerChoices{
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

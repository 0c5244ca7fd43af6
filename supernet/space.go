// Package supernet holds search spaces, supernet weight slicing and the sampling of
// sub-networks; the trainer is package supernet/train.
package supernet

import "github.com/resnas/resnas/model"

// LayerChoices are the choices of one blocks.{i} entry, aligned with Space.Max().Layers.
// All choice lists are in descending order (largest first), as the reference stores them.
type LayerChoices struct {
	Type int `json:"type"` // model.TypeBlock or model.TypeReduction

	// Transformer block: heads of fixed dimension HeadDim, MLP hidden sizes, skippable or not.
	Heads     []int `json:"heads,omitempty"`
	HeadDim   int   `json:"head_dim,omitempty"`
	MLP       []int `json:"mlp,omitempty"`
	Skippable bool  `json:"skippable,omitempty"`

	// Residual spatial reduction: output widths, which are the next stage's embed widths.
	Widths []int `json:"widths,omitempty"`
}

// Space is a weight-sharing search space (reference.md §5): the largest architecture and, for
// every searchable dimension, its allowed values.
type Space struct {
	Name     string         `json:"name"`
	Input    model.Input    `json:"input"` // geometry the space was designed for
	Classes  int            `json:"classes"`
	StemType int            `json:"stem_type"`
	StemMid  int            `json:"stem_mid,omitempty"`  // the largest stem mid width
	StemMids []int          `json:"stem_mids,omitempty"` // searchable mid widths (descending; empty: StemMid only)
	Widths   []int          `json:"widths"`              // stage-1 embed width choices
	Layers   []LayerChoices `json:"layers"`
}

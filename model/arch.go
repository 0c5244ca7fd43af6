// Package model describes ViT-ResNAS architectures (the reference network_def) and runs them.
package model

// Entry types of the reference network_def tuple (reference.md §2).
const (
	TypeLinearStem  = 0 // (0, C): 14×14/14 linear patch embedding
	TypeBlock       = 1 // (1, (C, H, D), (C, hidden), exists): transformer block
	TypeHead        = 2 // (2, C, classes)
	TypeReduction   = 3 // (3, Cin, Cout): residual spatial reduction
	TypeConvStem    = 4 // (4, C): conv stem with 24 mid channels
	TypeConvStemMid = 5 // (5, C, mid): conv stem with mid channels given
)

// DefaultStemMid is the conv stem's hard-coded mid width for entry type 4.
const DefaultStemMid = 24

// Stem is the first network_def entry.
type Stem struct {
	Type  int `json:"type"`          // TypeLinearStem, TypeConvStem or TypeConvStemMid
	Width int `json:"width"`         // embedding width C of stage 1
	Mid   int `json:"mid,omitempty"` // conv stem mid channels (24 for TypeConvStem, 0 for linear)
}

// Layer is one blocks.{i} entry: a transformer block or a residual spatial reduction.
type Layer struct {
	Type int `json:"type"` // TypeBlock or TypeReduction

	// Transformer block fields.
	Dim     int  `json:"dim,omitempty"`      // embedding width C
	Heads   int  `json:"heads,omitempty"`    // H
	HeadDim int  `json:"head_dim,omitempty"` // D; attention width is H·D
	MLP     int  `json:"mlp,omitempty"`      // MLP hidden size
	Exists  bool `json:"exists"`             // false: an identity placeholder (BypassBlock)

	// Residual spatial reduction fields.
	In  int `json:"in,omitempty"`
	Out int `json:"out,omitempty"`
}

// Head is the last network_def entry.
type Head struct {
	Dim     int `json:"dim"`
	Classes int `json:"classes"`
}

// Arch is a whole network_def. Layers[i] is the module blocks.{i} of the state_dict, so
// skipped blocks keep their index (reference.md §4.3).
type Arch struct {
	Stem   Stem    `json:"stem"`
	Layers []Layer `json:"layers"`
	Head   Head    `json:"head"`
}

// Clone returns a deep copy.
func (a Arch) Clone() Arch {
	a.Layers = append([]Layer(nil), a.Layers...)
	return a
}

// Equal reports whether a and b describe the same network_def.
func (a Arch) Equal(b Arch) bool {
	if a.Stem != b.Stem || a.Head != b.Head || len(a.Layers) != len(b.Layers) {
		return false
	}
	for i := range a.Layers {
		if a.Layers[i] != b.Layers[i] {
			return false
		}
	}
	return true
}

// Input is the image geometry a network runs on.
type Input struct {
	Size     int `json:"size"`     // square image side, pixels
	Channels int `json:"channels"` // 3 for RGB, 1 for grayscale
	Patch    int `json:"patch"`    // stem downsampling: 14 in the reference (conv s2 then 7×7/7)
}

// ReferenceInput is the geometry of the official ImageNet models.
func ReferenceInput() Input { return Input{Size: 224, Channels: 3, Patch: 14} }

// Grid is the stage-1 token grid side.
func (in Input) Grid() int { return in.Size / in.Patch }

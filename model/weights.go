package model

// Tensor is a dense row-major array, as stored in a checkpoint: float32 in Data, or, for
// weights kept in float16 to halve memory (ToHalf), IEEE half bits in Half with Data nil.
// Networks read float16 tensors through float32 copies of the blocks they use (NewNet);
// everything else reading Data takes Float32 first.
type Tensor struct {
	Shape []int
	Data  []float32
	Half  []uint16
}

// IsHalf reports whether t holds float16 values.
func (t Tensor) IsHalf() bool { return t.Data == nil && t.Half != nil }

// Len is the number of values held, in either precision.
func (t Tensor) Len() int {
	if t.IsHalf() {
		return len(t.Half)
	}
	return len(t.Data)
}

// Numel is the number of elements the shape describes.
func (t Tensor) Numel() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Weights maps reference state_dict keys (reference.md §4.2) to tensors. A supernet's weights
// are stored at their largest shapes; sub-networks view their leading slices.
type Weights map[string]Tensor

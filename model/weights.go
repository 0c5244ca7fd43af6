package model

// Tensor is a dense row-major float32 array, as stored in a checkpoint.
type Tensor struct {
	Shape []int
	Data  []float32
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

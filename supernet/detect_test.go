package supernet

import (
	"strings"
	"testing"

	"github.com/resnas/resnas/model"
)

// zeroWeights holds every tensor of a, zero-filled: shapes are all Detect and CheckFits read.
func zeroWeights(a model.Arch, in model.Input) model.Weights {
	w := model.Weights{}
	for _, p := range model.ParamShapes(a, in) {
		n := 1
		for _, d := range p.Shape {
			n *= d
		}
		w[p.Key] = model.Tensor{Shape: p.Shape, Data: make([]float32, n)}
	}
	return w
}

func TestDetectFindsEachSpace(t *testing.T) {
	for _, name := range Names() {
		s, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		got := Detect(zeroWeights(s.Max(), s.Input), s.Input)
		if got == nil || got.Name != name {
			t.Errorf("Detect(max of %s) = %v, want %s", name, got, name)
		}
		if err := CheckFits(zeroWeights(s.Max(), s.Input), s, s.Input); err != nil {
			t.Errorf("CheckFits(max of %s, %s): %v", name, name, err)
		}
	}
}

func TestDetectSubnetworkIsNone(t *testing.T) {
	s, err := Lookup("fmnist")
	if err != nil {
		t.Fatal(err)
	}
	w := zeroWeights(s.Min(), s.Input)
	if got := Detect(w, s.Input); got != nil {
		t.Errorf("the smallest sub-network's weights were detected as the supernet of %s", got.Name)
	}
	err = CheckFits(w, s, s.Input)
	if err == nil || !strings.Contains(err.Error(), "largest network needs") {
		t.Errorf("CheckFits(min weights, fmnist) = %v, want the tensor that is too small or missing", err)
	}
	in := s.Input
	in.Channels++
	if err := CheckFits(zeroWeights(s.Max(), s.Input), s, in); err == nil || !strings.Contains(err.Error(), "channel") {
		t.Errorf("CheckFits with other channels = %v, want a channel mismatch", err)
	}
}

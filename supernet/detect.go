package supernet

import (
	"fmt"

	"github.com/resnas/resnas/model"
)

// Detect finds the known search space whose largest architecture the weights hold exactly,
// or nil when none does (e.g. the weights of one exported sub-network).
func Detect(w model.Weights, in model.Input) *Space {
	for _, name := range Names() {
		s, err := Lookup(name)
		if err != nil || s.Input.Channels != in.Channels {
			continue
		}
		if model.MatchesExactly(w, s.Max(), in) {
			return s
		}
	}
	return nil
}

// CheckFits checks that w holds s's largest architecture: every tensor it needs is there,
// of the same rank and at least as large (a supernet of a larger space can still serve a
// smaller one by slicing).
func CheckFits(w model.Weights, s *Space, in model.Input) error {
	if s.Input.Channels != in.Channels {
		return fmt.Errorf("the stem (patch_embed) takes %d-channel images, %s's networks take %d", in.Channels, s.Name, s.Input.Channels)
	}
	for _, p := range model.ParamShapes(s.Max(), in) {
		t, ok := w[p.Key]
		if !ok {
			return fmt.Errorf("no %s, which %s's largest network needs", p.Key, s.Name)
		}
		fits := len(t.Shape) == len(p.Shape)
		for i := 0; fits && i < len(p.Shape); i++ {
			fits = t.Shape[i] >= p.Shape[i]
		}
		if !fits {
			return fmt.Errorf("%s has shape %v, %s's largest network needs %v", p.Key, t.Shape, s.Name, p.Shape)
		}
	}
	return nil
}

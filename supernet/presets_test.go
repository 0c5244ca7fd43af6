package supernet

import (
	"slices"
	"testing"
)

// TestPresetsOfSpaces: each released network is offered by the space it was searched in,
// expanded to that space's depth, and never by a space it does not belong to.
func TestPresetsOfSpaces(t *testing.T) {
	for _, c := range []struct {
		space string
		want  []string
	}{
		{"sr_tiny_mh", []string{"vit-resnas-tiny"}},
		{"sr_small_mh", []string{"vit-resnas-medium", "vit-resnas-small"}},
		{"fmnist", nil},
	} {
		s, err := Lookup(c.space)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range s.Presets() {
			got = append(got, p.Name)
			if err := s.Contains(p.Arch); err != nil {
				t.Errorf("%s preset %s is not a member: %v", c.space, p.Name, err)
			}
			if len(p.Arch.Layers) != len(s.Max().Layers) {
				t.Errorf("%s preset %s has %d layers, want the space's %d", c.space, p.Name, len(p.Arch.Layers), len(s.Max().Layers))
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s presets = %v, want %v", c.space, got, c.want)
		}
	}
}

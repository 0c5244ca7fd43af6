package supernet

import "github.com/resnas/resnas/model"

// NamedArch is an architecture with a name, such as a released network.
type NamedArch struct {
	Name string
	Arch model.Arch
}

// Presets lists the named reference architectures (model.PresetNames, in that order) that
// belong to s, with the skipped blocks their compact network_def drops put back.
func (s *Space) Presets() []NamedArch {
	var ps []NamedArch
	for _, name := range model.PresetNames() {
		a, _ := model.Preset(name)
		if fit, err := s.Fit(a); err == nil {
			ps = append(ps, NamedArch{Name: name, Arch: fit})
		}
	}
	return ps
}

// Fit puts back the skipped blocks a compact network_def dropped and checks the result
// against s.
func (s *Space) Fit(a model.Arch) (model.Arch, error) {
	a, err := s.Uncompact(a)
	if err != nil {
		return model.Arch{}, err
	}
	if err := s.Contains(a); err != nil {
		return model.Arch{}, err
	}
	return a, nil
}

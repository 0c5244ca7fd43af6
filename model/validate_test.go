package model

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateErrors(t *testing.T) {
	const good = "((4, 176), (1, (176, 3, 32), (176, 704), 1), (3, 176, 352), (1, (352, 10, 48), (352, 1408), 0), (2, 352, 1000))"
	base, err := ParseArch(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := base.Validate(); err != nil {
		t.Fatalf("valid arch rejected: %v", err)
	}
	tests := []struct {
		name   string
		edit   func(a *Arch)
		where  string
		field  string
		substr string
	}{
		{"block width", func(a *Arch) { a.Layers[0].Dim = 192 }, "blocks.0", "dim", "blocks.0: width 192, want 176, the current embed width (set by the stem)"},
		{"skipped block width", func(a *Arch) { a.Layers[2].Dim = 176 }, "blocks.2", "dim", "want 352, the current embed width (set by blocks.1)"},
		{"zero heads", func(a *Arch) { a.Layers[0].Heads = 0 }, "blocks.0", "heads", "heads 0, want 1.."},
		{"negative head dim", func(a *Arch) { a.Layers[0].HeadDim = -32 }, "blocks.0", "head_dim", "head dim -32"},
		{"zero mlp", func(a *Arch) { a.Layers[0].MLP = 0 }, "blocks.0", "mlp", "MLP hidden 0"},
		{"huge mlp", func(a *Arch) { a.Layers[0].MLP = MaxDim + 1 }, "blocks.0", "mlp", "MLP hidden 65537"},
		{"SR in", func(a *Arch) { a.Layers[1].In = 192 }, "blocks.1", "in", "C_in 192, want 176"},
		{"SR narrows", func(a *Arch) { a.Layers[1].Out = 160; a.Layers[2].Dim = 160; a.Head.Dim = 160 }, "blocks.1", "out", "C_out 160 < C_in 176"},
		{"SR with block fields", func(a *Arch) { a.Layers[1].Heads = 3 }, "blocks.1", "type", "spatial reduction has transformer block fields"},
		{"block with SR fields", func(a *Arch) { a.Layers[0].Out = 3 }, "blocks.0", "in", "spatial reduction fields"},
		{"unknown layer type", func(a *Arch) { a.Layers[0].Type = TypeHead }, "blocks.0", "type", "unknown entry type 2"},
		{"head width", func(a *Arch) { a.Head.Dim = 176 }, "head", "dim", "head: width 176, want 352, the final embed width (set by blocks.1)"},
		{"classes", func(a *Arch) { a.Head.Classes = 0 }, "head", "classes", "classes 0"},
		{"stem type", func(a *Arch) { a.Stem.Type = 7 }, "stem", "type", "unknown stem type 7"},
		{"stem width", func(a *Arch) { a.Stem.Width = 0 }, "stem", "width", "width 0"},
		{"type-4 mid", func(a *Arch) { a.Stem.Mid = 16 }, "stem", "mid", "write (5, C, 16)"},
		{"type-5 mid", func(a *Arch) { a.Stem = Stem{Type: TypeConvStemMid, Width: 176} }, "stem", "mid", "mid channels 0"},
		{"linear mid", func(a *Arch) { a.Stem = Stem{Type: TypeLinearStem, Width: 176, Mid: 24} }, "stem", "mid", "no mid channels"},
	}
	for _, tc := range tests {
		a := base.Clone()
		tc.edit(&a)
		err := a.Validate()
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		var ae *ArchError
		if !errors.As(err, &ae) || ae.Where != tc.where || ae.Field != tc.field {
			t.Errorf("%s: got %#v, want where %q field %q", tc.name, err, tc.where, tc.field)
		}
		if !strings.Contains(err.Error(), tc.substr) {
			t.Errorf("%s:\n got %v\nwant …%s…", tc.name, err, tc.substr)
		}
	}
	if base.String() != good {
		t.Error("the test edits leaked into base")
	}
}

func TestValidateFor(t *testing.T) {
	a, _ := Preset("vit-resnas-tiny")
	if err := a.ValidateFor(ReferenceInput()); err != nil {
		t.Errorf("224px: %v", err)
	}
	if err := a.ValidateFor(Input{Size: 112, Channels: 3, Patch: 14}); err != nil {
		t.Errorf("112px: %v", err)
	}
	for _, tc := range []struct {
		in   Input
		want string
	}{
		{Input{Size: 196, Channels: 3, Patch: 14}, "blocks.12: spatial reduction needs an even token grid, got 7×7"},
		{Input{Size: 200, Channels: 3, Patch: 14}, "not a multiple of the patch size 14"},
		{Input{Size: 0, Channels: 3, Patch: 14}, "must be in 1..65536"},
		{Input{Size: 63, Channels: 1, Patch: 7}, "the patch must be even"},
	} {
		err := a.ValidateFor(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want …%s…", tc.in, err, tc.want)
		}
	}
}

package model

import (
	"strings"
	"testing"
)

func TestPresets(t *testing.T) {
	defs := fixtureDefs(t)
	fromFixture := map[string]string{
		"vit-resnas-tiny":   "macs-public/ViT-ResNAS-Tiny",
		"vit-resnas-small":  "macs-public/ViT-ResNAS-Small",
		"vit-resnas-medium": "macs-public/ViT-ResNAS-Medium",
	}
	names := PresetNames()
	if len(names) != 4 {
		t.Fatalf("PresetNames() = %v, want 4 names", names)
	}
	for _, name := range names {
		a, ok := Preset(name)
		if !ok {
			t.Fatalf("Preset(%q) not found", name)
		}
		if err := a.ValidateFor(ReferenceInput()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if key, ok := fromFixture[name]; ok && a.String() != defs[key] {
			t.Errorf("%s differs from the fixture %s", name, key)
		}
		b, _ := Preset(strings.ToUpper(name))
		if !b.Equal(a) {
			t.Errorf("Preset is case-sensitive for %s", name)
		}
	}
	// ViT-Res-Tiny (reference.md §2): 4 blocks per stage, head dim 64, MLP ratio 4.
	a, _ := Preset("vit-res-tiny")
	stages := a.Stages()
	for i, want := range []int{192, 384, 768} {
		s := stages[i]
		if s.Width != want || len(s.Blocks) != 4 {
			t.Errorf("vit-res-tiny stage %d: width %d, %d blocks; want %d, 4", i, s.Width, len(s.Blocks), want)
		}
		for _, j := range s.Blocks {
			l := a.Layers[j]
			if l.HeadDim != 64 || l.Heads*64 != want || l.MLP != 4*want || !l.Exists {
				t.Errorf("vit-res-tiny blocks.%d = %s", j, l)
			}
		}
	}
	if _, ok := Preset("deit-tiny"); ok {
		t.Error("unknown preset found")
	}
}

func TestPresetsAreIndependent(t *testing.T) {
	a, _ := Preset("vit-resnas-tiny")
	a.Layers[0].Heads = 99
	b, _ := Preset("vit-resnas-tiny")
	if b.Layers[0].Heads == 99 {
		t.Error("Preset shares state between calls")
	}
}

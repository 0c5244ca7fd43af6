package model

import (
	"slices"
	"strings"
)

// presetDef returns the network_def string of a named architecture (reference.md §2), copied
// from the reference scripts, or "" for an unknown name. A function, so nothing is mutable.
func presetDef(name string) string {
	switch name {
	case "vit-resnas-tiny": // scripts/vit-sr-nas/searched_net/tiny.sh
		return "((4, 176), (1, (176, 3, 32), (176, 704), 1), (1, (176, 3, 32), (176, 576), 1), (1, (176, 3, 32), (176, 640), 1), (1, (176, 4, 32), (176, 576), 1), (1, (176, 4, 32), (176, 704), 1), (3, 176, 352), (1, (352, 10, 48), (352, 1408), 1), (1, (352, 8, 48), (352, 1408), 1), (1, (352, 8, 48), (352, 1280), 1), (1, (352, 8, 48), (352, 1408), 1), (1, (352, 10, 48), (352, 1280), 1), (1, (352, 10, 48), (352, 1024), 1), (3, 352, 704), (1, (704, 10, 64), (704, 2560), 1), (1, (704, 10, 64), (704, 1792), 1), (1, (704, 10, 64), (704, 2816), 1), (1, (704, 8, 64), (704, 2816), 1), (1, (704, 8, 64), (704, 2560), 1), (2, 704, 1000))"
	case "vit-resnas-small": // scripts/vit-sr-nas/searched_net/small_mac@2.9G.sh
		return "((4, 220), (1, (220, 5, 32), (220, 880), 1), (1, (220, 5, 32), (220, 880), 1), (1, (220, 7, 32), (220, 800), 1), (1, (220, 5, 32), (220, 720), 1), (1, (220, 5, 32), (220, 720), 1), (1, (220, 5, 32), (220, 720), 1), (3, 220, 440), (1, (440, 10, 48), (440, 1760), 1), (1, (440, 10, 48), (440, 1440), 1), (1, (440, 10, 48), (440, 1920), 1), (1, (440, 10, 48), (440, 1600), 1), (1, (440, 12, 48), (440, 1600), 1), (1, (440, 12, 48), (440, 1440), 1), (3, 440, 880), (1, (880, 16, 64), (880, 3200), 1), (1, (880, 12, 64), (880, 3200), 1), (1, (880, 16, 64), (880, 2880), 1), (1, (880, 12, 64), (880, 2240), 1), (1, (880, 14, 64), (880, 2560), 1), (2, 880, 1000))"
	case "vit-resnas-medium": // scripts/vit-sr-nas/searched_net/medium_mac@4.6G.sh
		return "((4, 240), (1, (240, 7, 32), (240, 960), 1), (1, (240, 6, 32), (240, 960), 1), (1, (240, 7, 32), (240, 800), 1), (1, (240, 8, 32), (240, 960), 1), (1, (240, 7, 32), (240, 880), 1), (1, (240, 8, 32), (240, 880), 1), (1, (240, 6, 32), (240, 800), 1), (3, 240, 640), (1, (640, 10, 48), (640, 1120), 1), (1, (640, 14, 48), (640, 1760), 1), (1, (640, 14, 48), (640, 1920), 1), (1, (640, 16, 48), (640, 1760), 1), (1, (640, 14, 48), (640, 1440), 1), (1, (640, 16, 48), (640, 1760), 1), (1, (640, 16, 48), (640, 1920), 1), (3, 640, 880), (1, (880, 16, 64), (880, 3200), 1), (1, (880, 10, 64), (880, 3840), 1), (1, (880, 16, 64), (880, 3840), 1), (1, (880, 12, 64), (880, 3200), 1), (1, (880, 16, 64), (880, 3520), 1), (1, (880, 14, 64), (880, 3520), 1), (2, 880, 1000))"
	case "vit-res-tiny": // scripts/vit-sr-nas/reference_net/tiny.sh: the hand-designed baseline
		return "((4, 192), " +
			strings.Repeat("(1, (192, 3, 64), (192, 768), 1), ", 4) + "(3, 192, 384), " +
			strings.Repeat("(1, (384, 6, 64), (384, 1536), 1), ", 4) + "(3, 384, 768), " +
			strings.Repeat("(1, (768, 12, 64), (768, 3072), 1), ", 4) + "(2, 768, 1000))"
	}
	return ""
}

// PresetNames lists the named architectures Preset knows, sorted.
func PresetNames() []string {
	names := []string{"vit-res-tiny", "vit-resnas-medium", "vit-resnas-small", "vit-resnas-tiny"}
	slices.Sort(names)
	return names
}

// Preset returns a named reference architecture (ImageNet, 224 px): the searched
// ViT-ResNAS Tiny/Small/Medium and the hand-designed ViT-Res-Tiny. Case does not matter,
// so the paper's spelling "ViT-ResNAS-Tiny" works too.
func Preset(name string) (Arch, bool) {
	def := presetDef(strings.ToLower(name))
	if def == "" {
		return Arch{}, false
	}
	a, err := ParseArch(def)
	if err != nil {
		panic("model: preset " + name + " does not parse: " + err.Error())
	}
	return a, true
}

package supernet

import (
	"fmt"
	"strings"

	"github.com/resnas/resnas/model"
)

// Names lists the built-in search spaces, sorted.
func Names() []string {
	return []string{"dev-small", "fmnist", "fmnist-wide", "sr_small_mh", "sr_tiny_mh"}
}

// Lookup returns a fresh copy of a built-in search space.
func Lookup(name string) (*Space, error) {
	var s *Space
	switch name {
	case "sr_tiny_mh":
		s = srTinyMH()
	case "sr_small_mh":
		s = srSmallMH()
	case "fmnist":
		s = fmnist()
	case "fmnist-wide":
		s = fmnistWide()
	case "dev-small":
		s = devSmall()
	default:
		return nil, fmt.Errorf("unknown search space %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return s, nil
}

// stageSpec describes one stage of a space: its embed width choices and, per block position,
// the block choices (every block of a stage shares heads, head dim and MLP choices).
type stageSpec struct {
	widths    []int
	heads     []int
	headDim   int
	mlp       []int
	skippable []bool // one entry per block position
}

// skipAllButFirst makes every block of a stage but the first skippable: a stage keeps at
// least one block, as the grammar needs, and can be as shallow as that.
func skipAllButFirst(n int) []bool {
	s := make([]bool, n)
	for i := 1; i < n; i++ {
		s[i] = true
	}
	return s
}

// skipEveryOther is the reference pattern "block, skip, block, skip, …" over n positions.
func skipEveryOther(n int) []bool {
	s := make([]bool, n)
	for i := 1; i < n; i += 2 {
		s[i] = true
	}
	return s
}

func buildSpace(name string, in model.Input, classes, stemType, stemMid int, stages []stageSpec) *Space {
	s := &Space{Name: name, Input: in, Classes: classes, StemType: stemType, StemMid: stemMid,
		Widths: stages[0].widths}
	for k, st := range stages {
		if k > 0 {
			s.Layers = append(s.Layers, LayerChoices{Type: model.TypeReduction, Widths: st.widths})
		}
		for _, skip := range st.skippable {
			s.Layers = append(s.Layers, LayerChoices{Type: model.TypeBlock, Heads: st.heads,
				HeadDim: st.headDim, MLP: st.mlp, Skippable: skip})
		}
	}
	return s
}

// srTinyMH is supernet_config/sr_tiny_mh.py, the space of ViT-ResNAS-Tiny (reference.md §5):
// 6 blocks per stage, the odd positions skippable, heads of dimension 32/48/64.
func srTinyMH() *Space {
	return buildSpace("sr_tiny_mh", model.ReferenceInput(), 1000, model.TypeConvStem, model.DefaultStemMid, []stageSpec{
		{widths: []int{256, 224, 192, 176, 160}, heads: []int{6, 5, 4, 3}, headDim: 32,
			mlp: []int{768, 704, 640, 576, 512, 448, 384}, skippable: skipEveryOther(6)},
		{widths: []int{512, 448, 384, 352, 320}, heads: []int{12, 10, 8, 6}, headDim: 48,
			mlp: []int{1536, 1408, 1280, 1152, 1024, 896, 768}, skippable: skipEveryOther(6)},
		{widths: []int{1024, 896, 768, 704, 640}, heads: []int{12, 10, 8, 6}, headDim: 64,
			mlp: []int{3072, 2816, 2560, 2304, 2048, 1792, 1536}, skippable: skipEveryOther(6)},
	})
}

// srSmallMH is supernet_config/sr_small_mh.py, the space of ViT-ResNAS-Small and -Medium:
// 7 blocks per stage, positions 1, 3 and 5 skippable.
func srSmallMH() *Space {
	return buildSpace("sr_small_mh", model.ReferenceInput(), 1000, model.TypeConvStem, model.DefaultStemMid, []stageSpec{
		{widths: []int{320, 280, 240, 220, 200}, heads: []int{8, 7, 6, 5}, headDim: 32,
			mlp: []int{960, 880, 800, 720, 640, 560, 480}, skippable: skipEveryOther(7)},
		{widths: []int{640, 560, 480, 440, 400}, heads: []int{16, 14, 12, 10}, headDim: 48,
			mlp: []int{1920, 1760, 1600, 1440, 1280, 1120, 960}, skippable: skipEveryOther(7)},
		{widths: []int{1280, 1120, 960, 880, 800}, heads: []int{16, 14, 12, 10}, headDim: 64,
			mlp: []int{3840, 3520, 3200, 2880, 2560, 2240, 1920}, skippable: skipEveryOther(7)},
	})
}

// fmnist is resnas's own space for 32×32 grayscale images (Fashion-MNIST padded 28→32), shaped
// like sr_tiny_mh at a fraction of the cost, so a supernet trains on 2 CPU cores in about an hour.
//
// Geometry: the conv stem halves 32→16 px, and its 2×2/2 projection (patch 4) gives an 8×8 grid
// (65 tokens); two residual spatial reductions give 4×4 (17) and 2×2 (5).
//
// Budget (profiler, reference convention): the largest sub-network is 17.1 MMACs, the smallest
// 2.6 MMACs, a 6.5× range for the search to trade accuracy against MACs. Choices:
//   - stem type 5 with 12 mid channels: at 16×16 px its two 3×3 mid convs cost 2·m²·9·256
//     MACs, 0.66 M at m=12 against 1.18 M at m=16 and 2.65 M for the reference's 24, which
//     alone would break the smallest network's 3 MMAC budget; 12·2·2 = 48 features per token
//     still cover the widest stage-1 embedding (40);
//   - widths double per stage (40 → 80 → 160 at most) and each stage's smallest choice is at
//     least the previous stage's largest, so every reduction has C_out ≥ C_in, as in the
//     reference spaces; stage 1 has the most tokens, so it is kept narrow;
//   - heads of dimension 16/16/32, MLP hidden up to 3× the widest embedding (the reference's
//     maximum ratio), four choices each;
//   - 4 blocks per stage in the reference's "block, skip" pattern: 2 to 4 blocks per stage.
func fmnist() *Space {
	return buildSpace("fmnist", model.Input{Size: 32, Channels: 1, Patch: 4}, 10, model.TypeConvStemMid, 12, []stageSpec{
		{widths: []int{40, 32, 24, 16}, heads: []int{3, 2, 1}, headDim: 16,
			mlp: []int{120, 96, 72, 48}, skippable: skipEveryOther(4)},
		{widths: []int{80, 64, 48, 40}, heads: []int{5, 4, 3, 2}, headDim: 16,
			mlp: []int{240, 192, 144, 96}, skippable: skipEveryOther(4)},
		{widths: []int{160, 128, 96, 80}, heads: []int{4, 3, 2}, headDim: 32,
			mlp: []int{480, 400, 320, 240}, skippable: skipEveryOther(4)},
	})
}

// fmnistWide is fmnist widened downward so that architecture matters: its smallest
// sub-network costs 1/52 of its largest (0.42 against 21.8 MMACs; in fmnist it is 1/6.5 and
// scores within half a point of the largest). Same geometry as fmnist (32×32 grayscale, patch
// 4: 8×8, 4×4 and 2×2 token grids). Its choices:
//   - the conv stem's mid width is searchable, 12/8/4/2 (fmnist fixes it at 12): at 16×16 px
//     its 3×3 mid convs cost 2·m²·9·256 MACs, 0.66 M at m = 12, more than a 1/50 smallest
//     network may cost in all. A first version fixed it at 4 for every sub-network and its
//     largest network trailed fmnist's by five points (checkpoints/README.md). The stem's
//     BatchNorm statistics are kept per mid width (see model.StemBNStatsKey);
//   - every block but a stage's first is skippable (1 to 4 or 5 blocks per stage, not the
//     reference's "block, skip" pattern): depth is the cheapest way down;
//   - the residual reductions need C_out ≥ C_in in every sub-network, so a stage's narrowest
//     width is the previous stage's widest, which fixes the smallest network's stage-2 and -3
//     widths at 40 and 80; the largest keeps fmnist's 40 and 80 and widens stage 3 to 192
//     with a fifth block, so that it can lose no accuracy to the smaller networks it shares
//     weights with;
//   - heads of dimension 8 in stage 1 (its attention over 65 tokens dominates the small
//     networks: one head of dimension 8 costs 2·65²·8 = 68 K MACs per block) and 16 after;
//     MLP hidden from 3× the widest embedding down to 16–32.
func fmnistWide() *Space {
	s := buildSpace("fmnist-wide", model.Input{Size: 32, Channels: 1, Patch: 4}, 10, model.TypeConvStemMid, 12, []stageSpec{
		{widths: []int{40, 32, 24, 16, 8}, heads: []int{6, 4, 2, 1}, headDim: 8,
			mlp: []int{120, 96, 64, 32, 16}, skippable: skipAllButFirst(4)},
		{widths: []int{80, 64, 48, 40}, heads: []int{5, 4, 3, 2, 1}, headDim: 16,
			mlp: []int{240, 192, 128, 64, 16}, skippable: skipAllButFirst(4)},
		{widths: []int{192, 160, 128, 96, 80}, heads: []int{12, 9, 6, 3, 1}, headDim: 16,
			mlp: []int{576, 448, 320, 192, 32}, skippable: skipAllButFirst(5)},
	})
	s.StemMids = []int{12, 8, 4, 2}
	return s
}

// devSmall is the small supernet of the reference fixtures (testdata/reference-dev/spec.json:
// 112 px, 10 classes, largest def 32/64/96 wide with 4+4+3 blocks). The choices are the
// smallest regular lists holding every sub-network listed there: MLP sizes in steps of the
// stage's head dimension, and the skippable positions those sub-networks skip. Stage 3's
// skippable blocks are adjacent, unlike the reference spaces; the fixture skips either.
func devSmall() *Space {
	steps := func(max, step int) []int {
		var c []int
		for v := max; v >= step; v -= step {
			c = append(c, v)
		}
		return c
	}
	return buildSpace("dev-small", model.Input{Size: 112, Channels: 3, Patch: 14}, 10, model.TypeConvStem, model.DefaultStemMid, []stageSpec{
		{widths: []int{32, 24}, heads: []int{2, 1}, headDim: 16, mlp: steps(96, 16), skippable: skipEveryOther(4)},
		{widths: []int{64, 48}, heads: []int{4, 3, 2, 1}, headDim: 16, mlp: steps(192, 16), skippable: skipEveryOther(4)},
		{widths: []int{96, 80}, heads: []int{3, 2, 1}, headDim: 32, mlp: steps(288, 32), skippable: []bool{true, true, false}},
	})
}

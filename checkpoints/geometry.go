package checkpoints

import (
	"fmt"
	"math"

	"github.com/resnas/resnas/model"
)

// InferInput reads the image geometry off a PyTorch state_dict, which does not record it:
// channels from the first convolution, the token grid from the stage-1 position embedding,
// and the patch size given (0: the reference's 14).
func InferInput(w model.Weights, patch int) (model.Input, error) {
	if patch <= 0 {
		patch = 14
	}
	in := model.Input{Patch: patch}
	pos, ok := w["pos_embed"]
	if !ok || len(pos.Shape) != 3 {
		return in, fmt.Errorf("no pos_embed of shape (1, tokens, C): not a ViT-ResNAS checkpoint")
	}
	g := int(math.Round(math.Sqrt(float64(pos.Shape[1] - 1))))
	if g*g+1 != pos.Shape[1] {
		return in, fmt.Errorf("pos_embed has %d tokens, not 1 + a square grid (distillation models are not supported)", pos.Shape[1])
	}
	in.Size = g * patch
	for _, k := range []string{"patch_embed.conv1.conv.weight", "patch_embed.proj.weight"} {
		if t, ok := w[k]; ok && len(t.Shape) == 4 {
			in.Channels = t.Shape[1]
			return in, nil
		}
	}
	return in, fmt.Errorf("no patch_embed.conv1.conv.weight or patch_embed.proj.weight: not a ViT-ResNAS checkpoint")
}

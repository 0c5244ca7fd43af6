package checkpoints

import (
	"strings"
	"testing"

	"github.com/resnas/resnas/model"
)

func TestInferInput(t *testing.T) {
	w := model.Weights{
		"pos_embed":                     {Shape: []int{1, 65, 16}},
		"patch_embed.conv1.conv.weight": {Shape: []int{8, 3, 3, 3}},
	}
	in, err := InferInput(w, 4)
	if err != nil || in != (model.Input{Size: 32, Channels: 3, Patch: 4}) {
		t.Errorf("InferInput = %+v, %v; want 32 px, 3 channels, patch 4", in, err)
	}
	if in, _ := InferInput(w, 0); in.Patch != 14 || in.Size != 8*14 {
		t.Errorf("patch 0 gave %+v, want the reference's patch 14", in)
	}
	for _, c := range []struct {
		name string
		w    model.Weights
		want string
	}{
		{"no pos_embed", model.Weights{}, "no pos_embed"},
		{"distilled", model.Weights{"pos_embed": {Shape: []int{1, 66, 16}}}, "square grid"},
		{"no stem", model.Weights{"pos_embed": {Shape: []int{1, 65, 16}}}, "no patch_embed"},
	} {
		if _, err := InferInput(c.w, 14); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}

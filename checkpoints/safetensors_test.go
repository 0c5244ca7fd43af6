package checkpoints

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nlpodyssey/safetensors"

	"github.com/resnas/resnas/model"
)

func randomWeights(seed uint64) model.Weights {
	rng := rand.New(rand.NewPCG(seed, 7))
	w := model.Weights{}
	for key, shape := range map[string][]int{
		"blocks.0.attn.qkv.weight": {96, 32}, "blocks.0.attn.qkv.bias": {96}, "pos_embed": {1, 65, 32},
		"patch_embed.conv1.conv.weight": {24, 3, 3, 3}, "patch_embed.conv1.bn.num_batches_tracked": {},
		"empty": {0, 4},
	} {
		t := model.Tensor{Shape: shape, Data: make([]float32, model.Tensor{Shape: shape}.Numel())}
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(9)-6)))
		}
		w[key] = t
	}
	w["patch_embed.conv1.bn.num_batches_tracked"].Data[0] = 12345
	return w
}

func fullMeta() Meta {
	seed := int64(-3)
	return Meta{
		Arch:      devSmallSupernet,
		Space:     "dev-small",
		SpaceJSON: json.RawMessage(`{"name":"dev-small","widths":[32,24]}`),
		Input:     devSmallInput,
		Classes:   10,
		Mean:      []float64{0.485, 0.456, 0.406},
		Std:       []float64{0.229, 0.224, 0.225},
		Provenance: Provenance{
			Source: "runs/supernet.pth.tar", SHA256: strings.Repeat("ab", 32), Command: "resnas convert a b",
			Seed: &seed, Created: time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC),
			Accuracy: map[string]float64{"top1": 71.25, "subval_top1": 69.5},
		},
		Extra: map[string]string{"note": "kept on a round trip"},
	}
}

func TestSaveLoadFloat32IsExact(t *testing.T) {
	w, meta := randomWeights(1), fullMeta()
	path := tempPath(t, "w.safetensors")
	if err := Save(path, w, meta, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	ck, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ck.Weights, w) {
		t.Error("weights changed on a float32 round trip")
	}
	if !reflect.DeepEqual(ck.Meta, meta) {
		t.Errorf("meta changed on a round trip:\n got %+v\nwant %+v", ck.Meta, meta)
	}
	if ck.Source != SourceSafetensors || ck.Epoch != -1 || len(ck.SHA256) != 64 {
		t.Errorf("source %q epoch %d sha %q", ck.Source, ck.Epoch, ck.SHA256)
	}
	// The header is plain safetensors: another reader sees our tensors and string metadata.
	_, header, err := safetensors.ReadMetadata(readFile(t, path))
	if err != nil {
		t.Fatal(err)
	}
	if md := header.Metadata(); md["format"] != "resnas" || md["format_version"] != "1" || md["network_def"] != devSmallSupernet || md["image_size"] != "112" {
		t.Errorf("metadata %v", md)
	}
}

func TestSaveLoadFloat16(t *testing.T) {
	w := randomWeights(2)
	w["big"] = model.Tensor{Shape: []int{2}, Data: []float32{1e5, 1}} // would overflow float16
	w["inf"] = model.Tensor{Shape: []int{2}, Data: []float32{float32(math.Inf(-1)), 0.5}}
	dir := t.TempDir()
	p32, p16 := filepath.Join(dir, "w32"), filepath.Join(dir, "w16")
	if err := Save(p32, w, Meta{}, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Save(p16, w, Meta{}, SaveOptions{Float16: true}); err != nil {
		t.Fatal(err)
	}
	ck, err := Load(p16, Options{})
	if err != nil {
		t.Fatal(err)
	}
	maxRel := 0.0
	for key, want := range w {
		got := ck.Weights[key]
		if !slices.Equal(got.Shape, want.Shape) {
			t.Fatalf("%s: shape %v, want %v", key, got.Shape, want.Shape)
		}
		for i, x := range want.Data {
			g := float64(got.Data[i])
			// Half precision: relative error 2⁻¹¹ for normal values, absolute 2⁻²⁵ below 2⁻¹⁴.
			diff := math.Abs(g - float64(x))
			if math.IsInf(float64(x), 0) {
				diff = math.Abs(g - float64(x)) // inf - inf is NaN unless equal
				if g == float64(x) {
					diff = 0
				}
			}
			if diff > math.Abs(float64(x))/2048+1.0/(1<<25) || math.IsNaN(diff) {
				t.Fatalf("%s[%d] = %v, want %v within half precision", key, i, g, x)
			}
			if x != 0 && math.Abs(float64(x)) > 1.0/(1<<14) && !math.IsInf(float64(x), 0) {
				maxRel = max(maxRel, diff/math.Abs(float64(x)))
			}
		}
	}
	if got := ck.Weights["big"].Data[0]; got != 1e5 {
		t.Errorf("a tensor beyond float16 range was not kept in float32: %v", got)
	}
	st32, _ := os.Stat(p32)
	st16, _ := os.Stat(p16)
	t.Logf("float16 file %d bytes, float32 %d; max relative error %.3g (bound %.3g)", st16.Size(), st32.Size(), maxRel, 1.0/2048)
	if st16.Size() > st32.Size()*6/10 {
		t.Errorf("float16 file is %d bytes, float32 %d: not about half", st16.Size(), st32.Size())
	}
}

func TestSaveRefusesBadInputAndKeepsOldFile(t *testing.T) {
	path := tempPath(t, "w.safetensors")
	if err := Save(path, randomWeights(3), Meta{}, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	old := readFile(t, path)
	for name, tc := range map[string]struct {
		w    model.Weights
		meta Meta
	}{
		"no tensors":     {model.Weights{}, Meta{}},
		"shape mismatch": {model.Weights{"w": {Shape: []int{2, 3}, Data: make([]float32, 5)}}, Meta{}},
		"negative dim":   {model.Weights{"w": {Shape: []int{-1}, Data: nil}}, Meta{}},
		"reserved key":   {model.Weights{"__metadata__": {Shape: []int{1}, Data: []float32{1}}}, Meta{}},
		"bad arch":       {randomWeights(3), Meta{Arch: "((4, 32), (9, 1))"}},
		"bad space JSON": {randomWeights(3), Meta{SpaceJSON: json.RawMessage("{")}},
		"negative size":  {randomWeights(3), Meta{Input: model.Input{Size: -1}}},
		"NaN mean":       {randomWeights(3), Meta{Mean: []float64{math.NaN()}}},
		"infinite top-1": {randomWeights(3), Meta{Provenance: Provenance{Accuracy: map[string]float64{"top1": math.Inf(1)}}}},
	} {
		err := Save(path, tc.w, tc.meta, SaveOptions{})
		checkOneLineError(t, err, path)
		if !bytes.Equal(readFile(t, path), old) {
			t.Fatalf("%s: a failed save changed the file", name)
		}
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("temporary files left behind: %v", ents)
	}
	err := Save(filepath.Join(t.TempDir(), "missing", "w.safetensors"), randomWeights(3), Meta{}, SaveOptions{})
	if err == nil || strings.ContainsAny(err.Error(), "\n") {
		t.Errorf("saving into a missing directory: %v", err)
	}
}

// A safetensors file from elsewhere loads, its metadata kept in Extra, its dtypes widened.
func TestLoadForeignSafetensors(t *testing.T) {
	views := map[string]safetensors.TensorView{}
	add := func(name string, dt safetensors.DType, shape []uint64, data []byte) {
		v, err := safetensors.NewTensorView(dt, shape, data)
		if err != nil {
			t.Fatal(err)
		}
		views[name] = v
	}
	add("i64", safetensors.I64, []uint64{2}, []byte{7, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	add("bf16", safetensors.BF16, []uint64{1}, []byte{0xc0, 0x3f})
	add("f64", safetensors.F64, []uint64{1}, []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f})
	add("u8", safetensors.U8, []uint64{3}, []byte{0, 1, 255})
	b, err := safetensors.Serialize(views, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := LoadBytes("timm.safetensors", b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string][]float32{"i64": {7, -2}, "bf16": {1.5}, "f64": {1}, "u8": {0, 1, 255}} {
		if got := ck.Weights[key].Data; !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	if ck.Meta.Extra["format"] != "pt" || ck.Meta.Arch != "" {
		t.Errorf("foreign metadata %+v", ck.Meta)
	}
	// Unsupported dtypes are named.
	add("u32", safetensors.U32, []uint64{1}, []byte{1, 0, 0, 0})
	b, _ = safetensors.Serialize(views, nil)
	_, err = LoadBytes("u32.safetensors", b, Options{})
	checkOneLineError(t, err, "u32.safetensors")
}

func TestLoadRefusesBadMetadata(t *testing.T) {
	w := model.Weights{"w": {Shape: []int{1}, Data: []float32{1}}}
	for name, md := range map[string]map[string]string{
		"newer version": {"format": "resnas", "format_version": "2"},
		"bad version":   {"format": "resnas", "format_version": "one"},
		"bad size":      {"format": "resnas", "image_size": "big"},
		"bad mean":      {"format": "resnas", "mean": "[0.5,"},
		"bad seed":      {"format": "resnas", "seed": "1.5"},
		"bad created":   {"format": "resnas", "created": "yesterday"},
		"bad accuracy":  {"format": "resnas", "accuracy": "71"},
		"bad space":     {"format": "resnas", "space_json": "{"},
	} {
		views := map[string]tensorView{"w": {t: w["w"], dtype: safetensors.F32}}
		b, err := safetensors.Serialize(views, md)
		if err != nil {
			t.Fatal(err)
		}
		_, err = LoadBytes(name, b, Options{})
		checkOneLineError(t, err, name)
	}
	// The format is told by content, not by the name.
	path := tempPath(t, "looks-like.pth.tar")
	if err := Save(path, w, Meta{}, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if ck, err := Load(path, Options{}); err != nil || ck.Source != SourceSafetensors {
		t.Errorf("safetensors named .pth.tar: %v", err)
	}
	// Truncated safetensors files are refused.
	b := readFile(t, path)
	for _, cut := range []int{8, 9, 20, len(b) / 2, len(b) - 1} {
		_, err := LoadBytes("cut.safetensors", b[:cut], Options{})
		checkOneLineError(t, err, "cut.safetensors")
	}
}

// TestCheckTilingEmptyTensors: an empty tensor sharing its start with a non-empty one tiles
// the data whatever order the header's map yields (it was refused in about 1 load of 7).
func TestCheckTilingEmptyTensors(t *testing.T) {
	for range 50 {
		infos := map[string]*safetensors.TensorInfo{
			"a": {DType: safetensors.F32, Shape: []uint64{0}, DataOffsets: [2]uint64{0, 0}},
			"b": {DType: safetensors.F32, Shape: []uint64{2}, DataOffsets: [2]uint64{0, 8}},
			"c": {DType: safetensors.F32, Shape: []uint64{0}, DataOffsets: [2]uint64{8, 8}},
		}
		if err := checkTiling(infos, 8); err != nil {
			t.Fatalf("checkTiling: %v", err)
		}
	}
}

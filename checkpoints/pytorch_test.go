package checkpoints

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/resnas/resnas/model"
)

// digest is testdata/digest.json: the fixtures as read by testdata/digest.py, an independent
// pure-Python reader (stock pickle plus struct, no torch).
type digest map[string]struct {
	Epoch int            `json:"epoch"`
	Args  map[string]any `json:"args"`
	Model map[string]struct {
		Shape    []int    `json:"shape"`
		Sum      float64  `json:"sum"`
		Weighted float64  `json:"weighted"`
		First    *float64 `json:"first"`
		Last     *float64 `json:"last"`
	} `json:"model"`
}

func TestLoadFixturesMatchIndependentReader(t *testing.T) {
	var want digest
	if err := json.Unmarshal(readFile(t, "testdata/digest.json"), &want); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"supernet": supernetFixture, "subnet0": subnetFixture} {
		ck, err := Load(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		w := want[name]
		sum := sha256.Sum256(readFile(t, path))
		if ck.SHA256 != hex.EncodeToString(sum[:]) || ck.Meta.Provenance.SHA256 != ck.SHA256 {
			t.Errorf("%s: sha256 %s (meta %s), want %x", name, ck.SHA256, ck.Meta.Provenance.SHA256, sum)
		}
		if ck.Source != SourceModel || ck.Path != path || ck.Meta.Provenance.Source != path {
			t.Errorf("%s: source %q path %q provenance %q", name, ck.Source, ck.Path, ck.Meta.Provenance.Source)
		}
		if ck.Epoch != w.Epoch {
			t.Errorf("%s: epoch %d, want %d", name, ck.Epoch, w.Epoch)
		}
		for k, v := range w.Args {
			got := ck.Args[k]
			if f, ok := v.(float64); ok { // JSON numbers
				if n, ok := got.(int); !ok || float64(n) != f {
					t.Errorf("%s: args.%s = %v, want %v", name, k, got, v)
				}
			} else if got != v {
				t.Errorf("%s: args.%s = %v, want %v", name, k, got, v)
			}
		}
		if len(ck.Args) != len(w.Args) {
			t.Errorf("%s: %d args, want %d", name, len(ck.Args), len(w.Args))
		}
		if len(ck.Weights) != len(w.Model) {
			t.Errorf("%s: %d tensors, want %d", name, len(ck.Weights), len(w.Model))
		}
		maxDiff := 0.0
		for key, d := range w.Model {
			got, ok := ck.Weights[key]
			if !ok {
				t.Errorf("%s: missing %s", name, key)
				continue
			}
			if !slices.Equal(got.Shape, d.Shape) || len(got.Data) != got.Numel() {
				t.Errorf("%s: %s shape %v with %d values, want %v", name, key, got.Shape, len(got.Data), d.Shape)
				continue
			}
			// Same values summed in the same order in float64: equal up to rounding noise.
			var s, ws float64
			for i, x := range got.Data {
				s += float64(x)
				ws += float64(x) * float64(i%7+1)
			}
			for _, c := range [][2]float64{{s, d.Sum}, {ws, d.Weighted}, {float64(got.Data[0]), *d.First},
				{float64(got.Data[len(got.Data)-1]), *d.Last}} {
				diff := math.Abs(c[0] - c[1])
				maxDiff = max(maxDiff, diff)
				if diff > 1e-9*(1+math.Abs(c[1])) {
					t.Errorf("%s: %s: got %v, independent reader %v", name, key, c[0], c[1])
				}
			}
		}
		t.Logf("%s: %d tensors, max difference from the independent reader %.3g", name, len(w.Model), maxDiff)
	}
}

// devSmallInput is the geometry of the reference-dev fixtures (spec.json: img 112).
var devSmallInput = model.Input{Size: 112, Channels: 3, Patch: 14}

// devSmallSupernet is spec.json's "supernet" network_def.
const devSmallSupernet = "((4, 32), (1, (32, 2, 16), (32, 96), 1), (1, (32, 2, 16), (32, 96), 1), (1, (32, 2, 16), (32, 96), 1), (1, (32, 2, 16), (32, 96), 1), (3, 32, 64), (1, (64, 4, 16), (64, 192), 1), (1, (64, 4, 16), (64, 192), 1), (1, (64, 4, 16), (64, 192), 1), (1, (64, 4, 16), (64, 192), 1), (3, 64, 96), (1, (96, 3, 32), (96, 288), 1), (1, (96, 3, 32), (96, 288), 1), (1, (96, 3, 32), (96, 288), 1), (2, 96, 10))"

func TestSupernetShapes(t *testing.T) {
	ck, err := Load(supernetFixture, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// reference.md §4.2 for dev-small at 112 px (8×8 grid): conv stem with 24 mid channels,
	// stage widths 32/64/96, SR blocks at blocks.4 and blocks.9, 10 classes.
	for key, shape := range map[string][]int{
		"tokens":                                   {1, 1, 32},
		"pos_embed":                                {1, 65, 32},
		"patch_embed.conv1.conv.weight":            {24, 3, 3, 3},
		"patch_embed.conv2.conv.weight":            {24, 24, 3, 3},
		"patch_embed.conv3.bn.running_var":         {24},
		"patch_embed.conv1.bn.num_batches_tracked": {},
		"patch_embed.conv_proj.weight":             {32, 24, 7, 7},
		"blocks.0.attn.qkv.weight":                 {96, 32},
		"blocks.0.attn.proj.weight":                {32, 32},
		"blocks.0.mlp.fc1.weight":                  {96, 32},
		"blocks.0.mlp.fc2.weight":                  {32, 96},
		"blocks.4.pos_embed":                       {1, 16, 64},
		"blocks.4.norm.weight":                     {32},
		"blocks.4.patch_reduce.weight":             {64, 32, 3, 3},
		"blocks.4.token_transform.weight":          {64, 32},
		"blocks.5.attn.qkv.weight":                 {192, 64},
		"blocks.9.pos_embed":                       {1, 4, 96},
		"blocks.9.patch_reduce.weight":             {96, 64, 3, 3},
		"blocks.10.attn.qkv.weight":                {288, 96},
		"blocks.10.attn.proj.weight":               {96, 96},
		"blocks.10.mlp.fc1.weight":                 {288, 96},
		"norm.weight":                              {96},
		"cls_head.weight":                          {10, 96},
		"patch_head.weight":                        {10, 96},
	} {
		if got, ok := ck.Weights[key]; !ok || !slices.Equal(got.Shape, shape) {
			t.Errorf("%s: shape %v (present %v), want %v", key, got.Shape, ok, shape)
		}
	}
	// And every inference tensor the model package expects for this network_def.
	arch, err := model.ParseArch(devSmallSupernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range model.ParamShapes(arch, devSmallInput) {
		if got, ok := ck.Weights[ps.Key]; !ok || !slices.Equal(got.Shape, ps.Shape) {
			t.Errorf("model.ParamShapes: %s shape %v (present %v), want %v", ps.Key, got.Shape, ok, ps.Shape)
		}
	}
}

// TestSubnetIsSliceOfSupernet checks strided reading: subnet0 was saved from views of the
// supernet's tensors, so each of its tensors must equal the supernet's leading slice, with qkv
// taken per q/k/v section (reference.md §4.4).
func TestSubnetIsSliceOfSupernet(t *testing.T) {
	sup, err := Load(supernetFixture, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := Load(subnetFixture, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for key, st := range sub.Weights {
		if strings.HasSuffix(key, "num_batches_tracked") {
			continue // the sub-network keeps its own count
		}
		src, ok := sup.Weights[key]
		if !ok || len(src.Shape) != len(st.Shape) {
			t.Errorf("%s: supernet has shape %v (present %v), subnet %v", key, src.Shape, ok, st.Shape)
			continue
		}
		var want []float32
		if strings.Contains(key, "qkv") {
			want = qkvSlice(src, st.Shape)
		} else {
			want = leadingSlice(src, st.Shape)
		}
		if !slices.Equal(st.Data, want) {
			t.Errorf("%s: subnet %v is not the supernet's leading slice", key, st.Shape)
		}
		checked++
	}
	if checked < 100 {
		t.Errorf("only %d tensors compared", checked)
	}
}

// leadingSlice returns src[0:shape[0], 0:shape[1], …] in row-major order.
func leadingSlice(src model.Tensor, shape []int) []float32 {
	out := make([]float32, 0, model.Tensor{Shape: shape}.Numel())
	idx := make([]int, len(shape))
	for n := (model.Tensor{Shape: shape}).Numel(); n > 0; n-- {
		at := 0
		for d := range shape {
			at = at*src.Shape[d] + idx[d]
		}
		out = append(out, src.Data[at])
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

// qkvSlice takes the first rows of each q/k/v section and the leading columns.
func qkvSlice(src model.Tensor, shape []int) []float32 {
	secSrc, secDst := src.Shape[0]/3, shape[0]/3
	cols, srcCols := 1, 1
	if len(shape) == 2 {
		cols, srcCols = shape[1], src.Shape[1]
	}
	var out []float32
	for s := 0; s < 3; s++ {
		for r := 0; r < secDst; r++ {
			row := (s*secSrc + r) * srcCols
			out = append(out, src.Data[row:row+cols]...)
		}
	}
	return out
}

// TestViewsOffsetsAndDtypes builds a bare state_dict whose tensors are views into shared
// storages: offsets, transposed and broadcast strides, a 0-d view, and every dtype.
func TestViewsOffsetsAndDtypes(t *testing.T) {
	floats := pkStorage{"FloatStorage", "0", 24}
	half := pkStorage{"HalfStorage", "1", 4}
	bf16 := pkStorage{"BFloat16Storage", "2", 2}
	long := pkStorage{"LongStorage", "3", 2}
	double := pkStorage{"DoubleStorage", "4", 1}
	int32s := pkStorage{"IntStorage", "5", 2}
	sd := pkODict{
		{"module.transposed", pkTensor{st: floats, offset: 5, size: []int{2, 3}, stride: []int{1, 2}}},
		{"module.rows", pkTensor{st: floats, offset: 4, size: []int{2, 2}, stride: []int{6, 1}}},
		{"module.scalar", pkTensor{st: floats, offset: 23, size: []int{}, stride: []int{}}},
		{"module.broadcast", pkTensor{st: floats, offset: 1, size: []int{3, 2}, stride: []int{0, 1}}},
		{"module.empty", pkTensor{st: floats, offset: 24, size: []int{0, 5}, stride: []int{5, 1}}},
		{"module.half", contiguous(half, 4)},
		{"module.bf16", contiguous(bf16, 2)},
		{"module.long", contiguous(long, 2)},
		{"module.double", contiguous(double, 1)},
		{"module.int", contiguous(int32s, 2)},
	}
	le := binary.LittleEndian
	halfBytes := make([]byte, 8)
	for i, h := range []uint16{0x3c00, 0xc000, 0x0001, 0x7bff} { // 1, -2, 2⁻²⁴, 65504
		le.PutUint16(halfBytes[2*i:], h)
	}
	bfBytes := []byte{0x80, 0x3f, 0x20, 0xc1} // bfloat16 1.0 and -10.0
	longBytes := make([]byte, 16)
	le.PutUint64(longBytes, 12345)
	le.PutUint64(longBytes[8:], uint64(math.MaxUint64)) // -1
	doubleBytes := make([]byte, 8)
	le.PutUint64(doubleBytes, math.Float64bits(0.1))
	intBytes := make([]byte, 8)
	le.PutUint32(intBytes, uint32(0xfffffff9)) // -7
	le.PutUint32(intBytes[4:], 7)
	file := torchZip(t, pickle2(sd), map[string][]byte{
		"0": f32bytes(le, ramp(24)...), "1": halfBytes, "2": bfBytes, "3": longBytes, "4": doubleBytes, "5": intBytes,
	})
	ck, err := LoadBytes("views.pth", file, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ck.Source != SourceStateDict || ck.Epoch != -1 || ck.Args != nil {
		t.Errorf("source %q epoch %d args %v, want a bare state_dict", ck.Source, ck.Epoch, ck.Args)
	}
	for key, want := range map[string]model.Tensor{
		"transposed": {Shape: []int{2, 3}, Data: []float32{5, 7, 9, 6, 8, 10}},
		"rows":       {Shape: []int{2, 2}, Data: []float32{4, 5, 10, 11}},
		"scalar":     {Shape: []int{}, Data: []float32{23}},
		"broadcast":  {Shape: []int{3, 2}, Data: []float32{1, 2, 1, 2, 1, 2}},
		"empty":      {Shape: []int{0, 5}, Data: []float32{}},
		"half":       {Shape: []int{4}, Data: []float32{1, -2, 1.0 / (1 << 24), 65504}},
		"bf16":       {Shape: []int{2}, Data: []float32{1, -10}},
		"long":       {Shape: []int{2}, Data: []float32{12345, -1}},
		"double":     {Shape: []int{1}, Data: []float32{0.1}},
		"int":        {Shape: []int{2}, Data: []float32{-7, 7}},
	} {
		got, ok := ck.Weights[key] // the module. prefix is stripped
		if !ok || !slices.Equal(got.Shape, want.Shape) || !slices.Equal(got.Data, want.Data) {
			t.Errorf("%s = %v %v (present %v), want %v %v", key, got.Shape, got.Data, ok, want.Shape, want.Data)
		}
	}
}

func TestBigEndianByteorder(t *testing.T) {
	st := pkStorage{"FloatStorage", "0", 3}
	file := buildZip(t,
		zipEntry{name: "m/data.pkl", data: pickle2(pkODict{{"w", contiguous(st, 3)}})},
		zipEntry{name: "m/byteorder", data: []byte("big")},
		zipEntry{name: "m/data/0", data: f32bytes(binary.BigEndian, 1.5, -2, 3)})
	ck, err := LoadBytes("be.pt", file, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ck.Weights["w"].Data; !slices.Equal(got, []float32{1.5, -2, 3}) {
		t.Errorf("big-endian storage read as %v", got)
	}
}

// trainingCheckpoint is a dict like the reference main.py saves, with distinct model and EMA weights.
func trainingCheckpoint(t *testing.T, withEMA bool) []byte {
	m := pkStorage{"FloatStorage", "0", 2}
	e := pkStorage{"FloatStorage", "1", 2}
	top := pkDict{
		{"model", pkODict{{"w", contiguous(m, 2)}}},
		{"optimizer", pkDict{{"state", pkDict{{0, pkDict{{"step", 10}, {"exp_avg", contiguous(m, 2)}}}}},
			{"param_groups", pkList{pkDict{{"lr", 1e-3}, {"betas", pkTuple{0.9, 0.999}}, {"params", pkList{0}}}}}}},
		{"lr_scheduler", pkDict{{"last_epoch", 9}, {"base_lrs", pkList{1e-3}}}},
		{"epoch", 9},
		{"args", pkNamespace{{"model", "flexible_vit_sr_patch14_224_patch_output"}, {"seed", 0}, {"lr", 5e-4},
			{"network_def", "((4, 8), (1, (8, 1, 8), (8, 16), 1), (2, 8, 10))"}, {"no_model_ema", nil}}},
	}
	if withEMA {
		top = append(top, [2]any{"model_ema", pkODict{{"w", contiguous(e, 2)}}})
	}
	return torchZip(t, pickle2(top), map[string][]byte{
		"0": f32bytes(binary.LittleEndian, 1, 2), "1": f32bytes(binary.LittleEndian, 3, 4)})
}

func TestChoosesWeightsLikeTheReference(t *testing.T) {
	withEMA, modelOnly := trainingCheckpoint(t, true), trainingCheckpoint(t, false)
	for _, tc := range []struct {
		file           []byte
		prefer, source string
		first          float32
	}{
		{withEMA, "", SourceModelEMA, 3}, // main.py --eval overrides model with model_ema
		{withEMA, SourceModelEMA, SourceModelEMA, 3},
		{withEMA, SourceModel, SourceModel, 1},
		{modelOnly, "", SourceModel, 1},
		{modelOnly, SourceModel, SourceModel, 1},
	} {
		ck, err := LoadBytes("train.pth", tc.file, Options{Prefer: tc.prefer})
		if err != nil {
			t.Errorf("prefer %q: %v", tc.prefer, err)
			continue
		}
		if ck.Source != tc.source || ck.Weights["w"].Data[0] != tc.first || ck.Epoch != 9 {
			t.Errorf("prefer %q: source %s, w[0] %v, epoch %d; want %s, %v, 9", tc.prefer, ck.Source, ck.Weights["w"].Data[0], ck.Epoch, tc.source, tc.first)
		}
		if ck.Args["seed"] != 0 || ck.Args["lr"] != 5e-4 || ck.Args["no_model_ema"] != nil {
			t.Errorf("args %v", ck.Args)
		}
	}
	_, err := LoadBytes("train.pth", modelOnly, Options{Prefer: SourceModelEMA})
	checkOneLineError(t, err, "train.pth")
	if err != nil && !strings.Contains(err.Error(), "no model_ema") {
		t.Errorf("error %q does not say model_ema is missing", err)
	}
	_, err = LoadBytes("train.pth", withEMA, Options{Prefer: "ema"})
	checkOneLineError(t, err, "train.pth")

	st := pkStorage{"FloatStorage", "0", 1}
	raw := map[string][]byte{"0": f32bytes(binary.LittleEndian, 5)}
	// A bare state_dict whose key happens to be "model" is still a bare state_dict.
	bare := torchZip(t, pickle2(pkODict{{"model", contiguous(st, 1)}}), raw)
	if ck, err := LoadBytes("bare.pth", bare, Options{}); err != nil || ck.Source != SourceStateDict || ck.Weights["model"].Data[0] != 5 {
		t.Errorf("bare state_dict with a key model: %v", err)
	}
	_, err = LoadBytes("bare.pth", bare, Options{Prefer: SourceModelEMA})
	checkOneLineError(t, err, "bare.pth")
	// Weights nested under state_dict, as other trainers save them.
	nested := torchZip(t, pickle2(pkDict{{"state_dict", pkODict{{"w", contiguous(st, 1)}}}, {"epoch", 4}}), raw)
	if ck, err := LoadBytes("nested.ckpt", nested, Options{}); err != nil || ck.Source != SourceStateDict || ck.Epoch != 4 {
		t.Errorf("nested state_dict: %v", err)
	}
	// Anything else names what it found.
	other := torchZip(t, pickle2(pkDict{{"weights", 1}, {"epoch", 4}}), nil)
	_, err = LoadBytes("other.pth", other, Options{})
	checkOneLineError(t, err, "other.pth")
	if err != nil && !strings.Contains(err.Error(), "[weights, epoch]") {
		t.Errorf("%q does not list the keys found", err)
	}
}

// A contiguous view of an unshared storage larger than the 1 MiB decoding buffer, starting
// at an offset, is streamed into its tensor piece by piece; shared storages are dropped once
// their last tensor is built, so nothing of the file stays held.
func TestStreamsLargeStoragesAndKeepsNone(t *testing.T) {
	const n = 700_000 // 2.8 MB: three buffer-fulls
	big := pkStorage{"FloatStorage", "0", n}
	shared := pkStorage{"FloatStorage", "1", 6}
	sd := pkODict{
		{"big", pkTensor{st: big, offset: 3, size: []int{n - 3}, stride: []int{1}}},
		{"a", pkTensor{st: shared, offset: 0, size: []int{3}, stride: []int{1}}},
		{"b", pkTensor{st: shared, offset: 3, size: []int{3}, stride: []int{1}}},
	}
	le := binary.LittleEndian
	file := torchZip(t, pickle2(sd), map[string][]byte{"0": f32bytes(le, ramp(n)...), "1": f32bytes(le, ramp(6)...)})
	a, err := openTorchArchive("big.pth", bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	root, err := a.unpickle()
	if err != nil {
		t.Fatal(err)
	}
	w, err := a.weights(root.(*pyDict))
	if err != nil {
		t.Fatal(err)
	}
	if got := w["big"].Data; len(got) != n-3 || got[0] != 3 || got[len(got)-1] != n-1 || got[1<<18] != 3+1<<18 {
		t.Errorf("big: %d values from %v, want %d values 3..%d", len(got), got[:min(3, len(got))], n-3, n-1)
	}
	if !slices.Equal(w["a"].Data, []float32{0, 1, 2}) || !slices.Equal(w["b"].Data, []float32{3, 4, 5}) {
		t.Errorf("shared storage views: a %v, b %v", w["a"].Data, w["b"].Data)
	}
	if len(a.raw) != 0 {
		t.Errorf("%d storages still held after loading, want none", len(a.raw))
	}
}

// Options.Float16 rounds each tensor to float16 as it is read, through one reused float32
// buffer; a tensor that would overflow (a step count, say) stays float32 in its own memory,
// from a torch.save file and from safetensors alike; Save writes float16 weights as they are.
func TestLoadFloat16(t *testing.T) {
	le := binary.LittleEndian
	a, big, b := pkStorage{"FloatStorage", "0", 3}, pkStorage{"FloatStorage", "1", 2}, pkStorage{"FloatStorage", "2", 4}
	sd := pkODict{{"a", contiguous(a, 3)}, {"big", contiguous(big, 2)}, {"b", contiguous(b, 2, 2)}}
	file := torchZip(t, pickle2(sd), map[string][]byte{
		"0": f32bytes(le, 1, 0.1, -2), "1": f32bytes(le, 70000, 1), "2": f32bytes(le, 5, 6, 7, 8)})
	ck, err := LoadBytes("half.pth", file, Options{Float16: true})
	if err != nil {
		t.Fatal(err)
	}
	st := tempPath(t, "half.safetensors")
	if err := Save(st, ck.Weights, Meta{}, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	ck2, err := Load(st, Options{Float16: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range map[string]model.Weights{"torch": ck.Weights, "safetensors": ck2.Weights} {
		if !w["a"].IsHalf() || !w["b"].IsHalf() || w["big"].IsHalf() {
			t.Errorf("%s: float16 a %v, b %v, big %v; want a and b only", name, w["a"].IsHalf(), w["b"].IsHalf(), w["big"].IsHalf())
		}
		if got := w["a"].Float32().Data; !slices.Equal(got, []float32{1, model.HalfToFloat32(model.Float32ToHalf(0.1)), -2}) {
			t.Errorf("%s: a = %v", name, got)
		}
		if got := w["big"].Data; !slices.Equal(got, []float32{70000, 1}) {
			t.Errorf("%s: big = %v, want its own [70000 1]", name, got)
		}
		if got := w["b"].Float32(); !slices.Equal(got.Data, []float32{5, 6, 7, 8}) || !slices.Equal(got.Shape, []int{2, 2}) {
			t.Errorf("%s: b = %v %v", name, got.Shape, got.Data)
		}
	}
}

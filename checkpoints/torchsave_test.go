package checkpoints

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/resnas/resnas/model"
)

// torchTestTensors covers the shapes a state_dict holds: 0-d, empty, 1-d to 4-d, negative and
// non-finite values, and an int64 buffer.
func torchTestTensors() []TorchTensor {
	seq := func(n int, scale float32) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = scale * float32(i-n/2)
		}
		return d
	}
	return []TorchTensor{
		{Key: "blocks.0.attn.qkv.weight", Tensor: model.Tensor{Shape: []int{6, 4}, Data: seq(24, 0.125)}},
		{Key: "bias", Tensor: model.Tensor{Shape: []int{5}, Data: []float32{1, -2.5, float32(math.Inf(1)), 3e-38, -0}}},
		{Key: "conv.weight", Tensor: model.Tensor{Shape: []int{3, 2, 3, 3}, Data: seq(54, 1.0/7)}},
		{Key: "pos_embed", Tensor: model.Tensor{Shape: []int{1, 5, 2}, Data: seq(10, 3)}},
		{Key: "scalar", Tensor: model.Tensor{Shape: []int{}, Data: []float32{3.5}}},
		{Key: "empty", Tensor: model.Tensor{Shape: []int{2, 0}, Data: []float32{}}},
		{Key: "bn.num_batches_tracked", Tensor: model.Tensor{Shape: []int{}, Data: []float32{1234}}, Int64: true},
	}
}

func TestSaveTorchRoundTrip(t *testing.T) {
	tensors := torchTestTensors()
	for _, c := range []struct {
		wrap, source string
	}{{"", SourceStateDict}, {"model", SourceModel}} {
		path := filepath.Join(t.TempDir(), "subnet.pth")
		if err := SaveTorch(path, tensors, TorchSaveOptions{Wrap: c.wrap}); err != nil {
			t.Fatal(err)
		}
		ck, err := Load(path, Options{})
		if err != nil {
			t.Fatalf("wrap %q: our reader refuses what we wrote: %v", c.wrap, err)
		}
		if ck.Source != c.source {
			t.Errorf("wrap %q: source %s, want %s", c.wrap, ck.Source, c.source)
		}
		if len(ck.Weights) != len(tensors) {
			t.Errorf("wrap %q: %d tensors read, want %d", c.wrap, len(ck.Weights), len(tensors))
		}
		for _, want := range tensors {
			got, ok := ck.Weights[want.Key]
			if !ok {
				t.Errorf("wrap %q: %s missing", c.wrap, want.Key)
				continue
			}
			if !slices.Equal(got.Shape, want.Tensor.Shape) {
				t.Errorf("wrap %q: %s shape %v, want %v", c.wrap, want.Key, got.Shape, want.Tensor.Shape)
			}
			for i := range want.Tensor.Data {
				if math.Float32bits(got.Data[i]) != math.Float32bits(want.Tensor.Data[i]) {
					t.Errorf("wrap %q: %s[%d] = %v, want %v (bit exact)", c.wrap, want.Key, i, got.Data[i], want.Tensor.Data[i])
					break
				}
			}
		}
		if des, _ := os.ReadDir(filepath.Dir(path)); len(des) != 1 {
			t.Errorf("SaveTorch left %d files, want only the output", len(des))
		}
	}
}

// TestSaveTorchLayout pins the zip layout torch 1.13's torch.save writes (checked against a
// file it saved): the archive folder named after the file, data.pkl first, one data/K entry per
// storage, version "3\n" last, entries stored with a data descriptor, data 64-byte aligned.
func TestSaveTorchLayout(t *testing.T) {
	var buf bytes.Buffer
	tensors := torchTestTensors()
	if err := WriteTorch(&buf, torchArchiveName("/x/sub.net.pth"), tensors, TorchSaveOptions{}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Method != zip.Store {
			t.Errorf("%s: method %d, want stored", f.Name, f.Method)
		}
		if f.Flags&0x8 == 0 {
			t.Errorf("%s: no data descriptor flag (torch writes one)", f.Name)
		}
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		if off%64 != 0 {
			t.Errorf("%s: data at offset %d, not 64-byte aligned", f.Name, off)
		}
	}
	want := []string{"sub.net/data.pkl"}
	for i := range tensors {
		want = append(want, fmt.Sprintf("sub.net/data/%d", i))
	}
	want = append(want, "sub.net/version")
	if !slices.Equal(names, want) {
		t.Errorf("entries %v, want %v", names, want)
	}
	rc, _ := zr.File[len(zr.File)-1].Open()
	var v bytes.Buffer
	v.ReadFrom(rc)
	if v.String() != "3\n" {
		t.Errorf("version %q, want \"3\\n\"", v.String())
	}
	if f := zr.File[len(tensors)]; f.UncompressedSize64 != 8 {
		t.Errorf("num_batches_tracked storage holds %d bytes, want 8 (int64)", f.UncompressedSize64)
	}
	for _, c := range []struct{ path, want string }{{"a/subnet.pth", "subnet"}, {"a.pth.tar", "a.pth"}, {"noext", "noext"}, {".pth", "archive"}, {"x y.pt", "archive"}} {
		if got := torchArchiveName(c.path); got != c.want {
			t.Errorf("torchArchiveName(%q) = %q, want %q", c.path, got, c.want)
		}
	}
}

// TestSaveTorchManyTensors: more than one SETITEMS batch (1000 items) and a lone last item.
func TestSaveTorchManyTensors(t *testing.T) {
	var tensors []TorchTensor
	for i := range 1001 {
		tensors = append(tensors, TorchTensor{Key: fmt.Sprintf("t%d", i), Tensor: model.Tensor{Shape: []int{1}, Data: []float32{float32(i)}}})
	}
	var buf bytes.Buffer
	if err := WriteTorch(&buf, "archive", tensors, TorchSaveOptions{}); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadBytes("many.pth", buf.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.Weights) != 1001 || ck.Weights["t1000"].Data[0] != 1000 {
		t.Errorf("read %d tensors, t1000 = %v", len(ck.Weights), ck.Weights["t1000"].Data)
	}
}

func TestSaveTorchRefusesBadInput(t *testing.T) {
	one := model.Tensor{Shape: []int{1}, Data: []float32{1}}
	for _, c := range []struct {
		name    string
		tensors []TorchTensor
		want    string
	}{
		{"none", nil, "no tensors"},
		{"empty key", []TorchTensor{{Key: "", Tensor: one}}, "empty name"},
		{"twice", []TorchTensor{{Key: "a", Tensor: one}, {Key: "a", Tensor: one}}, "twice"},
		{"short data", []TorchTensor{{Key: "a", Tensor: model.Tensor{Shape: []int{2}, Data: []float32{1}}}}, "2 elements"},
	} {
		dir := t.TempDir()
		err := SaveTorch(filepath.Join(dir, "x.pth"), c.tensors, TorchSaveOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
		if des, _ := os.ReadDir(dir); len(des) != 0 {
			t.Errorf("%s: a refused save left %d files", c.name, len(des))
		}
	}
	if err := SaveTorch(filepath.Join(t.TempDir(), "missing", "x.pth"), []TorchTensor{{Key: "a", Tensor: one}}, TorchSaveOptions{}); err == nil {
		t.Error("saving into a missing folder succeeded")
	}
}

// torchPython is /usr/bin/python3 when it imports torch ≥ 1.13 (weights_only); the test is
// skipped otherwise.
func torchPython(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	out, err := exec.Command("nice", "-n", "19", py, "-c", "import torch, inspect; assert 'weights_only' in inspect.signature(torch.load).parameters; print(torch.__version__)").CombinedOutput()
	if err != nil {
		t.Skipf("%s has no torch with torch.load(weights_only=True): %s", py, strings.TrimSpace(lastLine(string(out))))
	}
	return py
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// TestSaveTorchLoadsInTorch: torch.load(weights_only=True) reads the file, in order, with the
// values, shapes, dtypes and contiguity we wrote, wrapped or bare.
func TestSaveTorchLoadsInTorch(t *testing.T) {
	py := torchPython(t)
	tensors := torchTestTensors()
	script := `
import json, sys, torch
out = []
for path, wrap in ((sys.argv[1], None), (sys.argv[2], "model")):
    obj = torch.load(path, weights_only=True)
    if wrap:
        assert type(obj) is dict and list(obj) == [wrap], list(obj)
        obj = obj[wrap]
    assert type(obj).__name__ == "OrderedDict", type(obj)
    out.append([[k, list(v.shape), str(v.dtype), v.is_contiguous(), [float(x) if x == x and abs(x) != float("inf") else str(float(x)) for x in v.flatten().tolist()]] for k, v in obj.items()])
print(json.dumps(out))
`
	dir := t.TempDir()
	bare, wrapped := filepath.Join(dir, "bare.pth"), filepath.Join(dir, "wrapped.pth")
	if err := SaveTorch(bare, tensors, TorchSaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := SaveTorch(wrapped, tensors, TorchSaveOptions{Wrap: "model"}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("nice", "-n", "19", py, "-c", script, bare, wrapped).CombinedOutput()
	if err != nil {
		t.Fatalf("torch.load refused the file: %v\n%s", err, out)
	}
	var got [][][]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for fi, file := range got {
		if len(file) != len(tensors) {
			t.Fatalf("file %d: torch read %d tensors, want %d", fi, len(file), len(tensors))
		}
		for i, want := range tensors {
			e := file[i]
			if e[0] != want.Key {
				t.Errorf("file %d: entry %d is %v, want %s (order kept)", fi, i, e[0], want.Key)
			}
			var shape []int
			for _, d := range e[1].([]any) {
				shape = append(shape, int(d.(float64)))
			}
			if !slices.Equal(shape, want.Tensor.Shape) && !(len(shape) == 0 && len(want.Tensor.Shape) == 0) {
				t.Errorf("file %d: %s shape %v, want %v", fi, want.Key, shape, want.Tensor.Shape)
			}
			wantType := "torch.float32"
			if want.Int64 {
				wantType = "torch.int64"
			}
			if e[2] != wantType || e[3] != true {
				t.Errorf("file %d: %s is %v contiguous=%v, want %s contiguous", fi, want.Key, e[2], e[3], wantType)
			}
			for j, v := range e[4].([]any) {
				w := float64(want.Tensor.Data[j])
				if s, ok := v.(string); ok {
					if s != fmt.Sprint(math.Inf(1)) && s != "inf" {
						t.Errorf("file %d: %s[%d] = %s", fi, want.Key, j, s)
					}
					continue
				}
				if v.(float64) != w {
					t.Errorf("file %d: %s[%d] = %v, want %v", fi, want.Key, j, v, w)
				}
			}
		}
	}
}

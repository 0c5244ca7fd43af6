package checkpoints

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Helpers that build torch.save-shaped files by hand, so tests control every byte: offsets,
// strides, dtypes, malicious globals, truncations.

type (
	pkTuple     []any
	pkList      []any
	pkDict      [][2]any // a plain dict, in order
	pkODict     [][2]any // a collections.OrderedDict, as a state_dict is pickled
	pkNamespace [][2]any // an argparse.Namespace with these attributes
	pkGlobal    struct{ module, name string }
	pkRaw       []byte // opcodes spliced in verbatim
	pkStorage   struct {
		kind, key string
		numel     int
	}
	pkTensor struct {
		st           pkStorage
		offset       int
		size, stride []int
	}
)

// pickle2 encodes v as torch.save does: protocol 2, then STOP.
func pickle2(v any) []byte {
	var b bytes.Buffer
	b.Write([]byte{0x80, 2})
	encodePK(&b, v)
	b.WriteByte('.')
	return b.Bytes()
}

func encodePK(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteByte('N')
	case bool:
		if v {
			b.WriteByte(0x88)
		} else {
			b.WriteByte(0x89)
		}
	case int:
		if v >= math.MinInt32 && v <= math.MaxInt32 {
			b.WriteByte('J')
			binary.Write(b, binary.LittleEndian, int32(v))
		} else {
			b.Write([]byte{0x8a, 8})
			binary.Write(b, binary.LittleEndian, int64(v))
		}
	case float64:
		b.WriteByte('G')
		binary.Write(b, binary.BigEndian, v)
	case string:
		b.WriteByte('X')
		binary.Write(b, binary.LittleEndian, uint32(len(v)))
		b.WriteString(v)
	case pkTuple:
		b.WriteByte('(')
		for _, it := range v {
			encodePK(b, it)
		}
		b.WriteByte('t')
	case pkList:
		b.WriteString("](")
		for _, it := range v {
			encodePK(b, it)
		}
		b.WriteByte('e')
	case pkDict:
		b.WriteString("}(")
		for _, kv := range v {
			encodePK(b, kv[0])
			encodePK(b, kv[1])
		}
		b.WriteByte('u')
	case pkODict:
		encodePK(b, pkGlobal{"collections", "OrderedDict"})
		b.WriteString(")R(")
		for _, kv := range v {
			encodePK(b, kv[0])
			encodePK(b, kv[1])
		}
		b.WriteByte('u')
	case pkNamespace:
		encodePK(b, pkGlobal{"argparse", "Namespace"})
		b.WriteString(")\x81")
		encodePK(b, pkDict(v))
		b.WriteByte('b')
	case pkGlobal:
		b.WriteString("c" + v.module + "\n" + v.name + "\n")
	case pkRaw:
		b.Write(v)
	case pkStorage:
		encodePK(b, pkTuple{"storage", pkGlobal{"torch", v.kind}, v.key, "cuda:0", v.numel})
		b.WriteByte('Q')
	case pkTensor:
		encodePK(b, pkGlobal{"torch._utils", "_rebuild_tensor_v2"})
		encodePK(b, pkTuple{v.st, v.offset, ints(v.size), ints(v.stride), false, pkODict{}})
		b.WriteByte('R')
	default:
		panic("encodePK: unsupported value")
	}
}

func ints(xs []int) pkTuple {
	t := make(pkTuple, len(xs))
	for i, x := range xs {
		t[i] = x
	}
	return t
}

// contiguous returns a tensor covering a whole storage of shape size.
func contiguous(st pkStorage, size ...int) pkTensor {
	stride := make([]int, len(size))
	s := 1
	for i := len(size) - 1; i >= 0; i-- {
		stride[i] = s
		s *= size[i]
	}
	return pkTensor{st: st, size: size, stride: stride}
}

type zipEntry struct {
	name   string
	data   []byte
	method uint16
}

func buildZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: e.method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// torchZip lays out a torch.save archive: archive/data.pkl, archive/data/<key>, archive/version.
func torchZip(t testing.TB, pkl []byte, storages map[string][]byte) []byte {
	t.Helper()
	entries := []zipEntry{{name: "archive/data.pkl", data: pkl}}
	for key, data := range storages {
		entries = append(entries, zipEntry{name: "archive/data/" + key, data: data})
	}
	entries = append(entries, zipEntry{name: "archive/version", data: []byte("3\n")})
	return buildZip(t, entries...)
}

func f32bytes(order binary.ByteOrder, xs ...float32) []byte {
	b := make([]byte, 4*len(xs))
	for i, x := range xs {
		order.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func ramp(n int) []float32 {
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(i)
	}
	return xs
}

// Reference fixtures (testdata/reference-dev, see reference.md §4.1).
const (
	supernetFixture = "../testdata/reference-dev/supernet.pth.tar"
	subnetFixture   = "../testdata/reference-dev/subnet0.pth.tar"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// zipEntries reads every entry of a fixture, to rebuild it with one entry changed.
func zipEntries(t testing.TB, b []byte) []zipEntry {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out []zipEntry
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var data bytes.Buffer
		if _, err := data.ReadFrom(rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		out = append(out, zipEntry{name: f.Name, data: data.Bytes()})
	}
	return out
}

// checkOneLineError asserts that err exists, is one line and names the file.
func checkOneLineError(t *testing.T, err error, name string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: loaded, want an error", name)
	}
	msg := err.Error()
	t.Log(msg)
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error is not one line: %q", msg)
	}
	if !strings.HasPrefix(msg, name+":") {
		t.Errorf("error does not start with the file name %q: %q", name, msg)
	}
}

func tempPath(t *testing.T, name string) string {
	return filepath.Join(t.TempDir(), name)
}

package checkpoints

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestTruncatedCheckpoint(t *testing.T) {
	file := readFile(t, supernetFixture)
	n := len(file)
	for _, cut := range []int{0, 1, 2, 4, 9, 30, 100, 1000, 26000, n / 3, n / 2, n - 4096, n - 100, n - 22, n - 1} {
		_, err := LoadBytes("cut.pth", file[:cut], Options{})
		checkOneLineError(t, err, "cut.pth")
	}
	// A cut zip has no central directory, so the cuts above stop early. Rebuild the archive
	// with data.pkl itself cut at many places, so the unpickler meets each truncation.
	entries := zipEntries(t, file)
	pkl := entryData(entries, "supernet.pth/data.pkl")
	for cut := 0; cut < len(pkl); cut += 1 + cut/7 {
		cutEntries := append([]zipEntry(nil), entries...)
		for i := range cutEntries {
			if cutEntries[i].name == "supernet.pth/data.pkl" {
				cutEntries[i].data = pkl[:cut]
			}
		}
		_, err := LoadBytes("cutpkl.pth", buildZip(t, cutEntries...), Options{})
		checkOneLineError(t, err, "cutpkl.pth")
	}
}

// entryData returns the bytes of the named entry.
func entryData(entries []zipEntry, name string) []byte {
	for _, e := range entries {
		if e.name == name {
			return e.data
		}
	}
	return nil
}

func TestNotACheckpoint(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":   {},
		"text":    []byte("model: resnet50\nepochs: 300\n"),
		"json":    []byte(`{"model": "x", "weights": [1, 2, 3]}`),
		"gzip":    {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3},
		"random":  {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08},
		"tiny":    {'P'},
		"pickle":  pickle2(pkDict{{"model", pkODict{}}}), // the legacy, non-zip torch.save format
		"numpy":   append([]byte("\x93NUMPY\x01\x00"), make([]byte, 16)...),
		"lyingst": append(binary.LittleEndian.AppendUint64(nil, 1<<40), []byte("{}")...),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadBytes(name+".pth", data, Options{})
			checkOneLineError(t, err, name+".pth")
			msg := err.Error()
			if name == "pickle" {
				if !strings.Contains(msg, "legacy torch.save format") {
					t.Errorf("legacy pickle: %q does not say so", msg)
				}
			} else if !strings.Contains(msg, "want a PyTorch checkpoint (torch.save zip) or a safetensors file") {
				t.Errorf("%q does not say what was expected", msg)
			}
		})
	}
}

func TestZipWithoutDataPkl(t *testing.T) {
	for name, file := range map[string][]byte{
		"other":  buildZip(t, zipEntry{name: "README.txt", data: []byte("hello")}),
		"root":   buildZip(t, zipEntry{name: "data.pkl", data: pickle2(pkODict{})}),
		"nested": buildZip(t, zipEntry{name: "a/b/data.pkl", data: pickle2(pkODict{})}),
		"empty":  buildZip(t),
		"two": buildZip(t, zipEntry{name: "a/data.pkl", data: pickle2(pkODict{})},
			zipEntry{name: "b/data.pkl", data: pickle2(pkODict{})}),
	} {
		_, err := LoadBytes(name+".zip", file, Options{})
		checkOneLineError(t, err, name+".zip")
		if err != nil && !strings.Contains(err.Error(), "data.pkl") {
			t.Errorf("%s: %q does not mention data.pkl", name, err)
		}
	}
}

// TestRefusesForeignGlobals feeds pickles that would run a command under Python's pickle and
// checks that each is refused by name and that the command did not run.
func TestRefusesForeignGlobals(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "pwned")
	cmd := "touch " + marker
	sd := func(value pkRaw) []byte {
		// The malicious value sits inside a model state_dict, where a real tensor would be.
		return pickle2(pkDict{{"model", pkODict{{"blocks.0.norm1.weight", value}}}})
	}
	withArgs := func(global string, args ...any) pkRaw {
		var b bytes.Buffer
		mod, name, _ := strings.Cut(global, ".")
		encodePK(&b, pkGlobal{mod, name})
		encodePK(&b, pkTuple(args))
		b.WriteByte('R')
		return b.Bytes()
	}
	for _, tc := range []struct {
		name, refers string
		pkl          []byte
	}{
		{"os.system via GLOBAL+REDUCE", "os.system", sd(withArgs("os.system", cmd))},
		{"posix.system, protocol 0", "posix.system", []byte("cposix\nsystem\n(S'" + cmd + "'\ntR.")},
		{"builtins.eval via STACK_GLOBAL", "builtins.eval", append(append([]byte{0x80, 4, 0x8c, 8}, "builtins"...),
			append(append([]byte{0x8c, 4}, "eval"...), append(append([]byte{0x93, 0x8c, byte(len("open('" + marker + "','w')"))},
				"open('"+marker+"','w')"...), 0x85, 'R', '.')...)...)},
		{"subprocess via INST", "subprocess.call", []byte("(S'" + cmd + "'\nisubprocess\ncall\n.")},
		{"copy_reg._reconstructor", "copy_reg._reconstructor", sd(withArgs("copy_reg._reconstructor"))},
		{"__builtin__.object", "__builtin__.object", sd(withArgs("__builtin__.object"))},
		{"torch.load", "torch.load", sd(withArgs("torch.load", "x.pth"))},
		{"numpy scalar", "numpy.core.multiarray.scalar", sd(withArgs("numpy.core.multiarray.scalar"))},
		{"in args", "os.system", pickle2(pkDict{{"model", pkODict{}}, {"args", pkRaw(withArgs("os.system", cmd))}})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := torchZip(t, tc.pkl, nil)
			_, err := LoadBytes("evil.pth", file, Options{})
			checkOneLineError(t, err, "evil.pth")
			want := "evil.pth: pickle refers to " + tc.refers + ", which resnas does not load (not a PyTorch checkpoint?)"
			if err != nil && err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if _, err := os.Stat(marker); !os.IsNotExist(err) {
				t.Fatalf("the pickle's command ran: %s exists", marker)
			}
		})
	}
	// TorchScript archives get their own explanation.
	_, err := LoadBytes("scripted.pt", torchZip(t, sd(withArgs("__torch__.nets.Net")), nil), Options{})
	checkOneLineError(t, err, "scripted.pt")
	if err != nil && !strings.Contains(err.Error(), "TorchScript") {
		t.Errorf("%q does not say TorchScript", err)
	}
}

func TestStorageTooShort(t *testing.T) {
	le := binary.LittleEndian
	st := pkStorage{"FloatStorage", "0", 6}
	for _, tc := range []struct {
		name   string
		tensor pkTensor
		raw    []byte
		want   string
	}{
		{"entry shorter than numel", contiguous(st, 6), f32bytes(le, 1, 2, 3), "too short"},
		{"view past numel", pkTensor{st: st, offset: 4, size: []int{3}, stride: []int{1}}, f32bytes(le, ramp(6)...), "reaches element 6"},
		{"strided past numel", pkTensor{st: st, size: []int{2, 2}, stride: []int{5, 1}}, f32bytes(le, ramp(6)...), "reaches element 6"},
		{"missing entry", contiguous(pkStorage{"FloatStorage", "9", 6}, 6), f32bytes(le, ramp(6)...), "no entry"},
		{"half-element entry", contiguous(pkStorage{"LongStorage", "0", 1}, 1), []byte{1, 2, 3, 4}, "too short"},
		{"huge shape", pkTensor{st: st, size: []int{1 << 40, 1 << 40}, stride: []int{0, 0}}, f32bytes(le, ramp(6)...), "more elements than the file can hold"},
		{"huge stride", pkTensor{st: st, size: []int{2, 2}, stride: []int{1 << 62, 1 << 62}}, f32bytes(le, ramp(6)...), "reach past any storage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := torchZip(t, pickle2(pkODict{{"w", tc.tensor}}), map[string][]byte{"0": tc.raw})
			_, err := LoadBytes("short.pth", file, Options{})
			checkOneLineError(t, err, "short.pth")
			if err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q does not say %q", err, tc.want)
			}
		})
	}
}

func TestCorruptEntries(t *testing.T) {
	entries := zipEntries(t, readFile(t, supernetFixture))
	// A flipped byte in a storage fails its CRC.
	flipped := append([]zipEntry(nil), entries...)
	for i := range flipped {
		if flipped[i].name == "supernet.pth/data/1" {
			flipped[i].data = bytes.Clone(flipped[i].data)
			flipped[i].data[100] ^= 0x40
		}
	}
	file := buildZip(t, flipped...)
	// buildZip computed a fresh CRC; put the original back into both headers to simulate rot.
	file = restoreCRC(t, file, buildZip(t, entries...), "supernet.pth/data/1")
	_, err := LoadBytes("rot.pth", file, Options{})
	checkOneLineError(t, err, "rot.pth")
	if err != nil && !strings.Contains(err.Error(), "checksum") {
		t.Errorf("%q does not report the checksum", err)
	}
	// Deflated entries are refused: torch.save never writes them, and they could expand without bound.
	deflated := append([]zipEntry(nil), entries...)
	for i := range deflated {
		deflated[i].method = zip.Deflate
	}
	_, err = LoadBytes("deflated.pth", buildZip(t, deflated...), Options{})
	checkOneLineError(t, err, "deflated.pth")
	if err != nil && !strings.Contains(err.Error(), "compressed") {
		t.Errorf("%q does not say the entry is compressed", err)
	}
}

// restoreCRC copies entry name's CRC-32 from good into bad's local and central headers.
func restoreCRC(t *testing.T, bad, good []byte, name string) []byte {
	t.Helper()
	crcOf := func(b []byte) uint32 {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			if f.Name == name {
				return f.CRC32
			}
		}
		t.Fatalf("no %s", name)
		return 0
	}
	oldCRC, newCRC := crcOf(bad), crcOf(good)
	from := binary.LittleEndian.AppendUint32(nil, oldCRC)
	to := binary.LittleEndian.AppendUint32(nil, newCRC)
	if bytes.Count(bad, from) != 2 {
		t.Skip("CRC bytes not unique in the archive")
	}
	return bytes.ReplaceAll(bad, from, to)
}

// TestLyingLengthsAllocateLittle checks that length fields are checked against the input
// before anything is allocated for them.
func TestLyingLengthsAllocateLittle(t *testing.T) {
	huge := func(op byte, n int) pkRaw {
		b := []byte{op}
		b = append(b, make([]byte, n)...)
		for i := range n {
			b[1+i] = 0xff
		}
		b[n] = 0x3f // a positive length near the top of the field
		return b
	}
	for name, file := range map[string][]byte{
		"BINUNICODE8": torchZip(t, pickle2(huge(0x8d, 8)), nil),
		"BINBYTES8":   torchZip(t, pickle2(huge(0x8e, 8)), nil),
		"BINUNICODE":  torchZip(t, pickle2(huge('X', 4)), nil),
		"LONG4":       torchZip(t, pickle2(huge(0x8b, 4)), nil),
		"FRAME":       torchZip(t, append([]byte{0x80, 4}, huge(0x95, 8)...), nil),
		"LONG_BINPUT": torchZip(t, pickle2(pkRaw{'N', 'r', 0xff, 0xff, 0xff, 0x7f}), nil),
		"storage numel": torchZip(t, pickle2(pkODict{{"w", contiguous(pkStorage{"FloatStorage", "0", 1 << 61}, 1)}}),
			map[string][]byte{"0": f32bytes(binary.LittleEndian, 1)}),
		"safetensors shape":   safetensorsFile(`{"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}}`, 4),
		"safetensors offsets": safetensorsFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4611686018427387904]}}`, 4),
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := LoadBytes(name, file, Options{})
		runtime.ReadMemStats(&after)
		checkOneLineError(t, err, name)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
			t.Errorf("%s: allocated %d bytes for a %d-byte file", name, alloc, len(file))
		}
	}
}

// safetensorsFile lays out a safetensors file with the given header and n zero data bytes.
func safetensorsFile(header string, n int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, n)...)
}

// TestOverlappingEntries: a crafted zip can point many directory entries at one stored
// body, so reading them all would take far more memory than the file has bytes.
func TestOverlappingEntries(t *testing.T) {
	const n = 16
	body := f32bytes(binary.LittleEndian, ramp(1000)...)
	var sd pkODict
	for i := range n {
		key := string(rune('a' + i))
		sd = append(sd, [2]any{key, contiguous(pkStorage{"FloatStorage", key, 1000}, 1000)})
	}
	pkl := pickle2(sd)
	var b bytes.Buffer
	le := binary.LittleEndian
	local := func(name string, data []byte) uint32 {
		off := uint32(b.Len())
		binary.Write(&b, le, []uint32{0x04034b50})
		binary.Write(&b, le, []uint16{20, 0, 0, 0, 0})
		binary.Write(&b, le, []uint32{crc32.ChecksumIEEE(data), uint32(len(data)), uint32(len(data))})
		binary.Write(&b, le, []uint16{uint16(len(name)), 0})
		b.WriteString(name)
		b.Write(data)
		return off
	}
	pklOff := local("archive/data.pkl", pkl)
	bodyOff := local("archive/data/a", body)
	cdStart := b.Len()
	central := func(name string, data []byte, off uint32) {
		binary.Write(&b, le, []uint32{0x02014b50})
		binary.Write(&b, le, []uint16{20, 20, 0, 0, 0, 0})
		binary.Write(&b, le, []uint32{crc32.ChecksumIEEE(data), uint32(len(data)), uint32(len(data))})
		binary.Write(&b, le, []uint16{uint16(len(name)), 0, 0, 0, 0})
		binary.Write(&b, le, []uint32{0, off})
		b.WriteString(name)
	}
	central("archive/data.pkl", pkl, pklOff)
	for i := range n {
		central("archive/data/"+string(rune('a'+i)), body, bodyOff) // all share one body
	}
	cdEnd := b.Len()
	binary.Write(&b, le, []uint32{0x06054b50})
	binary.Write(&b, le, []uint16{0, 0, n + 1, n + 1})
	binary.Write(&b, le, []uint32{uint32(cdEnd - cdStart), uint32(cdStart)})
	binary.Write(&b, le, []uint16{0})

	_, err := LoadBytes("overlap.pth", b.Bytes(), Options{})
	checkOneLineError(t, err, "overlap.pth")
	if err != nil && !strings.Contains(err.Error(), "overlapping entries") {
		t.Errorf("%q does not say the entries claim more than the file holds", err)
	}
}

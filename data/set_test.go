package data

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// trainBuild builds a small train split (sub-val: 12 images in shards of 7 and 5) and returns
// its directory.
func trainBuild(t *testing.T) string {
	t.Helper()
	src := writeFakeIDX(t, []int{10, 11, 12}, 1, true)
	out := filepath.Join(t.TempDir(), "fm")
	buildOK(t, BuildOptions{From: src.dir, Out: out, Split: "train", HoldoutPerClass: 4, ShardSize: 7, Seed: 3})
	return out
}

// copyDir copies a split directory so a test can damage it.
func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

func TestBatchNormalises(t *testing.T) {
	s := openOK(t, filepath.Join(trainBuild(t), SplitSubVal), OpenOptions{})
	c, h, w := s.Shape()
	n := c * h * w
	idx := []int{11, 0, 5, 5}
	dst := make([]float32, len(idx)*n)
	labels := make([]int, len(idx))
	s.Batch(idx, dst, labels)
	mean, std := s.Manifest.Mean[0], s.Manifest.Std[0]
	maxDiff := 0.0
	for b, i := range idx {
		if labels[b] != s.Label(i) {
			t.Errorf("labels[%d] = %d, want %d", b, labels[b], s.Label(i))
		}
		for p, v := range s.Image(i) {
			want := (float64(v)/255 - mean) / std
			maxDiff = max(maxDiff, math.Abs(float64(dst[b*n+p])-want))
		}
	}
	if maxDiff > 1e-6 {
		t.Errorf("normalised pixels differ from (p/255 − mean)/std by up to %g", maxDiff)
	}
	if allocs := testing.AllocsPerRun(10, func() { s.Batch(idx, dst, labels) }); allocs != 0 {
		t.Errorf("Batch allocates %v times per call", allocs)
	}
	s.Batch(idx[:1], dst, nil) // labels are optional
}

// TestOpenModes checks that mapped, read-into-memory and fs.FS sets hold the same data.
func TestOpenModes(t *testing.T) {
	dir := filepath.Join(trainBuild(t), SplitSubVal)
	mapped := openOK(t, dir, OpenOptions{})
	read := openOK(t, dir, OpenOptions{NoMmap: true, SkipVerify: true})
	fsys := fstest.MapFS{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fsys[path.Join("shards/sub-val", e.Name())] = &fstest.MapFile{Data: b}
	}
	embedded, err := OpenFS(fsys, "shards/sub-val")
	if err != nil {
		t.Fatal(err)
	}
	defer embedded.Close()
	for _, s := range []*Set{read, embedded} {
		if s.Len() != mapped.Len() {
			t.Fatalf("Len %d, want %d", s.Len(), mapped.Len())
		}
		for i := 0; i < s.Len(); i++ {
			if !bytes.Equal(s.Image(i), mapped.Image(i)) || s.Label(i) != mapped.Label(i) {
				t.Fatalf("image %d differs between open modes", i)
			}
		}
	}
	if _, err := OpenFS(fsys, "shards"); err == nil || !strings.Contains(err.Error(), "shards: no manifest.json") {
		t.Errorf("OpenFS without manifest: %v", err)
	}
}

func TestSlice(t *testing.T) {
	s := openOK(t, filepath.Join(trainBuild(t), SplitSubVal), OpenOptions{})
	v, err := s.Slice(5, 4) // crosses the shard boundary at 7
	if err != nil {
		t.Fatal(err)
	}
	vv, err := v.Slice(1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if v.Len() != 4 || vv.Len() != 3 {
		t.Fatalf("Len %d and %d, want 4 and 3", v.Len(), vv.Len())
	}
	for i := 0; i < 4; i++ {
		if !bytes.Equal(v.Image(i), s.Image(5+i)) || v.Label(i) != s.Label(5+i) {
			t.Errorf("view image %d is not set image %d", i, 5+i)
		}
	}
	if !bytes.Equal(vv.Image(2), s.Image(8)) {
		t.Errorf("view of a view is misplaced")
	}
	if _, err := s.Slice(10, 3); err == nil || !strings.Contains(err.Error(), "outside the 12 images") {
		t.Errorf("Slice(10, 3) of 12: %v", err)
	}
	v.Close() // a view's Close releases nothing
	_ = s.Image(11)
	func() {
		defer func() {
			if r := recover(); r != "data: image index out of range" {
				t.Errorf("v.Image(4) panicked with %v", r)
			}
		}()
		v.Image(4)
	}()
}

// TestOpenErrors damages a built split in the ways files get damaged and checks each error.
func TestOpenErrors(t *testing.T) {
	out := trainBuild(t)
	val := filepath.Join(out, SplitSubVal)
	shard1 := "sub-val-00001.bin"

	damage := func(t *testing.T, f func(dir string)) string {
		dir := copyDir(t, val)
		f(dir)
		return dir
	}
	flip := func(dir string) {
		name := filepath.Join(dir, shard1)
		b, _ := os.ReadFile(name)
		b[len(b)-3] ^= 0x10 // a pixel
		os.WriteFile(name, b, 0o666)
	}
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
		opts OpenOptions
		want string // "" means Open succeeds
	}{
		{"flipped pixel", func(t *testing.T) string { return damage(t, flip) }, OpenOptions{},
			": shard sub-val-00001.bin: sha256 mismatch (file corrupted; rebuild with resnas shards build)"},
		{"flipped pixel unverified", func(t *testing.T) string { return damage(t, flip) }, OpenOptions{SkipVerify: true}, ""},
		{"missing manifest", func(t *testing.T) string { return t.TempDir() }, OpenOptions{},
			": no manifest.json (not a resnas shard directory; build one with resnas shards build)"},
		{"train top directory", func(t *testing.T) string { return out }, OpenOptions{},
			"fm: no manifest.json (it holds a train build: open " + filepath.Join(out, "sub-val")},
		{"no directory", func(t *testing.T) string { return filepath.Join(out, "nope") }, OpenOptions{}, "nope: no such directory"},
		{"truncated", func(t *testing.T) string {
			return damage(t, func(d string) { os.Truncate(filepath.Join(d, shard1), 100) })
		}, OpenOptions{SkipVerify: true}, "shard sub-val-00001.bin: truncated: 100 bytes, want 5157 for 5 images"},
		{"truncated header", func(t *testing.T) string {
			return damage(t, func(d string) { os.Truncate(filepath.Join(d, shard1), 10) })
		}, OpenOptions{}, "shard sub-val-00001.bin: truncated: 10 bytes, shorter than the 32-byte header"},
		{"wrong magic", func(t *testing.T) string {
			return damage(t, func(d string) {
				f, _ := os.OpenFile(filepath.Join(d, shard1), os.O_WRONLY, 0)
				f.WriteAt([]byte("PK\x03\x04"), 0)
				f.Close()
			})
		}, OpenOptions{}, `shard sub-val-00001.bin: not a resnas shard: magic "PK\x03\x04SHRD", want "RSNASHRD"`},
		{"shard of another split", func(t *testing.T) string {
			return damage(t, func(d string) {
				b, _ := os.ReadFile(filepath.Join(out, SplitSubTrain, "sub-train-00001.bin"))
				os.WriteFile(filepath.Join(d, shard1), b, 0o666)
			})
		}, OpenOptions{}, "shard sub-val-00001.bin: header says 7 images of 1×32×32 with 1-byte labels, manifest says 5 of 1×32×32"},
		{"missing shard", func(t *testing.T) string {
			return damage(t, func(d string) { os.Remove(filepath.Join(d, shard1)) })
		}, OpenOptions{}, "shard sub-val-00001.bin: missing (listed in manifest.json"},
		{"label out of range", func(t *testing.T) string {
			return damage(t, func(d string) {
				f, _ := os.OpenFile(filepath.Join(d, shard1), os.O_WRONLY, 0)
				f.WriteAt([]byte{200}, ShardHeaderSize+2)
				f.Close()
			})
		}, OpenOptions{SkipVerify: true}, "shard sub-val-00001.bin: image 2 has label 200, but there are 3 classes"},
		{"bad json", func(t *testing.T) string {
			return damage(t, func(d string) { os.WriteFile(filepath.Join(d, ManifestFile), []byte("{"), 0o666) })
		}, OpenOptions{}, "manifest.json: unexpected end of JSON input"},
		{"path in shard name", func(t *testing.T) string {
			return damage(t, func(d string) { editManifest(t, d, func(m *Manifest) { m.Shards[0].File = "../x.bin" }) })
		}, OpenOptions{}, `shards[0].file: "../x.bin" is not a plain file name`},
		{"counts disagree", func(t *testing.T) string {
			return damage(t, func(d string) { editManifest(t, d, func(m *Manifest) { m.Count++ }) })
		}, OpenOptions{}, "count: 13, but the shards hold 12"},
		{"newer version", func(t *testing.T) string {
			return damage(t, func(d string) { editManifest(t, d, func(m *Manifest) { m.Version = 2 }) })
		}, OpenOptions{}, "version: 2, this resnas reads version 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			s, err := Open(dir, tc.opts)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Open: %q\nwant one line containing %q", err, tc.want)
			}
		})
	}
}

func editManifest(t *testing.T, dir string, edit func(*Manifest)) {
	t.Helper()
	name := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	b, _ = json.Marshal(&m)
	if err := os.WriteFile(name, b, 0o666); err != nil {
		t.Fatal(err)
	}
}

// TestLabelsUint16 covers the 2-byte label path used past 256 classes.
func TestLabelsUint16(t *testing.T) {
	m := &Manifest{Format: ManifestFormat, Version: ManifestVersion, Split: SplitTest, Classes: 300, ImageSize: 2, Channels: 1,
		LabelBytes: 2, Mean: []float64{0}, Std: []float64{1}}
	for c := 0; c < 300; c++ {
		m.ClassNames = append(m.ClassNames, "c")
		m.ClassCounts = append(m.ClassCounts, 0)
	}
	src := &listSource{labels: []int{299, 3, 256}}
	for _, l := range src.labels {
		m.ClassCounts[l]++
	}
	dir := t.TempDir()
	err := writeSplit(t.Context(), src, m, []int{0, 1, 2}, dir, 2, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	s := openOK(t, dir, OpenOptions{})
	for i, want := range src.labels {
		if s.Label(i) != want || s.Image(i)[0] != byte(i) {
			t.Errorf("image %d: label %d pixel %d, want %d and %d", i, s.Label(i), s.Image(i)[0], want, i)
		}
	}
}

// listSource is a source of 2×2 images whose first pixel is their index.
type listSource struct{ labels []int }

func (s *listSource) Len() int        { return len(s.labels) }
func (s *listSource) Label(i int) int { return s.labels[i] }
func (s *listSource) Decode(i int, dst []byte) error {
	clear(dst)
	dst[0] = byte(i)
	return nil
}

func BenchmarkBatch128x1x32x32(b *testing.B) {
	src := &listSource{labels: make([]int, 1024)}
	m := &Manifest{Format: ManifestFormat, Version: ManifestVersion, Split: SplitTest, Classes: 1, ClassNames: []string{"x"},
		ClassCounts: []int{1024}, ImageSize: 32, Channels: 1, LabelBytes: 1, Mean: []float64{0.2}, Std: []float64{0.3}}
	dir := b.TempDir()
	if err := writeSplit(b.Context(), src, m, make([]int, 1024), dir, 256, func(int) {}); err != nil {
		b.Fatal(err)
	}
	s, err := Open(dir, OpenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	idx := make([]int, 128)
	for i := range idx {
		idx[i] = (i * 389) % 1024
	}
	dst := make([]float32, 128*32*32)
	labels := make([]int, 128)
	b.SetBytes(int64(len(dst)))
	b.ResetTimer()
	for b.Loop() {
		s.Batch(idx, dst, labels)
	}
}

package data

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFloat32(t *testing.T) {
	dir := t.TempDir()
	want := []float32{1.5, -2, float32(math.Pi), 0}
	b := make([]byte, 4*len(want))
	for i, v := range want {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	path := filepath.Join(dir, "x.f32")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFloat32(path, len(want))
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("value %d = %g, want %g", i, got[i], want[i])
		}
	}
	if _, err := ReadFloat32(path, 5); err == nil || !strings.Contains(err.Error(), "16 bytes, but --shape needs 5 values = 20 bytes") {
		t.Errorf("wrong count: %v", err)
	}
	if _, err := ReadFloat32(dir, 1); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory: %v", err)
	}
}

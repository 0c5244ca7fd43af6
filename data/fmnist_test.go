package data

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestFashionMNIST builds the real Fashion-MNIST (Debian package dataset-fashion-mnist) when
// RESNAS_FMNIST names its IDX directory, into RESNAS_FMNIST_OUT (default: a temporary
// directory), and logs timings and sizes. For example:
//
//	RESNAS_FMNIST=/usr/share/datasets/fashion-mnist RESNAS_FMNIST_OUT=/tmp/fmnist-shards go test ./data -run FashionMNIST -v
func TestFashionMNIST(t *testing.T) {
	src := os.Getenv("RESNAS_FMNIST")
	if src == "" {
		t.Skip("set RESNAS_FMNIST to a Fashion-MNIST IDX directory to build the real shards")
	}
	out := os.Getenv("RESNAS_FMNIST_OUT")
	if out == "" {
		out = t.TempDir()
	}
	if err := os.MkdirAll(out, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		split  string
		splits map[string]int // split directory → images
	}{
		{"test", map[string]int{".": 10000}},
		{"train", map[string]int{SplitSubTrain: 55000, SplitSubVal: 5000}},
	} {
		dir := filepath.Join(out, tc.split)
		start := time.Now()
		buildOK(t, BuildOptions{From: src, Out: dir, Split: tc.split, Overwrite: true})
		built := time.Since(start)
		for sub, n := range tc.splits {
			start := time.Now()
			s := openOK(t, filepath.Join(dir, sub), OpenOptions{})
			opened := time.Since(start)
			m := s.Manifest
			if m.Count != n || m.ImageSize != 32 || m.Channels != 1 || m.Classes != 10 || m.ClassNames[9] != "Ankle boot" {
				t.Errorf("%s/%s: %d images %d×%d×%d, %d classes %q", tc.split, sub, m.Count, m.Channels, m.ImageSize, m.ImageSize, m.Classes, m.ClassNames)
			}
			if sub == SplitSubVal && !slices.Equal(m.ClassCounts, []int{500, 500, 500, 500, 500, 500, 500, 500, 500, 500}) {
				t.Errorf("sub-val class counts %v, want 500 each", m.ClassCounts)
			}
			var size int64
			for _, sh := range m.Shards {
				fi, err := os.Stat(filepath.Join(dir, sub, sh.File))
				if err != nil {
					t.Fatal(err)
				}
				size += fi.Size()
			}
			t.Logf("%s/%s: %d images in %d shards, %.1f MiB; mean %.4f std %.4f; open+verify %v",
				tc.split, sub, m.Count, len(m.Shards), float64(size)/(1<<20), m.Mean[0], m.Std[0], opened.Round(time.Millisecond))
		}
		t.Logf("build --split %s: %v", tc.split, built.Round(time.Millisecond))
	}
}

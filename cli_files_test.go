package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resnas/resnas/data"
)

// TestShardsBuildFiles: --files builds exactly the listed images of an image-folder tree (the
// reference's sub_val_files.pickle, here pickled by Python with protocol 2), numbering classes
// by all the tree's folders in name order, as torchvision's ImageFolder does; a listed image
// that is missing is a one-line error naming it.
func TestShardsBuildFiles(t *testing.T) {
	tree := t.TempDir()
	// The pickle lists n02/{b,a}.JPEG and n01/c.png; the others are not listed.
	for _, f := range []string{"n00/x.png", "n01/c.png", "n01/d.png", "n02/a.JPEG", "n02/b.JPEG", "n02/e.png"} {
		p := filepath.Join(tree, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		img := image.NewGray(image.Rect(0, 0, 20, 24))
		for i := range img.Pix {
			img.Pix[i] = uint8(len(f) * i)
		}
		img.Set(0, 0, color.Gray{Y: 255})
		w, err := os.Create(p) // PNG bytes under a .JPEG name, as ImageNet has a few
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(w, img)
		w.Close()
	}
	out := filepath.Join(t.TempDir(), "sub-val")
	code, _, errs := runCmd(t, "shards", "build", "--from", tree, "--files", filepath.Join("checkpoints", "testdata", "filelist", "list-p2.pickle"),
		"--out", out, "--img", "16")
	if code != 0 {
		t.Fatalf("shards build --files: exit %d: %s", code, errs)
	}
	set, err := data.Open(out, data.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if got := set.Manifest.ClassNames; len(got) != 3 || got[0] != "n00" || got[2] != "n02" {
		t.Errorf("classes %v, want n00 n01 n02 (every folder, in name order)", got)
	}
	if set.Len() != 3 {
		t.Fatalf("%d images, want the 3 listed", set.Len())
	}
	counts := map[int]int{}
	x := make([]float32, set.Manifest.ImageBytes())
	labels := make([]int, 1)
	for i := 0; i < set.Len(); i++ {
		set.Batch([]int{i}, x, labels)
		counts[labels[0]]++
	}
	if counts[0] != 0 || counts[1] != 1 || counts[2] != 2 {
		t.Errorf("images per class %v, want n01: 1 and n02: 2", counts)
	}

	list := filepath.Join(t.TempDir(), "list.txt")
	os.WriteFile(list, []byte("n01/c.png\nn02/zzz.JPEG\n"), 0o644)
	code, stdout, errs := runCmd(t, "shards", "build", "--from", tree, "--files", list, "--out", filepath.Join(t.TempDir(), "x"), "--img", "16")
	wantOneLineError(t, code, stdout, errs, "n02/zzz.JPEG")
	code, stdout, errs = runCmd(t, "shards", "build", "--from", tree, "--files", list, "--split", "train", "--out", filepath.Join(t.TempDir(), "y"))
	wantOneLineError(t, code, stdout, errs, "--files")
}

// TestShardsBuildSkipBad: a truncated JPEG stops shards build with a one-line error naming
// it; with --skip-bad it is left out, listed in the manifest, and reported on stderr.
func TestShardsBuildSkipBad(t *testing.T) {
	tree := t.TempDir()
	for _, f := range []string{"n00/a.png", "n01/b.png"} {
		p := filepath.Join(tree, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		w, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(w, image.NewGray(image.Rect(0, 0, 20, 24)))
		w.Close()
	}
	os.WriteFile(filepath.Join(tree, "n01", "bad.JPEG"), []byte("\xff\xd8\xff"), 0o644)
	code, stdout, errs := runCmd(t, "shards", "build", "--from", tree, "--split", "test", "--out", filepath.Join(t.TempDir(), "x"), "--img", "16")
	// The progress line comes first; the error is the last line, alone.
	lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
	if last := lines[len(lines)-1]; code == 0 || stdout != "" || !strings.Contains(last, "n01/bad.JPEG: decoding") || !strings.Contains(last, "--skip-bad") {
		t.Fatalf("exit %d, stdout %q, stderr %q: want a failure whose last line names n01/bad.JPEG and --skip-bad", code, stdout, errs)
	}
	if strings.Contains(errs, "panic") || strings.Count(errs, "bad.JPEG") != 1 {
		t.Errorf("stderr %q: want the file named once, no crash", errs)
	}

	out := filepath.Join(t.TempDir(), "y")
	code, _, errs = runCmd(t, "shards", "build", "--from", tree, "--split", "test", "--out", out, "--img", "16", "--skip-bad")
	if code != 0 {
		t.Fatalf("shards build --skip-bad: exit %d: %s", code, errs)
	}
	m, err := data.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Count != 2 || len(m.Skipped) != 1 || m.Skipped[0].Path != "n01/bad.JPEG" {
		t.Fatalf("count %d, skipped %+v, want 2 images and n01/bad.JPEG skipped", m.Count, m.Skipped)
	}
	if !strings.Contains(errs, "1 file left out") || !strings.Contains(errs, "n01/bad.JPEG") {
		t.Errorf("stderr %q does not report the skipped file", errs)
	}
}

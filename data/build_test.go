package data

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestBuildIDXTrainSplit builds sub-train/sub-val from raw and gzipped IDX files and checks
// per-class hold-out counts, that the two splits partition train, and that every stored
// image and label round-trips to its zero-padded source.
func TestBuildIDXTrainSplit(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(map[bool]string{false: "raw", true: "gz"}[gz], func(t *testing.T) {
			src := writeFakeIDX(t, []int{10, 11, 12}, 2, gz)
			out := filepath.Join(t.TempDir(), "fm")
			m := buildOK(t, BuildOptions{From: src.dir, Out: out, Split: "train", HoldoutPerClass: 4, ShardSize: 7, Seed: 1})
			if m.Split != SplitSubTrain || m.Count != 21 {
				t.Fatalf("Build returned split %q count %d, want sub-train 21", m.Split, m.Count)
			}

			// Source index of every expected stored image, keyed by its bytes.
			want := map[string]int{}
			for i, img := range src.train {
				want[string(padded(img, 32, 1))] = i
			}
			seen := map[int]string{}
			for _, tc := range []struct {
				split       string
				classCounts []int
				shards      int
			}{
				{SplitSubVal, []int{4, 4, 4}, 2},
				{SplitSubTrain, []int{6, 7, 8}, 3},
			} {
				s := openOK(t, filepath.Join(out, tc.split), OpenOptions{})
				mf := s.Manifest
				if mf.Split != tc.split || mf.ImageSize != 32 || mf.Channels != 1 || mf.Classes != 3 || mf.HoldoutPerClass != 4 || mf.Seed != 1 {
					t.Errorf("%s manifest: %+v", tc.split, mf)
				}
				if !slices.Equal(mf.ClassCounts, tc.classCounts) {
					t.Errorf("%s class counts %v, want %v", tc.split, mf.ClassCounts, tc.classCounts)
				}
				if len(mf.Shards) != tc.shards || mf.Shards[0].File != tc.split+"-00000.bin" || mf.Shards[0].Count != 7 {
					t.Errorf("%s shards %+v, want %d of 7 images named %s-0000k.bin", tc.split, mf.Shards, tc.shards, tc.split)
				}
				counts := make([]int, 3)
				for i := 0; i < s.Len(); i++ {
					j, ok := want[string(s.Image(i))]
					if !ok {
						t.Fatalf("%s image %d matches no padded source image", tc.split, i)
					}
					if prev, dup := seen[j]; dup {
						t.Fatalf("source image %d stored twice (%s and %s)", j, prev, tc.split)
					}
					seen[j] = tc.split
					if got := s.Label(i); got != int(src.trainL[j]) {
						t.Errorf("%s image %d: label %d, want %d", tc.split, i, got, src.trainL[j])
					}
					counts[s.Label(i)]++
				}
				if !slices.Equal(counts, tc.classCounts) {
					t.Errorf("%s: stored labels count %v per class, manifest says %v", tc.split, counts, tc.classCounts)
				}
			}
			if len(seen) != len(src.train) {
				t.Errorf("sub-train ∪ sub-val holds %d distinct images, want all %d train images", len(seen), len(src.train))
			}
		})
	}
}

// TestBuildSeeded checks that a seed fixes the split and the order, and another seed changes them.
func TestBuildSeeded(t *testing.T) {
	src := writeFakeIDX(t, []int{10, 10, 10}, 1, true)
	dir := t.TempDir()
	build := func(name string, seed uint64) (val, train *Manifest) {
		out := filepath.Join(dir, name)
		buildOK(t, BuildOptions{From: src.dir, Out: out, Split: "train", HoldoutPerClass: 3, Seed: seed})
		val, err := ReadManifest(filepath.Join(out, SplitSubVal))
		if err != nil {
			t.Fatal(err)
		}
		train, err = ReadManifest(filepath.Join(out, SplitSubTrain))
		if err != nil {
			t.Fatal(err)
		}
		return val, train
	}
	v1, t1 := build("a", 5)
	v2, t2 := build("b", 5)
	v3, _ := build("c", 6)
	if !reflect.DeepEqual(v1, v2) || !reflect.DeepEqual(t1, t2) {
		t.Errorf("two builds with seed 5 differ:\n%+v\n%+v", v1, v2)
	}
	if v1.Shards[0].SHA256 == v3.Shards[0].SHA256 {
		t.Errorf("seeds 5 and 6 gave the same sub-val")
	}
}

// TestShufflerPinned pins the seeded permutation: a change here would silently change every
// published sub-val split.
func TestShufflerPinned(t *testing.T) {
	a := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	newShuffler(0).shuffle(a)
	want := []int{0, 9, 2, 5, 1, 8, 3, 7, 6, 4}
	if !slices.Equal(a, want) {
		t.Errorf("seed 0 permutes 0..9 to %v, want %v", a, want)
	}
}

// TestBuildIDXTestSplit checks the test split, channel replication, explicit size and the
// normalisation statistics (computed from the padded train images).
func TestBuildIDXTestSplit(t *testing.T) {
	src := writeFakeIDX(t, []int{4, 4}, 3, false)
	out := filepath.Join(t.TempDir(), "test")
	m := buildOK(t, BuildOptions{From: src.dir, Out: out, Split: "test", ImageSize: 30, Channels: 3})
	if m.Split != SplitTest || m.Count != 6 || m.Shards[0].File != "test-00000.bin" || !slices.Equal(m.ClassNames, []string{"0", "1"}) {
		t.Errorf("manifest %+v", m)
	}
	var sum, sumSq float64
	for _, img := range src.train {
		for _, p := range padded(img, 30, 1) {
			v := float64(p) / 255
			sum += v
			sumSq += v * v
		}
	}
	n := float64(len(src.train) * 30 * 30)
	mean := sum / n
	std := math.Sqrt(sumSq/n - mean*mean)
	for c := 0; c < 3; c++ {
		if math.Abs(m.Mean[c]-mean) > 1e-12 || math.Abs(m.Std[c]-std) > 1e-12 {
			t.Errorf("channel %d mean/std %v/%v, want %v/%v", c, m.Mean[c], m.Std[c], mean, std)
		}
	}
	s := openOK(t, out, OpenOptions{})
	want := map[string]int{}
	for i, img := range src.test {
		want[string(padded(img, 30, 3))] = i
	}
	for i := 0; i < s.Len(); i++ {
		j, ok := want[string(s.Image(i))]
		if !ok {
			t.Fatalf("test image %d matches no source image", i)
		}
		if s.Label(i) != int(src.testL[j]) {
			t.Errorf("image %d: label %d, want %d", i, s.Label(i), src.testL[j])
		}
		delete(want, string(s.Image(i)))
	}
	if len(want) != 0 {
		t.Errorf("%d test images missing", len(want))
	}
}

func TestBuildFashionNames(t *testing.T) {
	src := writeFakeIDX(t, []int{2, 2}, 1, true)
	dir := filepath.Join(t.TempDir(), "Fashion-MNIST")
	if err := os.Rename(src.dir, dir); err != nil {
		t.Fatal(err)
	}
	m := buildOK(t, BuildOptions{From: dir, Out: filepath.Join(t.TempDir(), "o"), Split: "test"})
	if !slices.Equal(m.ClassNames, []string{"T-shirt/top", "Trouser"}) {
		t.Errorf("class names %q, want Fashion-MNIST's first two", m.ClassNames)
	}
}

// TestBuildImageFolder checks the eval transform of image folders: crop offsets (with Python's
// round-half-even), a resize, alpha dropping, JPEG and grey conversion, and that hidden and
// non-image files are skipped.
func TestBuildImageFolder(t *testing.T) {
	root := t.TempDir()
	// One image per class, so a label says which image it is.
	writePNG(t, filepath.Join(mkdir(t, filepath.Join(root, "a_crop")), "x.png"), coords(16, 20))
	writePNG(t, filepath.Join(mkdir(t, filepath.Join(root, "b_halfeven")), "x.PNG"), coords(16, 19))
	writePNG(t, filepath.Join(mkdir(t, filepath.Join(root, "c_resize", "deeper")), "x.png"), solid(40, 30, color.NRGBA{200, 100, 50, 255}))
	writeJPEG(t, filepath.Join(mkdir(t, filepath.Join(root, "d_jpeg")), "x.jpg"), solid(30, 30, color.NRGBA{90, 90, 90, 255}))
	writePNG(t, filepath.Join(mkdir(t, filepath.Join(root, "e_alpha")), "x.png"), solid(16, 16, color.NRGBA{200, 100, 50, 0}))
	os.WriteFile(filepath.Join(root, "a_crop", "notes.txt"), []byte("not an image"), 0o666)
	writePNG(t, filepath.Join(root, "a_crop", ".hidden.png"), solid(3, 3, color.NRGBA{}))
	writePNG(t, filepath.Join(mkdir(t, filepath.Join(root, ".git")), "x.png"), solid(3, 3, color.NRGBA{}))

	for _, channels := range []int{3, 1} {
		out := filepath.Join(t.TempDir(), "o")
		m := buildOK(t, BuildOptions{From: root, Out: out, Split: "test", ImageSize: 14, Channels: channels})
		if !slices.Equal(m.ClassNames, []string{"a_crop", "b_halfeven", "c_resize", "d_jpeg", "e_alpha"}) || m.Count != 5 {
			t.Fatalf("classes %q count %d", m.ClassNames, m.Count)
		}
		if channels == 3 && !slices.Equal(m.Mean, imageNetMean()) {
			t.Errorf("RGB mean %v, want ImageNet's", m.Mean)
		}
		s := openOK(t, out, OpenOptions{})
		byClass := map[int][]byte{}
		for i := 0; i < s.Len(); i++ {
			byClass[s.Label(i)] = s.Image(i)
		}
		const S = 14
		px := func(img []byte, c, y, x int) int { return int(img[c*S*S+y*S+x]) }
		luma := func(r, g, b int) int { return (r*19595 + g*38470 + b*7471 + 1<<15) >> 16 }
		// a: 16×20 already has shorter side int(256/224·14) = 16: crop top (20−14)/2 = 3, left 1.
		// b: 16×19: top = round(2.5) = 2 (half to even), left 1.
		for label, top := range map[int]int{0: 3, 1: 2} {
			for y := 0; y < S; y++ {
				for x := 0; x < S; x++ {
					r, g, b := 10*(x+1), 10*(y+top), 7
					if channels == 3 {
						if px(byClass[label], 0, y, x) != r || px(byClass[label], 1, y, x) != g || px(byClass[label], 2, y, x) != b {
							t.Fatalf("class %d pixel (%d,%d) = %d,%d,%d, want %d,%d,%d", label, y, x,
								px(byClass[label], 0, y, x), px(byClass[label], 1, y, x), px(byClass[label], 2, y, x), r, g, b)
						}
					} else if got := px(byClass[label], 0, y, x); got != luma(r, g, b) {
						t.Fatalf("class %d grey pixel (%d,%d) = %d, want %d", label, y, x, got, luma(r, g, b))
					}
				}
			}
		}
		for label, want := range map[int][3]int{2: {200, 100, 50}, 3: {90, 90, 90}, 4: {200, 100, 50}} {
			tol := 0
			if label == 3 {
				tol = 2 // JPEG
			}
			if label == 2 {
				tol = 1 // resampling rounds
			}
			for c := 0; c < channels; c++ {
				w := want[c]
				if channels == 1 {
					w = luma(want[0], want[1], want[2])
				}
				for p := 0; p < S*S; p++ {
					if got := int(byClass[label][c*S*S+p]); got < w-tol || got > w+tol {
						t.Fatalf("class %d channel %d pixel %d = %d, want %d±%d", label, c, p, got, w, tol)
					}
				}
			}
		}
	}
}

func TestBuildImageFolderTrainSplit(t *testing.T) {
	root := t.TempDir()
	for _, class := range []string{"cat", "dog"} {
		dir := mkdir(t, filepath.Join(root, class))
		for i := 0; i < 5; i++ {
			writePNG(t, filepath.Join(dir, string(rune('a'+i))+".png"), solid(20, 20, color.NRGBA{uint8(i * 40), 0, 0, 255}))
		}
	}
	out := filepath.Join(t.TempDir(), "o")
	buildOK(t, BuildOptions{From: root, Out: out, Split: "train", HoldoutPerClass: 2, ImageSize: 16})
	val := openOK(t, filepath.Join(out, SplitSubVal), OpenOptions{})
	train := openOK(t, filepath.Join(out, SplitSubTrain), OpenOptions{})
	if !slices.Equal(val.Manifest.ClassCounts, []int{2, 2}) || !slices.Equal(train.Manifest.ClassCounts, []int{3, 3}) {
		t.Errorf("class counts sub-val %v sub-train %v, want [2 2] and [3 3]", val.Manifest.ClassCounts, train.Manifest.ClassCounts)
	}
	// Each (class, red) pair is one source image; together the splits hold each once.
	seen := map[[2]int]bool{}
	for _, s := range []*Set{val, train} {
		for i := 0; i < s.Len(); i++ {
			k := [2]int{s.Label(i), int(s.Image(i)[0])}
			if seen[k] {
				t.Fatalf("image %v stored twice", k)
			}
			seen[k] = true
		}
	}
	if len(seen) != 10 {
		t.Errorf("%d distinct images stored, want 10", len(seen))
	}
}

// TestBuildCancel cancels mid-build and checks that nothing is left behind.
func TestBuildCancel(t *testing.T) {
	src := writeFakeIDX(t, []int{20, 20}, 1, false)
	parent := t.TempDir()
	out := filepath.Join(parent, "o")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	_, err := Build(ctx, BuildOptions{From: src.dir, Out: out, Split: "train", HoldoutPerClass: 5, ShardSize: 4}, func(done, total int) {
		calls++
		if done > 0 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Build after cancel: %v, want context.Canceled", err)
	}
	if calls < 2 {
		t.Errorf("progress called %d times, want the build to have started", calls)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("cancelled build left %v in %s", entries, parent)
	}
}

func TestBuildOutExists(t *testing.T) {
	src := writeFakeIDX(t, []int{3, 3}, 2, false)
	out := filepath.Join(t.TempDir(), "o")
	opts := BuildOptions{From: src.dir, Out: out, Split: "test"}
	buildOK(t, opts)
	if _, err := Build(context.Background(), opts, nil); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second build: %v, want already exists", err)
	}
	opts.Overwrite, opts.Seed = true, 9
	if m := buildOK(t, opts); m.Seed != 9 {
		t.Errorf("overwritten build has seed %d", m.Seed)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Errorf("overwrite left %v", entries)
	}
	other := mkdir(t, filepath.Join(t.TempDir(), "home"))
	opts.Out = other
	if _, err := Build(context.Background(), opts, nil); err == nil || !strings.Contains(err.Error(), "not a shard directory") {
		t.Errorf("overwriting a non-shard directory: %v, want a refusal", err)
	}
}

func TestBuildErrors(t *testing.T) {
	src := writeFakeIDX(t, []int{3, 3}, 1, false)
	outDir := t.TempDir()
	badMagic := t.TempDir()
	writeIDXImages(t, filepath.Join(badMagic, "train-images-idx3-ubyte"), [][]byte{make([]byte, 28*28)}, 28, false)
	os.WriteFile(filepath.Join(badMagic, "train-labels-idx1-ubyte"), []byte{0, 0, 8, 3, 0, 0, 0, 1, 0}, 0o666)
	mismatch := t.TempDir()
	writeIDXImages(t, filepath.Join(mismatch, "train-images-idx3-ubyte"), [][]byte{make([]byte, 28*28)}, 28, true)
	writeIDXLabels(t, filepath.Join(mismatch, "train-labels-idx1-ubyte"), []byte{0, 1}, true)
	truncated := t.TempDir()
	writeIDXImages(t, filepath.Join(truncated, "train-images-idx3-ubyte"), [][]byte{make([]byte, 28*28)}, 28, false)
	os.Truncate(filepath.Join(truncated, "train-images-idx3-ubyte"), 100)
	writeIDXLabels(t, filepath.Join(truncated, "train-labels-idx1-ubyte"), []byte{0}, false)
	noLabels := t.TempDir()
	writeIDXImages(t, filepath.Join(noLabels, "train-images-idx3-ubyte"), [][]byte{make([]byte, 28*28)}, 28, false)
	noTest := t.TempDir()
	writeIDXImages(t, filepath.Join(noTest, "train-images-idx3-ubyte"), [][]byte{make([]byte, 28*28)}, 28, false)
	writeIDXLabels(t, filepath.Join(noTest, "train-labels-idx1-ubyte"), []byte{0}, false)
	emptyClass := t.TempDir()
	mkdir(t, filepath.Join(emptyClass, "cat"))
	broken := t.TempDir()
	writePNG(t, filepath.Join(mkdir(t, filepath.Join(broken, "cat")), "a.png"), solid(8, 8, color.NRGBA{1, 2, 3, 255}))
	os.WriteFile(filepath.Join(broken, "cat", "b.jpg"), []byte("\xff\xd8 not really a JPEG"), 0o666)

	for _, tc := range []struct {
		name string
		opts BuildOptions
		want string
	}{
		{"split", BuildOptions{From: src.dir, Split: "val"}, `split "val", want train or test`},
		{"holdout too large", BuildOptions{From: src.dir, Split: "train", HoldoutPerClass: 3}, `class "0" has 3 images`},
		{"odd padding", BuildOptions{From: src.dir, Split: "test", ImageSize: 31}, "28 plus an even number"},
		{"channels", BuildOptions{From: src.dir, Split: "test", Channels: 2}, "channels 2"},
		{"mean without std", BuildOptions{From: src.dir, Split: "test", Mean: []float64{0.5}}, "mean and std"},
		{"mean per channel", BuildOptions{From: src.dir, Split: "test", Mean: []float64{0.5}, Std: []float64{0.5}, Channels: 3}, "1/1 values for 3 channels"},
		{"bad magic", BuildOptions{From: badMagic, Split: "train", HoldoutPerClass: 1}, "train-labels-idx1-ubyte: IDX magic 0x00000803, want 0x00000801"},
		{"count mismatch", BuildOptions{From: mismatch, Split: "train", HoldoutPerClass: 1}, "2 labels for the 1 images"},
		{"truncated", BuildOptions{From: truncated, Split: "train", HoldoutPerClass: 1}, "train-images-idx3-ubyte: 84 data bytes, want 784"},
		{"no labels", BuildOptions{From: noLabels, Split: "train", HoldoutPerClass: 1}, "no train-labels-idx1-ubyte[.gz]"},
		{"no test files", BuildOptions{From: noTest, Split: "test"}, "no t10k-images-idx3-ubyte[.gz]"},
		{"empty class", BuildOptions{From: emptyClass, Split: "test"}, "cat: no JPEG or PNG images"},
		{"broken image", BuildOptions{From: broken, Split: "test", ImageSize: 8}, "b.jpg: decoding: "},
		{"nothing", BuildOptions{From: t.TempDir(), Split: "test"}, "neither MNIST-style IDX files"},
		{"missing source", BuildOptions{From: filepath.Join(outDir, "nope"), Split: "test"}, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Out = filepath.Join(outDir, "o")
			_, err := Build(context.Background(), tc.opts, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build: %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
				t.Errorf("failed build left %v", entries)
			}
		})
	}
}

// TestPreprocessResizeGeometry checks the resize target sizes against torchvision's rule.
func TestPreprocessResizeGeometry(t *testing.T) {
	// A 300×200 image at S=32: shorter side to int(256/224·32) = 36, longer int(36·300/200) = 54,
	// then a centre crop. A horizontal ramp keeps the crop's left offset visible in the middle.
	img := image.NewNRGBA(image.Rect(0, 0, 300, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 300; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / 299), 0, 0, 255})
		}
	}
	dst := make([]byte, 32*32)
	preprocess(img, 32, 1, dst)
	// Output column x samples source column ≈ (x + 11 + 0.5)·300/54 − 0.5 (left = (54−32)/2 = 11).
	for _, x := range []int{0, 16, 31} {
		srcX := (float64(x)+11+0.5)*300/54 - 0.5
		want := srcX * 255 / 299 * 0.299 // red only, through grey conversion
		if got := float64(dst[16*32+x]); math.Abs(got-want) > 1.5 {
			t.Errorf("column %d = %v, want ≈ %.1f", x, got, want)
		}
	}
}

// TestBuildTestLimit keeps a seeded prefix of the test split: the same images, in the same
// order, as the first Limit of the unlimited build.
func TestBuildTestLimit(t *testing.T) {
	src := writeFakeIDX(t, []int{4, 4}, 5, false)
	fullDir, limDir := filepath.Join(t.TempDir(), "full"), filepath.Join(t.TempDir(), "lim")
	full := buildOK(t, BuildOptions{From: src.dir, Out: fullDir, Split: "test", Seed: 3})
	lim := buildOK(t, BuildOptions{From: src.dir, Out: limDir, Split: "test", Seed: 3, Limit: 4})
	if lim.Count != 4 || full.Count != 10 {
		t.Fatalf("counts %d and %d, want 4 and 10", lim.Count, full.Count)
	}
	sum := 0
	for _, c := range lim.ClassCounts {
		sum += c
	}
	if sum != 4 {
		t.Fatalf("class counts %v do not add up to 4", lim.ClassCounts)
	}
	fs, ls := openOK(t, fullDir, OpenOptions{}), openOK(t, limDir, OpenOptions{})
	for i := 0; i < 4; i++ {
		if string(fs.Image(i)) != string(ls.Image(i)) || fs.Label(i) != ls.Label(i) {
			t.Fatalf("image %d of the limited build is not image %d of the full one", i, i)
		}
	}
}

// TestBuildSkipBad: by default an unreadable file stops the build with one line naming it;
// with SkipBad it is left out and listed in the manifest with its reason.
func TestBuildSkipBad(t *testing.T) {
	root := t.TempDir()
	for i := 0; i < 3; i++ {
		writePNG(t, filepath.Join(mkdir(t, filepath.Join(root, "a")), fmt.Sprintf("%d.png", i)), solid(20, 20, color.NRGBA{10, 20, 30, 255}))
	}
	writePNG(t, filepath.Join(mkdir(t, filepath.Join(root, "b")), "ok.png"), solid(20, 20, color.NRGBA{1, 2, 3, 255}))
	bad := filepath.Join(root, "b", "broken.JPEG")
	if err := os.WriteFile(bad, []byte("\xff\xd8\xff\xe0 truncated"), 0o666); err != nil {
		t.Fatal(err)
	}
	// A PNG named .JPEG is decoded by content, not skipped.
	writePNG(t, filepath.Join(root, "a", "png.JPEG"), solid(20, 20, color.NRGBA{10, 20, 30, 255}))

	outDir := t.TempDir()
	_, err := Build(context.Background(), BuildOptions{From: root, Out: filepath.Join(outDir, "o"), Split: "test", ImageSize: 8}, nil)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "--skip-bad") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("default build: %v, want one line naming %s and --skip-bad", err, bad)
	}
	if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
		t.Errorf("failed build left %v", entries)
	}

	out := filepath.Join(outDir, "o")
	m := buildOK(t, BuildOptions{From: root, Out: out, Split: "test", ImageSize: 8, SkipBad: true})
	if m.Count != 5 || !slices.Equal(m.ClassCounts, []int{4, 1}) {
		t.Fatalf("count %d, class counts %v, want 5 and [4 1]", m.Count, m.ClassCounts)
	}
	if len(m.Skipped) != 1 || m.Skipped[0].Path != "b/broken.JPEG" || !strings.Contains(m.Skipped[0].Reason, "decoding") {
		t.Fatalf("skipped %+v, want b/broken.JPEG with a decoding reason", m.Skipped)
	}
	onDisk, err := ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(onDisk.Skipped, m.Skipped) {
		t.Errorf("manifest.json skipped %+v, want %+v", onDisk.Skipped, m.Skipped)
	}
	s := openOK(t, out, OpenOptions{})
	for i := 0; i < s.Len(); i++ {
		want := map[int]byte{0: 10, 1: 1}[s.Label(i)]
		if got := s.Image(i)[0]; got != want {
			t.Errorf("image %d (class %d) red %d, want %d", i, s.Label(i), got, want)
		}
	}
}

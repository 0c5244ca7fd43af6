package data

import (
	"compress/gzip"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// fakeIDX is a generated MNIST-style dataset: 28×28 images, each unique (its index is in its
// first two pixels), with labels.
type fakeIDX struct {
	dir           string
	train, test   [][]byte
	trainL, testL []byte
}

// writeFakeIDX writes train/t10k IDX files into a new directory: trainPerClass[c] train images
// of class c and testPerClass test images of every class.
func writeFakeIDX(t *testing.T, trainPerClass []int, testPerClass int, gz bool) *fakeIDX {
	t.Helper()
	f := &fakeIDX{dir: t.TempDir()}
	rng := rand.New(rand.NewPCG(7, 7))
	gen := func(n int, label func(i int) byte, base int) ([][]byte, []byte) {
		var imgs [][]byte
		var labels []byte
		for i := 0; i < n; i++ {
			img := make([]byte, 28*28)
			for k := range img {
				img[k] = byte(rng.IntN(256))
			}
			img[0], img[1] = byte((base+i)>>8), byte(base+i)
			imgs = append(imgs, img)
			labels = append(labels, label(i))
		}
		return imgs, labels
	}
	var classOf []byte
	for c, n := range trainPerClass {
		for i := 0; i < n; i++ {
			classOf = append(classOf, byte(c))
		}
	}
	// Interleave classes as real data does: shuffle the label sequence.
	rng.Shuffle(len(classOf), func(i, j int) { classOf[i], classOf[j] = classOf[j], classOf[i] })
	f.train, f.trainL = gen(len(classOf), func(i int) byte { return classOf[i] }, 0)
	f.test, f.testL = gen(testPerClass*len(trainPerClass), func(i int) byte { return byte(i % len(trainPerClass)) }, 1<<15)
	writeIDXImages(t, filepath.Join(f.dir, "train-images-idx3-ubyte"), f.train, 28, gz)
	writeIDXLabels(t, filepath.Join(f.dir, "train-labels-idx1-ubyte"), f.trainL, gz)
	writeIDXImages(t, filepath.Join(f.dir, "t10k-images-idx3-ubyte"), f.test, 28, gz)
	writeIDXLabels(t, filepath.Join(f.dir, "t10k-labels-idx1-ubyte"), f.testL, gz)
	return f
}

func writeIDXImages(t *testing.T, name string, imgs [][]byte, side int, gz bool) {
	t.Helper()
	b := binary.BigEndian.AppendUint32(nil, 0x00000803)
	b = binary.BigEndian.AppendUint32(b, uint32(len(imgs)))
	b = binary.BigEndian.AppendUint32(b, uint32(side))
	b = binary.BigEndian.AppendUint32(b, uint32(side))
	for _, img := range imgs {
		b = append(b, img...)
	}
	writeMaybeGz(t, name, b, gz)
}

func writeIDXLabels(t *testing.T, name string, labels []byte, gz bool) {
	t.Helper()
	b := binary.BigEndian.AppendUint32(nil, 0x00000801)
	b = binary.BigEndian.AppendUint32(b, uint32(len(labels)))
	writeMaybeGz(t, name, append(b, labels...), gz)
}

func writeMaybeGz(t *testing.T, name string, b []byte, gz bool) {
	t.Helper()
	if !gz {
		if err := os.WriteFile(name, b, 0o666); err != nil {
			t.Fatal(err)
		}
		return
	}
	out, err := os.Create(name + ".gz")
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// padded returns a 28×28 image zero-padded to size×size and repeated over channels, computed
// independently of the package's code.
func padded(img []byte, size, channels int) []byte {
	out := make([]byte, channels*size*size)
	p := (size - 28) / 2
	for c := 0; c < channels; c++ {
		for y := 0; y < 28; y++ {
			for x := 0; x < 28; x++ {
				out[c*size*size+(y+p)*size+x+p] = img[y*28+x]
			}
		}
	}
	return out
}

// buildOK runs Build and fails the test on error.
func buildOK(t *testing.T, opts BuildOptions) *Manifest {
	t.Helper()
	m, err := Build(context.Background(), opts, nil)
	if err != nil {
		t.Fatalf("Build(%+v): %v", opts, err)
	}
	return m
}

// openOK runs Open and closes the set when the test ends.
func openOK(t *testing.T, dir string, opts OpenOptions) *Set {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func writePNG(t *testing.T, name string, img image.Image) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeJPEG(t *testing.T, name string, img image.Image) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// solid is a w×h image of one colour.
func solid(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// coords is a w×h image whose red is 10·x and green 10·y, so a crop's offset can be read back.
func coords(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(10 * x), uint8(10 * y), 7, 255})
		}
	}
	return img
}

func mkdir(t *testing.T, name string) string {
	t.Helper()
	if err := os.MkdirAll(name, 0o777); err != nil {
		t.Fatal(err)
	}
	return name
}

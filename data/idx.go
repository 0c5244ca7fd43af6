package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// fashionMNISTClasses are Fashion-MNIST's label names, in label order (zalandoresearch/fashion-mnist README).
func fashionMNISTClasses() []string {
	return []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
}

// idxPrefix is the IDX file-name prefix of a split: MNIST names its test files t10k-*.
func idxPrefix(split string) string {
	if split == SplitTest {
		return "t10k"
	}
	return "train"
}

// findIDX returns the path of the IDX file kind ("images-idx3-ubyte" or "labels-idx1-ubyte")
// with the given prefix, accepting the raw and gzipped forms and the "images.idx3-ubyte"
// spelling some mirrors use. It returns "" when none exists.
func findIDX(dir, prefix, kind string) string {
	dotted := strings.Replace(kind, "-idx", ".idx", 1)
	for _, base := range []string{prefix + "-" + kind, prefix + "-" + dotted} {
		for _, name := range []string{base, base + ".gz"} {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p
			}
		}
	}
	return ""
}

// readIDX reads a ubyte IDX file (raw or gzip, told apart by the gzip magic) with ndim
// dimensions and returns the dimensions and the data.
func readIDX(name string, ndim int) (dims []int, data []byte, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v (damaged gzip file; download it again)", name, err)
		}
		defer zr.Close()
		r = zr
	}
	head := make([]byte, 4+4*ndim)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, nil, fmt.Errorf("%s: reading the IDX header: %v (truncated file; download it again)", name, err)
	}
	if head[0] != 0 || head[1] != 0 || head[2] != 0x08 || int(head[3]) != ndim {
		return nil, nil, fmt.Errorf("%s: IDX magic 0x%08x, want 0x000008%02x (unsigned bytes, %d dimensions; is this the right file?)",
			name, binary.BigEndian.Uint32(head), ndim, ndim)
	}
	want := 1
	for i := 0; i < ndim; i++ {
		d := int(binary.BigEndian.Uint32(head[4+4*i:]))
		if d == 0 || want > math.MaxInt32/d {
			return nil, nil, fmt.Errorf("%s: IDX dimension %d is %d (damaged header; download it again)", name, i, d)
		}
		dims = append(dims, d)
		want *= d
	}
	// ReadAll rather than make(want): a damaged header must not make us allocate gigabytes.
	data, err = io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v (damaged file; download it again)", name, err)
	}
	if len(data) != want {
		return nil, nil, fmt.Errorf("%s: %d data bytes, want %d for dimensions %v (truncated or damaged file; download it again)", name, len(data), want, dims)
	}
	return dims, data, nil
}

// idxSplit is one split of an IDX dataset in memory.
type idxSplit struct {
	n, h, w int
	pixels  []byte // n·h·w, row-major
	labels  []byte
}

// readIDXSplit reads the images and labels of one split (prefix "train" or "t10k") in dir.
func readIDXSplit(dir, prefix string) (*idxSplit, error) {
	imgName, lblName := findIDX(dir, prefix, "images-idx3-ubyte"), findIDX(dir, prefix, "labels-idx1-ubyte")
	if imgName == "" || lblName == "" {
		missing := prefix + "-images-idx3-ubyte[.gz]"
		if imgName != "" {
			missing = prefix + "-labels-idx1-ubyte[.gz]"
		}
		return nil, fmt.Errorf("%s: no %s (an MNIST-style IDX directory needs train-* and t10k-* images and labels)", dir, missing)
	}
	dims, pixels, err := readIDX(imgName, 3)
	if err != nil {
		return nil, err
	}
	ldims, labels, err := readIDX(lblName, 1)
	if err != nil {
		return nil, err
	}
	if ldims[0] != dims[0] {
		return nil, fmt.Errorf("%s: %d labels for the %d images of %s (files from different datasets?)", lblName, ldims[0], dims[0], imgName)
	}
	return &idxSplit{n: dims[0], h: dims[1], w: dims[2], pixels: pixels, labels: labels}, nil
}

// idxSource serves one IDX split at the build geometry: each image zero-padded by pad pixels
// on every side and its single channel repeated channels times.
type idxSource struct {
	*idxSplit
	size, channels, pad int
}

func (s *idxSource) Len() int        { return s.n }
func (s *idxSource) Label(i int) int { return int(s.labels[i]) }

func (s *idxSource) Decode(i int, dst []byte) error {
	clear(dst)
	plane := dst[:s.size*s.size]
	src := s.pixels[i*s.h*s.w : (i+1)*s.h*s.w]
	for y := 0; y < s.h; y++ {
		copy(plane[(y+s.pad)*s.size+s.pad:], src[y*s.w:(y+1)*s.w])
	}
	for c := 1; c < s.channels; c++ {
		copy(dst[c*len(plane):], plane)
	}
	return nil
}

// idxNaturalSize is the default image size for IDX sides: rounded up to a multiple of 16 so
// (Fashion-)MNIST's 28 becomes 32, an even token grid for the model.
func idxNaturalSize(side int) int { return (side + 15) / 16 * 16 }

// openIDX prepares an IDX build: the split's images at the final geometry, the class names,
// and mean/std computed over the (padded) train images, so train and test builds agree.
func openIDX(opts *BuildOptions) (*idxSource, *Manifest, error) {
	train, err := readIDXSplit(opts.From, "train")
	if err != nil {
		return nil, nil, err
	}
	split := train
	if opts.Split == SplitTest {
		if split, err = readIDXSplit(opts.From, idxPrefix(SplitTest)); err != nil {
			return nil, nil, err
		}
		if split.h != train.h || split.w != train.w {
			return nil, nil, fmt.Errorf("%s: test images are %d×%d, train images %d×%d (files from different datasets?)", opts.From, split.h, split.w, train.h, train.w)
		}
	}
	if split.h != split.w {
		return nil, nil, fmt.Errorf("%s: IDX images are %d×%d; only square images are supported", opts.From, split.h, split.w)
	}
	side := split.h
	size := opts.ImageSize
	if size == 0 {
		size = idxNaturalSize(side)
	}
	if size < side || (size-side)%2 != 0 {
		return nil, nil, fmt.Errorf("%s: image size %d: IDX images are %d×%d and are only zero-padded, so the size must be %d plus an even number (0 picks %d)",
			opts.From, size, side, side, side, idxNaturalSize(side))
	}
	channels := opts.Channels
	if channels == 0 {
		channels = 1
	}

	maxLabel := 0
	for _, l := range [][]byte{train.labels, split.labels} {
		for _, v := range l {
			maxLabel = max(maxLabel, int(v))
		}
	}
	names := opts.ClassNames
	if names == nil {
		if fm := fashionMNISTClasses(); maxLabel < len(fm) && strings.Contains(strings.ToLower(opts.From), "fashion") {
			names = fm[:maxLabel+1]
		} else {
			for c := 0; c <= maxLabel; c++ {
				names = append(names, strconv.Itoa(c))
			}
		}
	}
	if len(names) <= maxLabel {
		return nil, nil, fmt.Errorf("%s: labels go up to %d but %d class names were given (give one name per class)", opts.From, maxLabel, len(names))
	}

	mean, std := opts.Mean, opts.Std
	if mean == nil {
		// Pixel moments over the train images; padding adds zeros, which count in the total.
		var sum, sumSq uint64
		for _, p := range train.pixels {
			sum += uint64(p)
			sumSq += uint64(p) * uint64(p)
		}
		n := float64(train.n) * float64(size*size)
		mu := float64(sum) / 255 / n
		sigma := math.Sqrt(max(0, float64(sumSq)/(255*255)/n-mu*mu))
		for c := 0; c < channels; c++ {
			mean, std = append(mean, mu), append(std, sigma)
		}
	}

	src := &idxSource{idxSplit: split, size: size, channels: channels, pad: (size - side) / 2}
	m := &Manifest{
		Source:     fmt.Sprintf("IDX %s (%s-*), %d×%d zero-padded to %d×%d", opts.From, idxPrefix(opts.Split), side, side, size, size),
		ClassNames: append([]string(nil), names...),
		ImageSize:  size,
		Channels:   channels,
		Mean:       mean,
		Std:        std,
	}
	return src, m, nil
}

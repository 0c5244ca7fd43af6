package data

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// imageNetMean and imageNetStd are timm's IMAGENET_DEFAULT_MEAN/STD, which the reference
// applies to image-folder inputs (reference.md §3.1).
func imageNetMean() []float64 { return []float64{0.485, 0.456, 0.406} }
func imageNetStd() []float64  { return []float64{0.229, 0.224, 0.225} }

// folderSource serves an image-folder tree (one subfolder per class) at the build geometry.
type folderSource struct {
	files          []string // absolute paths, class by class, each class in lexical order
	labels         []int
	size, channels int
}

func (s *folderSource) Len() int        { return len(s.files) }
func (s *folderSource) Label(i int) int { return s.labels[i] }

func (s *folderSource) Decode(i int, dst []byte) error {
	if err := s.decode(i, dst); err != nil {
		return fmt.Errorf("%s: %v (remove or replace the file, or leave unreadable files out with --skip-bad)", s.files[i], err)
	}
	return nil
}

// decode is Decode with the bare reason of a failure, as the manifest records it.
func (s *folderSource) decode(i int, dst []byte) error {
	img, err := s.open(i)
	if err != nil {
		return err
	}
	preprocess(img, s.size, s.channels, dst)
	return nil
}

// open decodes image i, failing with the bare reason where decode would; preprocessing a
// decoded image cannot fail, so this alone says whether the image is readable.
func (s *folderSource) open(i int) (image.Image, error) {
	f, err := os.Open(s.files[i])
	if err != nil {
		if pe, ok := err.(*fs.PathError); ok {
			err = pe.Err // the caller names the file
		}
		return nil, fmt.Errorf("opening: %v", err)
	}
	defer f.Close()
	img, err := decodeImage(f)
	if err != nil {
		return nil, fmt.Errorf("decoding: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1 || b.Dy() < 1 {
		return nil, errors.New("empty image")
	}
	return img, nil
}

// dropUnreadable decodes every image on GOMAXPROCS workers and removes those that fail,
// returning them (paths relative to from) in source order. It only decodes: the resize and
// crop that the build does afterwards cannot fail, so running them here would be wasted.
func (s *folderSource) dropUnreadable(ctx context.Context, from string) ([]SkippedFile, error) {
	reasons := make([]error, len(s.files))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(s.files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(s.files) {
					return
				}
				_, reasons[i] = s.open(i)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var skipped []SkippedFile
	files, labels := s.files[:0], s.labels[:0]
	for i, err := range reasons {
		if err != nil {
			rel, _ := filepath.Rel(from, s.files[i])
			skipped = append(skipped, SkippedFile{Path: filepath.ToSlash(rel), Reason: err.Error()})
			continue
		}
		files, labels = append(files, s.files[i]), append(labels, s.labels[i])
	}
	s.files, s.labels = files, labels
	return skipped, nil
}

// isImageFile reports whether name has an extension we decode.
func isImageFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png":
		return true
	}
	return false
}

// openFolder lists an image-folder tree: each non-hidden subfolder of opts.From is a class
// (sorted by name, as torchvision's ImageFolder does), holding JPEG/PNG files at any depth.
func openFolder(opts *BuildOptions) (*folderSource, *Manifest, error) {
	entries, err := os.ReadDir(opts.From)
	if err != nil {
		return nil, nil, err
	}
	src := &folderSource{size: opts.ImageSize, channels: opts.Channels}
	if src.size == 0 {
		src.size = 224
	}
	if src.channels == 0 {
		src.channels = 3
	}
	// With a file list, only the listed images of each class folder are taken.
	wanted, found := map[string]map[string]bool{}, map[string]bool{}
	for class, files := range opts.Files {
		wanted[class] = map[string]bool{}
		for _, f := range files {
			wanted[class][filepath.ToSlash(f)] = true
		}
	}
	var names []string
	for _, e := range entries {
		dir := filepath.Join(opts.From, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() { // Stat follows symlinked class folders
			continue
		}
		label, before := len(names), len(src.files)
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.IsDir() && isImageFile(p) {
				if opts.Files != nil {
					rel, _ := filepath.Rel(dir, p)
					if !wanted[e.Name()][filepath.ToSlash(rel)] {
						return nil
					}
					found[e.Name()+"/"+filepath.ToSlash(rel)] = true
				}
				src.files = append(src.files, p)
				src.labels = append(src.labels, label)
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if len(src.files) == before && opts.Files == nil {
			return nil, nil, fmt.Errorf("%s: no JPEG or PNG images in this class folder (add images or remove the folder)", dir)
		}
		names = append(names, e.Name())
	}
	if opts.Files != nil {
		if err := checkListed(opts.From, opts.Files, found); err != nil {
			return nil, nil, err
		}
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("%s: neither MNIST-style IDX files (train-images-idx3-ubyte[.gz], …) nor class subfolders of JPEG/PNG images (give an IDX directory or an image-folder tree)", opts.From)
	}
	if opts.ClassNames != nil {
		if len(opts.ClassNames) != len(names) {
			return nil, nil, fmt.Errorf("%s: %d class folders but %d class names were given (give one name per folder, in folder-name order)", opts.From, len(names), len(opts.ClassNames))
		}
		names = append([]string(nil), opts.ClassNames...)
	}

	mean, std := opts.Mean, opts.Std
	if mean == nil {
		mean, std = imageNetMean(), imageNetStd()
		if src.channels == 1 {
			// The luma mix of the RGB values, a stand-in documented in FORMAT.md.
			mean = []float64{lumaF(mean[0], mean[1], mean[2])}
			std = []float64{lumaF(std[0], std[1], std[2])}
		}
	}
	short := int(256.0 / 224.0 * float64(src.size))
	m := &Manifest{
		Source:     fmt.Sprintf("image folder %s, shorter side bicubic-resized to %d, centre-cropped to %d×%d", opts.From, short, src.size, src.size),
		ClassNames: names,
		ImageSize:  src.size,
		Channels:   src.channels,
		Mean:       mean,
		Std:        std,
	}
	return src, m, nil
}

// lumaF is ITU-R 601 luma, the weights PIL's convert("L") uses.
func lumaF(r, g, b float64) float64 { return 0.299*r + 0.587*g + 0.114*b }

// preprocess applies the reference's eval transform (reference.md §3.1) and writes the result
// as channels planes of size×size bytes into dst: PIL's convert("RGB") (toRGB), torchvision's
// Resize(int(256/224·S)) with PIL's bicubic resampling, then CenterCrop(S) (resizeCrop).
// One channel is PIL's luma of the result.
func preprocess(img image.Image, size, channels int, dst []byte) {
	src := toRGB(img)
	ow, oh := resizedSize(src.w, src.h, int(256.0/224.0*float64(size)))
	left, top := cropOffsets(ow, oh, size)
	out := rgbImage{w: size, h: size, pix: make([]byte, 3*size*size)}
	resizeCrop(src, ow, oh, left, top, size, out)
	plane := size * size
	for i := range plane {
		r, g, b := out.pix[3*i], out.pix[3*i+1], out.pix[3*i+2]
		if channels == 1 {
			// PIL's fixed-point ITU-R 601 luma; exact for grey pixels (the weights sum to 1<<16).
			dst[i] = uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 1<<15) >> 16)
			continue
		}
		dst[i], dst[plane+i], dst[2*plane+i] = r, g, b
	}
}

// checkListed names the first listed image (in sorted order) that the folder tree under from
// does not hold.
func checkListed(from string, files map[string][]string, found map[string]bool) error {
	var missing []string
	for class, names := range files {
		for _, n := range names {
			if k := class + "/" + filepath.ToSlash(n); !found[k] {
				missing = append(missing, k)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return fmt.Errorf("%s: listed image %s is not there (or not a JPEG/PNG)%s: fix the list or the folder", from, missing[0], moreText(len(missing)-1))
}

func moreText(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", nor are %d more", n)
}

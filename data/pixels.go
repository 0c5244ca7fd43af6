package data

import (
	"bufio"
	"bytes"
	"image"
	"image/color"
	_ "image/png" // registers PNG with image.Decode
	"io"
	"math"

	"github.com/resnas/resnas/internal/jpeg"
)

// This file reproduces, pixel for pixel where it can, what the reference's eval transform
// sees: PIL's Image.open(f).convert("RGB") (Pillow 9.4 on libjpeg-turbo 2.1), then
// torchvision 0.14's Resize(int(256/224·S), bicubic) and CenterCrop(S). FORMAT.md says what
// is exact and what is measured (TestPixelsMatchTorchvision).

// decodeImage decodes a JPEG or PNG by its content, not its name (ImageNet has PNGs named
// .JPEG): JPEGs with internal/jpeg (libjpeg's IDCT), the rest with image.Decode.
func decodeImage(r io.Reader) (image.Image, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0xff, 0xd8}) {
		return jpeg.Decode(br)
	}
	img, _, err := image.Decode(br)
	return img, err
}

// rgbImage is 8-bit RGB, three bytes per pixel, row after row: PIL's "RGB" mode.
type rgbImage struct {
	w, h int
	pix  []byte
}

// toRGB is PIL's convert("RGB") of the image PIL would have opened from the same file.
//   - JPEG colour (*image.YCbCr): libjpeg-turbo's fancy (triangular) chroma upsampling and
//     its integer YCbCr→RGB tables, on the planes image/jpeg decoded (jpegRGB);
//   - grey (JPEG or PNG): the grey value in all three channels;
//   - CMYK JPEG: image/jpeg's CMYK already equals PIL's "CMYK;I" (Adobe, inverted) raw mode;
//     then PIL's cmyk2rgb;
//   - PNG: alpha is dropped without premultiplying; 16-bit samples keep their high byte, as
//     PIL's ";16B" raw modes do, except 16-bit grey, which PIL opens as mode "I" and clips
//     at 255 when converting.
func toRGB(img image.Image) rgbImage {
	b := img.Bounds()
	out := rgbImage{w: b.Dx(), h: b.Dy(), pix: make([]byte, 3*b.Dx()*b.Dy())}
	// rows calls f with each source row (pix from the row's first pixel) and its output row;
	// the type switch below picks the per-pixel loop once, not per pixel.
	rows := func(pix []byte, stride, first int, f func(row, o []byte)) {
		for y := 0; y < out.h; y++ {
			f(pix[first+y*stride:], out.pix[3*y*out.w:])
		}
	}
	// samples takes bytes 0, hi and 2·hi of every step-byte pixel: the high bytes of R, G, B.
	samples := func(step, hi int) func(row, o []byte) {
		return func(row, o []byte) {
			for x := 0; x < out.w; x++ {
				p := row[step*x:]
				o[3*x], o[3*x+1], o[3*x+2] = p[0], p[hi], p[2*hi]
			}
		}
	}
	switch m := img.(type) {
	case *image.YCbCr:
		jpegRGB(m, out)
	case *image.CMYK:
		rows(m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), func(row, o []byte) {
			for x := 0; x < out.w; x++ {
				nk := 255 - int(row[4*x+3])
				for c := 0; c < 3; c++ {
					o[3*x+c] = clip8(nk - mulDiv255(int(row[4*x+c]), nk))
				}
			}
		})
	case *image.Gray:
		rows(m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), samples(1, 0))
	case *image.RGBA: // image/png returns RGBA only for opaque images
		rows(m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), samples(4, 1))
	case *image.NRGBA:
		rows(m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), samples(4, 1))
	case *image.RGBA64:
		rows(m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), samples(8, 2))
	case *image.NRGBA64:
		rows(m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), samples(8, 2))
	case *image.Gray16:
		rows(m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), func(row, o []byte) {
			for x := 0; x < out.w; x++ {
				v := uint8(min(255, int(row[2*x])<<8|int(row[2*x+1])))
				o[3*x], o[3*x+1], o[3*x+2] = v, v, v
			}
		})
	default:
		for y := 0; y < out.h; y++ {
			o := out.pix[3*y*out.w:]
			for x := 0; x < out.w; x++ {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA) // palettes hold NRGBA when transparent
				o[3*x], o[3*x+1], o[3*x+2] = c.R, c.G, c.B
			}
		}
	}
	return out
}

// mulDiv255 is PIL's MULDIV255: a·b/255 rounded, by shifts.
func mulDiv255(a, b int) int {
	t := a*b + 128
	return ((t >> 8) + t) >> 8
}

func clip8(v int) uint8 { return uint8(min(255, max(0, v))) }

// libjpeg's YCbCr→RGB tables (jdcolor.c build_ycc_rgb_table): 16-bit fixed point, the
// green terms summed before one rounding shift.
type yccTables struct {
	crR, cbB [256]int32
	crG, cbG [256]int32
}

func newYCCTables() *yccTables {
	const scaleBits = 16
	fix := func(x float64) int32 { return int32(float64(x*(1<<scaleBits)) + 0.5) }
	t := &yccTables{}
	for i := range 256 {
		x := int32(i - 128)
		t.crR[i] = (fix(1.40200)*x + 1<<(scaleBits-1)) >> scaleBits
		t.cbB[i] = (fix(1.77200)*x + 1<<(scaleBits-1)) >> scaleBits
		t.crG[i] = -fix(0.71414) * x
		t.cbG[i] = -fix(0.34414)*x + 1<<(scaleBits-1)
	}
	return t
}

var ycc = newYCCTables() // read-only after init

// jpegRGB converts image/jpeg's YCbCr planes to RGB as libjpeg-turbo does with its defaults
// (do_fancy_upsampling): chroma subsampled 2× in a direction is upsampled with 3/4–1/4
// triangular weights and libjpeg's alternating rounding biases (jdsample.c h2v1, h1v2 and
// h2v2_fancy_upsample), the edge sample standing in for its missing neighbour; other
// ratios (4:1:1, 4:1:0), and 2× horizontal with two or fewer chroma columns, replicate.
func jpegRGB(m *image.YCbCr, out rgbImage) {
	w, h := out.w, out.h
	hf, vf := 1, 1
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hf = 2
	case image.YCbCrSubsampleRatio420:
		hf, vf = 2, 2
	case image.YCbCrSubsampleRatio440:
		vf = 2
	case image.YCbCrSubsampleRatio411:
		hf = 4
	case image.YCbCrSubsampleRatio410:
		hf, vf = 4, 2
	}
	cw, ch := (w+hf-1)/hf, (h+vf-1)/vf // libjpeg's downsampled_width/height
	x0, y0 := m.Rect.Min.X, m.Rect.Min.Y
	base := m.COffset(x0, y0)
	fancyH := hf == 2 && cw > 2
	fancyV := vf == 2 && (hf == 1 || fancyH)
	cbRow, crRow := make([]int32, w), make([]int32, w)
	var colSum []int32
	if fancyH && fancyV {
		colSum = make([]int32, cw)
	}
	// upRow writes plane p's chroma upsampled to full-resolution row y into dst, a row at a
	// time as libjpeg does, so each chroma sample is read once per row, not per use.
	upRow := func(p []byte, y int, dst []int32) {
		cy := y / vf
		row := p[base+cy*m.CStride:]
		ny, bias := cy, int32(0) // vertical neighbour row; bias for h1v2's odd rows
		if fancyV {
			if y%2 == 0 {
				ny = max(0, cy-1)
			} else {
				ny, bias = min(ch-1, cy+1), 1
			}
		}
		near := p[base+ny*m.CStride:]
		switch {
		case fancyH && fancyV: // h2v2: vertical 3:1 column sums, then 3:1 across, /16
			for cx := range cw {
				colSum[cx] = 3*int32(row[cx]) + int32(near[cx])
			}
			for x := range w {
				cx := x / 2
				if x%2 == 0 {
					dst[x] = (3*colSum[cx] + colSum[max(0, cx-1)] + 8) >> 4
				} else {
					dst[x] = (3*colSum[cx] + colSum[min(cw-1, cx+1)] + 7) >> 4
				}
			}
		case fancyH: // h2v1
			for x := range w {
				cx := x / 2
				if x%2 == 0 {
					dst[x] = (3*int32(row[cx]) + int32(row[max(0, cx-1)]) + 1) >> 2
				} else {
					dst[x] = (3*int32(row[cx]) + int32(row[min(cw-1, cx+1)]) + 2) >> 2
				}
			}
		case fancyV: // h1v2
			for x := range w {
				dst[x] = (3*int32(row[x]) + int32(near[x]) + 1 + bias) >> 2
			}
		default:
			for x := range w {
				dst[x] = int32(row[x/hf])
			}
		}
	}
	for y := 0; y < h; y++ {
		upRow(m.Cb, y, cbRow)
		upRow(m.Cr, y, crRow)
		yrow := m.Y[m.YOffset(x0, y0+y):]
		o := out.pix[3*y*w:]
		for x := 0; x < w; x++ {
			yy := int32(yrow[x])
			b, r := cbRow[x], crRow[x]
			o[3*x] = clip8(int(yy + ycc.crR[r]))
			o[3*x+1] = clip8(int(yy + (ycc.cbG[b]+ycc.crG[r])>>16))
			o[3*x+2] = clip8(int(yy + ycc.cbB[b]))
		}
	}
}

// resizedSize is torchvision 0.14's output size for Resize(short) on a w×h image: the
// shorter side becomes short, the longer int(short·long/short) (Python's float division).
func resizedSize(w, h, short int) (ow, oh int) {
	if w <= h {
		return short, int(float64(short*h) / float64(w))
	}
	return int(float64(short*w) / float64(h)), short
}

// cropOffsets is torchvision's CenterCrop: int(round((side − size)/2)), half to even.
func cropOffsets(ow, oh, size int) (left, top int) {
	return int(math.RoundToEven(float64(ow-size) / 2)), int(math.RoundToEven(float64(oh-size) / 2))
}

// pilPrecisionBits is PIL's fixed-point precision for 8-bit resampling (Resample.c).
const pilPrecisionBits = 32 - 8 - 2

// pilCoeffs are the fixed-point filter weights of output positions [from, from+n) of a
// resize of inSize samples to outSize, as PIL's precompute_coeffs and normalize_coeffs_8bpc
// compute them for its bicubic filter (a = −0.5): the support grows with the downscale
// factor, each output's weights are normalised to sum 1, then rounded away from zero.
type pilCoeffs struct {
	start []int     // first input sample of each output
	k     [][]int32 // its weights
}

func bicubicPIL(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	// Explicit conversions keep Go from fusing multiply-adds, which PIL's C build doesn't.
	if x < 1 {
		t := float64(float64((a+2)*x) - (a + 3))
		return float64(float64(t*x)*x) + 1
	}
	if x < 2 {
		t := float64(float64(float64(x-5)*x) + 8)
		return float64(float64(t*x)-4) * a
	}
	return 0
}

func newPILCoeffs(inSize, outSize, from, n int) pilCoeffs {
	scale := float64(inSize) / float64(outSize)
	filterScale := max(scale, 1)
	support := 2 * filterScale
	inv := 1 / filterScale
	c := pilCoeffs{start: make([]int, n), k: make([][]int32, n)}
	w := make([]float64, 0, int(math.Ceil(support))*2+1)
	for i := range n {
		center := (float64(from+i) + 0.5) * scale
		lo := max(0, int(center-support+0.5))
		hi := min(inSize, int(center+support+0.5))
		w = w[:0]
		sum := 0.0
		for x := lo; x < hi; x++ {
			v := bicubicPIL((float64(x) - center + 0.5) * inv)
			w = append(w, v)
			sum += v
		}
		k := make([]int32, len(w))
		for j, v := range w {
			if sum != 0 {
				v /= sum
			}
			if v < 0 {
				k[j] = int32(-0.5 + float64(v*(1<<pilPrecisionBits)))
			} else {
				k[j] = int32(0.5 + float64(v*(1<<pilPrecisionBits)))
			}
		}
		c.start[i], c.k[i] = lo, k
	}
	return c
}

// pilClip is PIL's clip8 of an accumulated fixed-point sum.
func pilClip(ss int32) uint8 { return uint8(min(255, max(0, ss>>pilPrecisionBits))) }

// resizeCrop writes the size×size window at (left, top) of src resized to ow×oh with PIL's
// bicubic ImagingResample into dst (RGB). PIL resizes horizontally, rounds to 8 bits, then
// resizes vertically; each output pixel depends only on its own row and column weights, so
// computing only the window gives PIL's values. A direction whose size is unchanged is not
// resampled, as in PIL.
func resizeCrop(src rgbImage, ow, oh, left, top, size int, dst rgbImage) {
	const half = 1 << (pilPrecisionBits - 1)
	rows := src.h // rows of the horizontally resized image
	var vc pilCoeffs
	rowFrom := 0
	if oh != src.h {
		vc = newPILCoeffs(src.h, oh, top, size)
		rowFrom = vc.start[0]
		last := vc.start[size-1] + len(vc.k[size-1])
		rows = last - rowFrom
	} else {
		rowFrom, rows = top, size
	}
	// Horizontal pass into tmp: rows [rowFrom, rowFrom+rows) of the source, columns
	// [left, left+size) of the output.
	tmp := rgbImage{w: size, h: rows, pix: make([]byte, 3*size*rows)}
	if ow != src.w {
		hc := newPILCoeffs(src.w, ow, left, size)
		for y := range rows {
			in := src.pix[3*(rowFrom+y)*src.w:]
			o := tmp.pix[3*y*size:]
			for x := range size {
				s0, s1, s2 := int32(half), int32(half), int32(half)
				p := in[3*hc.start[x]:]
				for j, k := range hc.k[x] {
					s0 += int32(p[3*j]) * k
					s1 += int32(p[3*j+1]) * k
					s2 += int32(p[3*j+2]) * k
				}
				o[3*x], o[3*x+1], o[3*x+2] = pilClip(s0), pilClip(s1), pilClip(s2)
			}
		}
	} else {
		for y := range rows {
			copy(tmp.pix[3*y*size:3*(y+1)*size], src.pix[3*((rowFrom+y)*src.w+left):])
		}
	}
	if oh == src.h {
		copy(dst.pix, tmp.pix)
		return
	}
	for y := range size {
		o := dst.pix[3*y*size : 3*(y+1)*size]
		k := vc.k[y]
		base := vc.start[y] - rowFrom
		for x := range 3 * size {
			s := int32(half)
			for j, kj := range k {
				s += int32(tmp.pix[3*(base+j)*size+x]) * kj
			}
			o[x] = pilClip(s)
		}
	}
}

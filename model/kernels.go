package model

import (
	"math"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/vecmath"
)

func sqrt64(x float64) float64 { return math.Sqrt(x) }

// layerNormRows writes LN(x)·w + b of every row of x into the same row of y (eps 1e-6, biased
// variance, as F.layer_norm; vecmath.LayerNormRows: eight narrow rows at a time).
func layerNormRows(y, x gemm.Mat, norm lnView) {
	if x.Rows == 0 {
		return
	}
	vecmath.LayerNormRows(y.Data, y.Stride, x.Data, x.Stride, x.Rows, x.Cols, norm.w, norm.b, lnEps)
}

// softmax normalises a row in place.
func softmax(row []float32) { vecmath.Softmax(row, row, 1) }

// biasGELU adds the bias and applies the exact (erf) GELU in place.
func biasGELU(row, bias []float32) { vecmath.BiasGELU(row, bias[:len(row)]) }

// addTo adds src to dst element-wise (len(src) values).
func addTo(dst, src []float32) { vecmath.Add(dst[:len(src)], src) }

// addBiasRows adds bias to every row of m.
func addBiasRows(m gemm.Mat, bias []float32) {
	for r := 0; r < m.Rows; r++ {
		vecmath.Add(m.Row(r), bias[:m.Cols])
	}
}

// bnReLU applies a folded BatchNorm and ReLU to one channel in place.
func bnReLU(ch []float32, scale, shift float32) { vecmath.ScaleShiftReLU(ch, scale, shift) }

func convOut(size, k, stride, pad int) int { return (size+2*pad-k)/stride + 1 }

// im2colT lays out a CHW image for out(Cout × HW) = W(Cout × cin·k²) · cols: row
// ci·k²+ky·k+kx, column oy·Wout+ox. Out-of-image taps are zero. Channel ci's h×w plane starts
// at src[ci·chanStride] (h·w for one dense image; larger when the images of a chunk lie side
// by side in each channel's row); cols may be a column block of a wider matrix.
func im2colT(cols gemm.Mat, src []float32, chanStride, cin, h, w, k, stride, pad int) {
	ho, wo := convOut(h, k, stride, pad), convOut(w, k, stride, pad)
	for ci := 0; ci < cin; ci++ {
		plane := src[ci*chanStride : ci*chanStride+h*w]
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				row := cols.Row(ci*k*k + ky*k + kx)
				// Output columns ox in [lo, hi) read inside the image; the rest are padding.
				lo := max(0, (pad-kx+stride-1)/stride)
				hi := 0
				if last := w - 1 + pad - kx; last >= 0 {
					hi = min(wo, last/stride+1)
				}
				if stride == 1 && wo == w {
					im2colShifted(row[:ho*wo], plane, h, w, ho, ky-pad, kx-pad, lo, hi)
					continue
				}
				for oy := 0; oy < ho; oy++ {
					iy := oy*stride - pad + ky
					out := row[oy*wo : (oy+1)*wo]
					if iy < 0 || iy >= h || lo >= hi {
						clear(out)
						continue
					}
					clear(out[:lo])
					clear(out[hi:])
					line := plane[iy*w : (iy+1)*w]
					if stride == 1 {
						copy(out[lo:hi], line[lo-pad+kx:])
						continue
					}
					for ox := lo; ox < hi; ox++ {
						out[ox] = line[ox*stride-pad+kx]
					}
				}
			}
		}
	}
}

// im2colShifted fills one im2colT row of a stride-1 "same-width" conv tap (wo == w), where
// output (oy, ox) reads input (oy+dy, ox+dx): the in-image part is the plane shifted by
// dy·w+dx, so it is one copy of the span of valid rows, after which the columns outside
// [lo, hi) (which the copy filled from the neighbouring image rows) and the rows outside the
// image are zeroed. The result is the element-by-element im2colT's, value for value; the
// conv stem's 16×16 taps are one copy instead of sixteen.
func im2colShifted(row, plane []float32, h, w, ho, dy, dx, lo, hi int) {
	oy0, oy1 := max(0, -dy), min(ho, h-dy)
	if oy0 >= oy1 || lo >= hi {
		clear(row)
		return
	}
	clear(row[:oy0*w])
	clear(row[oy1*w:])
	s0, s1 := oy0*w+lo, (oy1-1)*w+hi
	shift := dy*w + dx
	copy(row[s0:s1], plane[s0+shift:s1+shift])
	for oy := oy0; oy < oy1; oy++ {
		clear(row[oy*w : oy*w+lo])
		clear(row[oy*w+hi : (oy+1)*w])
	}
}

// im2colCHW lays out a CHW image for tokens(HW × Cout) = cols(HW × cin·k²) · Wᵀ: row
// oy·Wout+ox, column ci·k²+ky·k+kx.
func im2colCHW(cols gemm.Mat, src []float32, cin, h, w, k, stride, pad int) {
	ho, wo := convOut(h, k, stride, pad), convOut(w, k, stride, pad)
	for oy := 0; oy < ho; oy++ {
		for ox := 0; ox < wo; ox++ {
			row := cols.Row(oy*wo + ox)
			for ci := 0; ci < cin; ci++ {
				plane := src[ci*h*w : (ci+1)*h*w]
				for ky := 0; ky < k; ky++ {
					iy := oy*stride - pad + ky
					dst := row[(ci*k+ky)*k : (ci*k+ky+1)*k]
					if iy < 0 || iy >= h {
						clear(dst)
						continue
					}
					for kx := range dst {
						ix := ox*stride - pad + kx
						if ix < 0 || ix >= w {
							dst[kx] = 0
						} else {
							dst[kx] = plane[iy*w+ix]
						}
					}
				}
			}
		}
	}
}

// im2colPatches is im2colCHW for non-overlapping k×k patches (kernel = stride = k, no
// padding: the conv stem's projection), without per-tap bounds checks: each input row of a
// channel is read once, in order. Channel ci's plane starts at src[ci·chanStride]; h and w are
// multiples of k.
func im2colPatches(cols gemm.Mat, src []float32, chanStride, cin, h, w, k int) {
	wo := w / k
	kk := k * k
	for ci := 0; ci < cin; ci++ {
		plane := src[ci*chanStride : ci*chanStride+h*w]
		for iy := 0; iy < h; iy++ {
			oy, ky := iy/k, iy%k
			line := plane[iy*w : (iy+1)*w]
			col := ci*kk + ky*k
			for ox := 0; ox < wo; ox++ {
				dst := cols.Row(oy*wo + ox)[col : col+k]
				src := line[ox*k : (ox+1)*k]
				for kx := range dst {
					dst[kx] = src[kx]
				}
			}
		}
	}
}

// im2colHWC lays out a token grid (h·w rows of cin channels) the same way as im2colCHW.
func im2colHWC(cols gemm.Mat, src gemm.Mat, h, w, k, stride, pad int) {
	cin := src.Cols
	ho, wo := convOut(h, k, stride, pad), convOut(w, k, stride, pad)
	kk := k * k
	for oy := 0; oy < ho; oy++ {
		for ox := 0; ox < wo; ox++ {
			row := cols.Row(oy*wo + ox)
			for ky := 0; ky < k; ky++ {
				iy := oy*stride - pad + ky
				for kx := 0; kx < k; kx++ {
					ix := ox*stride - pad + kx
					tap := ky*k + kx
					if iy < 0 || iy >= h || ix < 0 || ix >= w {
						for ci := 0; ci < cin; ci++ {
							row[ci*kk+tap] = 0
						}
						continue
					}
					px := src.Row(iy*w + ix)
					for ci, v := range px {
						row[ci*kk+tap] = v
					}
				}
			}
		}
	}
}

// ntMaxRows is the most rows mulWT gives to vecmath.MatMulNT. Measured on 2 cores (AVX-512
// Xeon, OpenBLAS 0.3.21 SkylakeX, one thread): 5×576×192 runs 4× faster there than through
// OpenBLAS, which packs the whole weight matrix for five rows; at 17×240×80 the two tie, and
// at 65 rows OpenBLAS is 10% ahead.
const ntMaxRows = 16

// linearRows computes c = x·wᵀ + b, or c += x·wᵀ + b with acc (b may be nil), for a linear
// layer or a conv seen as a matrix: through p, its packed weights and bias (Net.packWeights),
// when there are any (also for a few rows: 5×576×192 runs 1.5× faster than through
// vecmath.MatMulNT, which streams b once per three rows); else mulWT, then the bias.
func linearRows(be gemm.Backend, x, w gemm.Mat, b []float32, p *vecmath.PackedB, acc bool, c gemm.Mat) {
	if p != nil {
		vecmath.GemmPacked(c.Data, c.Stride, x.Data, x.Stride, x.Rows, p, acc)
		return
	}
	mulWT(be, x, w, acc, c)
	if b != nil {
		addBiasRows(c, b)
	}
}

// mulWT computes c = x·wᵀ, or c += x·wᵀ with acc, for a layer's weights w (out × in). A few
// rows (one image's tokens in the late stages) go to vecmath.MatMulNT, which streams w once
// without packing it; everything else to the GEMM backend.
func mulWT(be gemm.Backend, x, w gemm.Mat, acc bool, c gemm.Mat) {
	if x.Rows <= ntMaxRows && vecmath.MatMulNTFast(x.Cols) && x.Cols == w.Cols && c.Rows == x.Rows && c.Cols == w.Rows && x.Rows > 0 && w.Rows > 0 {
		vecmath.MatMulNT(c.Data, c.Stride, x.Data, x.Stride, w.Data, w.Stride, x.Rows, w.Rows, x.Cols, acc)
		return
	}
	beta := float32(0)
	if acc {
		beta = 1
	}
	gemm.Mul(be, false, true, 1, x, w, beta, c)
}

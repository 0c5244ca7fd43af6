package nn

import (
	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/vecmath"
)

// Conv is a 2-D convolution over channels-last (NHWC) activations, computed as im2col + GEMM.
// Input pixel (iy, ix) of image n is row n·InImageRows + InFirst + iy·InW + ix of x, so a
// conv can read the patch tokens of a token sequence in place (InFirst skips the class
// token). The weight is PyTorch's (Cout, Cin, K, K) viewed as a (Cout, Cin·K·K) matrix, whose
// column ci·K·K + ky·K + kx matches the im2col column; a sub-network with fewer input
// channels uses the leading Cin·K·K columns of the max-size weight.
type Conv struct {
	Images, InH, InW, InC, K, Stride, Pad int
	InImageRows, InFirst                  int
}

// OutH is the output height.
func (c Conv) OutH() int { return (c.InH+2*c.Pad-c.K)/c.Stride + 1 }

// OutW is the output width.
func (c Conv) OutW() int { return (c.InW+2*c.Pad-c.K)/c.Stride + 1 }

// ColsRows and ColsCols are the im2col matrix shape: (Images·OutH·OutW, InC·K·K).
func (c Conv) ColsRows() int { return c.Images * c.OutH() * c.OutW() }

// ColsCols is the im2col row width, InC·K·K.
func (c Conv) ColsCols() int { return c.InC * c.K * c.K }

// Im2col fills cols (ColsRows, ColsCols) from x, with zeros where the kernel covers padding.
func Im2col(e *Exec, c Conv, cols, x gemm.Mat) {
	n := c.Images * c.OutH()
	if e.serial(n, 4) {
		c.im2col(cols, x, 0, n)
		return
	}
	e.For(n, 4, func(lo, hi int) { c.im2col(cols, x, lo, hi) })
}

// im2col fills the cols rows of output rows r in [lo, hi), r = image·OutH + oy.
func (c Conv) im2col(cols, x gemm.Mat, lo, hi int) {
	oh, ow, kk := c.OutH(), c.OutW(), c.K*c.K
	for r := lo; r < hi; r++ {
		n, oy := r/oh, r%oh
		for ox := 0; ox < ow; ox++ {
			dst := row(cols, r*ow+ox)
			for ky := 0; ky < c.K; ky++ {
				iy := oy*c.Stride - c.Pad + ky
				for kx := 0; kx < c.K; kx++ {
					ix := ox*c.Stride - c.Pad + kx
					o := ky*c.K + kx
					if iy < 0 || iy >= c.InH || ix < 0 || ix >= c.InW {
						for ci := 0; ci < c.InC; ci++ {
							dst[ci*kk+o] = 0
						}
						continue
					}
					src := x.Data[(n*c.InImageRows+c.InFirst+iy*c.InW+ix)*x.Stride:]
					for ci := 0; ci < c.InC; ci++ {
						dst[ci*kk+o] = src[ci]
					}
				}
			}
		}
	}
}

// Col2im adds the im2col gradient dcols back onto dx (the adjoint of Im2col). Images are
// split across workers, so no two write the same row.
func Col2im(e *Exec, c Conv, dx, dcols gemm.Mat) {
	if e.serial(c.Images, 1) {
		c.col2im(dx, dcols, 0, c.Images)
		return
	}
	e.For(c.Images, 1, func(lo, hi int) { c.col2im(dx, dcols, lo, hi) })
}

// col2im adds the gradients of images [lo, hi).
func (c Conv) col2im(dx, dcols gemm.Mat, lo, hi int) {
	oh, ow, kk := c.OutH(), c.OutW(), c.K*c.K
	for n := lo; n < hi; n++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				src := row(dcols, (n*oh+oy)*ow+ox)
				for ky := 0; ky < c.K; ky++ {
					iy := oy*c.Stride - c.Pad + ky
					if iy < 0 || iy >= c.InH {
						continue
					}
					for kx := 0; kx < c.K; kx++ {
						ix := ox*c.Stride - c.Pad + kx
						if ix < 0 || ix >= c.InW {
							continue
						}
						o := ky*c.K + kx
						dst := dx.Data[(n*c.InImageRows+c.InFirst+iy*c.InW+ix)*dx.Stride:]
						for ci := 0; ci < c.InC; ci++ {
							dst[ci] += src[ci*kk+o]
						}
					}
				}
			}
		}
	}
}

// ConvForward computes y = im2col(x)·wᵀ + b, keeping cols for backward.
//
//	x as described by c; cols (ColsRows, ColsCols) scratch kept for backward;
//	w (Cout, ColsCols) view; b (Cout) or nil; y (ColsRows, Cout), channels-last.
func ConvForward(e *Exec, c Conv, y, cols, x, w gemm.Mat, b []float32) {
	Im2col(e, c, cols, x)
	LinearForward(e, y, cols, w, b)
}

// ConvBackward adds the gradients of ConvForward: dw += dyᵀ·cols, db += Σ dy, and (unless dx
// has no rows) dx += col2im(dy·w). dcols is scratch shaped like cols.
func ConvBackward(e *Exec, c Conv, dx, dw gemm.Mat, db []float32, dy, cols, dcols, w gemm.Mat) {
	var none gemm.Mat
	LinearBackward(e, none, dw, db, dy, cols, w)
	if dx.Rows == 0 {
		return
	}
	e.Mul(false, false, 1, dy, w, 0, dcols)
	Col2im(e, c, dx, dcols)
}

// streamRows is about how many output pixels the streamed convolutions put through im2col at
// a time: their im2col and its gradient (2·streamRows·ColsCols floats) then stay in a core's
// L2 cache. Over a whole stem batch the im2col matrix is megabytes, and GEMMs with 12 output
// channels streaming it from memory ran 3–10× slower than on cache-sized chunks (measured).
const streamRows = 512

// streamImages is how many images a streamed chunk holds.
func (c Conv) streamImages() int { return max(1, streamRows/(c.OutH()*c.OutW())) }

// StreamScratchLen is the scratch one worker needs in ConvForwardStreamed and
// ConvBackwardStreamed for cout output channels: an im2col chunk and its gradient, and the
// weight and its gradient in tap-major order.
func (c Conv) StreamScratchLen(cout int) int {
	return 2*min(c.streamImages(), max(c.Images, 1))*c.OutH()*c.OutW()*c.ColsCols() + 2*cout*c.ColsCols()
}

// chunk describes images [first, first+m) of c's input as a convolution of its own (the
// same rows of x, reached through InFirst).
func (c Conv) chunk(first, m int) Conv {
	c.Images, c.InFirst = m, c.InFirst+first*c.InImageRows
	return c
}

// The streamed convolutions order im2col columns tap-major (o·InC + ci, o = ky·K + kx)
// rather than as the weight does (ci·K² + o): each tap's channels are then one contiguous
// copy, and a row of taps over adjacent pixels one copy of K·InC values, where the
// channel-major order scatters every value (im2col was 5% of a training step). The weight
// and its gradient are permuted to match, a few KB per call.

// tapMajor writes w (Cout, InC·K², channel-major columns) tap-major into dst, (Cout, K²·InC).
func (c Conv) tapMajor(dst, w gemm.Mat) {
	kk := c.K * c.K
	for co := 0; co < w.Rows; co++ {
		src, d := row(w, co), row(dst, co)
		for ci := 0; ci < c.InC; ci++ {
			for o := 0; o < kk; o++ {
				d[o*c.InC+ci] = src[ci*kk+o]
			}
		}
	}
}

// addChannelMajor adds the tap-major gradient src back into dw in the weight's order.
func (c Conv) addChannelMajor(dw, src gemm.Mat) {
	kk := c.K * c.K
	for co := 0; co < dw.Rows; co++ {
		s, d := row(src, co), row(dw, co)
		for ci := 0; ci < c.InC; ci++ {
			for o := 0; o < kk; o++ {
				d[ci*kk+o] += s[o*c.InC+ci]
			}
		}
	}
}

// im2colTaps fills rows r in [lo, hi) of the tap-major im2col, r = image·OutH + oy.
func (c Conv) im2colTaps(cols, x gemm.Mat, lo, hi int) {
	oh, ow, k, ch := c.OutH(), c.OutW(), c.K, c.InC
	dense := x.Stride == ch // adjacent pixels' channels are adjacent
	for r := lo; r < hi; r++ {
		n, oy := r/oh, r%oh
		for ox := 0; ox < ow; ox++ {
			dst := row(cols, r*ow+ox)
			ix0 := ox*c.Stride - c.Pad
			for ky := 0; ky < k; ky++ {
				iy := oy*c.Stride - c.Pad + ky
				d := dst[ky*k*ch : (ky+1)*k*ch]
				if iy < 0 || iy >= c.InH {
					clear(d)
					continue
				}
				first := n*c.InImageRows + c.InFirst + iy*c.InW // pixel (iy, 0)
				if dense && ix0 >= 0 && ix0+k <= c.InW {
					copy(d, x.Data[(first+ix0)*ch:(first+ix0+k)*ch])
					continue
				}
				for kx := 0; kx < k; kx++ {
					ix := ix0 + kx
					if ix < 0 || ix >= c.InW {
						clear(d[kx*ch : (kx+1)*ch])
						continue
					}
					copy(d[kx*ch:(kx+1)*ch], x.Data[(first+ix)*x.Stride:][:ch])
				}
			}
		}
	}
}

// col2imTaps adds the tap-major im2col gradient of images [lo, hi) onto dx.
func (c Conv) col2imTaps(dx, dcols gemm.Mat, lo, hi int) {
	oh, ow, k, ch := c.OutH(), c.OutW(), c.K, c.InC
	dense := dx.Stride == ch
	for n := lo; n < hi; n++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				src := row(dcols, (n*oh+oy)*ow+ox)
				ix0 := ox*c.Stride - c.Pad
				for ky := 0; ky < k; ky++ {
					iy := oy*c.Stride - c.Pad + ky
					if iy < 0 || iy >= c.InH {
						continue
					}
					s := src[ky*k*ch : (ky+1)*k*ch]
					first := n*c.InImageRows + c.InFirst + iy*c.InW
					if dense && ix0 >= 0 && ix0+k <= c.InW {
						vecmath.Add(dx.Data[(first+ix0)*ch:(first+ix0+k)*ch], s)
						continue
					}
					for kx := 0; kx < k; kx++ {
						if ix := ix0 + kx; ix >= 0 && ix < c.InW {
							vecmath.Add(dx.Data[(first+ix)*dx.Stride:][:ch], s[kx*ch:(kx+1)*ch])
						}
					}
				}
			}
		}
	}
}

// ConvForwardStreamed computes y = im2col(x)·wᵀ + b like ConvForward, a few images at a time
// through cache-sized scratch (Workers·StreamScratchLen(w.Rows) floats), keeping nothing for
// backward.
func ConvForwardStreamed(e *Exec, c Conv, y, x, w gemm.Mat, b []float32, scratch []float32) {
	per, step, px := c.StreamScratchLen(w.Rows), c.streamImages(), c.OutH()*c.OutW()
	wt := gemm.NewMat(w.Rows, c.ColsCols(), scratch[per-2*w.Rows*c.ColsCols():]) // worker 0's
	c.tapMajor(wt, w)
	e.ForWorker(c.Images, step, func(wk, lo, hi int) {
		cols := scratch[wk*per:]
		for n := lo; n < hi; n += step {
			m := min(step, hi-n)
			cm := gemm.NewMat(m*px, c.ColsCols(), cols)
			c.chunk(n, m).im2colTaps(cm, x, 0, m*c.OutH())
			yc := y.Sub(n*px, (n+m)*px, 0, y.Cols)
			beta := float32(0)
			if b != nil {
				fillRows(yc, b, 0, yc.Rows)
				beta = 1
			}
			gemm.Mul(e.Gemm, false, true, 1, cm, wt, beta, yc)
		}
	})
}

// ConvBackwardStreamed adds the gradients of ConvForwardStreamed, rebuilding each chunk's
// im2col: dx += col2im(dy·w) (skipped when dx has no rows), dw[k] += dyᵀ·im2col(x) over
// worker k's images (one view per worker, which the caller sums in order: deterministic), and
// db += Σ dy unless db is nil. scratch as in ConvForwardStreamed.
func ConvBackwardStreamed(e *Exec, c Conv, dx gemm.Mat, dw []gemm.Mat, db []float32, dy, x, w gemm.Mat, scratch []float32) {
	if len(dw) < e.workers() {
		panic("nn: ConvBackwardStreamed: fewer weight gradients than workers")
	}
	per, step, px := c.StreamScratchLen(w.Rows), c.streamImages(), c.OutH()*c.OutW()
	chunkLen, wLen := (per-2*w.Rows*c.ColsCols())/2, w.Rows*c.ColsCols()
	wt := gemm.NewMat(w.Rows, c.ColsCols(), scratch[2*chunkLen:]) // worker 0's
	c.tapMajor(wt, w)
	e.ForWorker(c.Images, step, func(wk, lo, hi int) {
		s := scratch[wk*per : (wk+1)*per]
		cols, dcols := s[:chunkLen], s[chunkLen:2*chunkLen]
		dwt := gemm.NewMat(w.Rows, c.ColsCols(), s[2*chunkLen+wLen:])
		clear(dwt.Data)
		for n := lo; n < hi; n += step {
			m := min(step, hi-n)
			ch := c.chunk(n, m)
			cm := gemm.NewMat(m*px, c.ColsCols(), cols)
			ch.im2colTaps(cm, x, 0, m*c.OutH())
			dyc := dy.Sub(n*px, (n+m)*px, 0, dy.Cols)
			gemm.Mul(e.Gemm, true, false, 1, dyc, cm, 1, dwt)
			if dx.Rows == 0 {
				continue
			}
			dcm := gemm.NewMat(m*px, c.ColsCols(), dcols)
			gemm.Mul(e.Gemm, false, false, 1, dyc, wt, 0, dcm)
			ch.col2imTaps(dx, dcm, 0, m)
		}
		c.addChannelMajor(dw[wk], dwt)
	})
	if db != nil {
		ColumnSums(e, db[:dy.Cols], dy)
	}
}

package model

import (
	"testing"

	"github.com/resnas/resnas/internal/gemm"
)

// TestIm2colT compares the row-copy im2col with a direct tap-by-tap reference on odd sizes,
// both strides and both paddings.
func TestIm2colT(t *testing.T) {
	for _, c := range []struct{ cin, h, w, k, stride, pad int }{
		{2, 7, 5, 3, 1, 1}, {3, 8, 8, 3, 2, 1}, {1, 6, 9, 3, 2, 0}, {2, 4, 4, 2, 2, 0}, {1, 5, 5, 3, 1, 0},
		// stride-1 same-width taps (the shifted-plane copy): the conv stem, k=5, a kernel wider
		// than the image, a one-column image.
		{3, 16, 16, 3, 1, 1}, {1, 4, 6, 5, 1, 2}, {1, 2, 2, 5, 1, 2}, {2, 3, 1, 3, 1, 1},
	} {
		src := make([]float32, c.cin*c.h*c.w)
		for i := range src {
			src[i] = float32(i + 1)
		}
		ho, wo := convOut(c.h, c.k, c.stride, c.pad), convOut(c.w, c.k, c.stride, c.pad)
		data := make([]float32, c.cin*c.k*c.k*ho*wo)
		for i := range data {
			data[i] = -99 // must all be overwritten
		}
		cols := gemm.NewMat(c.cin*c.k*c.k, ho*wo, data)
		im2colT(cols, src, c.h*c.w, c.cin, c.h, c.w, c.k, c.stride, c.pad)
		for ci := 0; ci < c.cin; ci++ {
			for ky := 0; ky < c.k; ky++ {
				for kx := 0; kx < c.k; kx++ {
					for oy := 0; oy < ho; oy++ {
						for ox := 0; ox < wo; ox++ {
							iy, ix := oy*c.stride-c.pad+ky, ox*c.stride-c.pad+kx
							var want float32
							if iy >= 0 && iy < c.h && ix >= 0 && ix < c.w {
								want = src[ci*c.h*c.w+iy*c.w+ix]
							}
							if got := cols.At(ci*c.k*c.k+ky*c.k+kx, oy*wo+ox); got != want {
								t.Fatalf("%+v: tap (%d,%d,%d) at (%d,%d) = %v, want %v", c, ci, ky, kx, oy, ox, got, want)
							}
						}
					}
				}
			}
		}
	}
}

package cuda

import (
	"fmt"

	"github.com/resnas/resnas/internal/gemm"
)

// Buffer is device memory holding float32 values. It is freed by Free or when its Device
// closes.
type Buffer struct {
	dev *Device
	ptr uint64
	n   int
}

// DevPtr is a raw device address, for kernel arguments.
type DevPtr uint64

const floatBytes = 4

// Alloc allocates n float32 values of device memory; their contents are undefined.
func (d *Device) Alloc(n int) (*Buffer, error) {
	if n <= 0 {
		return nil, fmt.Errorf("cuda: Alloc(%d): size must be positive", n)
	}
	b := &Buffer{dev: d, n: n}
	err := d.do(func() error {
		return d.check("cuMemAlloc_v2", d.drv.cuMemAlloc(&b.ptr, uintptr(n)*floatBytes))
	})
	if err == ErrClosed {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w (allocating %.1f MiB)", err, float64(n*floatBytes)/(1<<20))
	}
	return b, nil
}

// Len is the number of float32 values b holds.
func (b *Buffer) Len() int { return b.n }

// Ptr is the device address of element off, for kernel arguments.
func (b *Buffer) Ptr(off int) DevPtr {
	if off < 0 || off > b.n {
		panic("cuda: pointer offset out of range")
	}
	return DevPtr(b.ptr + uint64(off)*floatBytes)
}

// Free releases b; freeing twice, or after the Device closed, does nothing.
func (b *Buffer) Free() error {
	if b == nil || b.ptr == 0 {
		return nil
	}
	ptr := b.ptr
	b.ptr, b.n = 0, 0
	err := b.dev.do(func() error { return b.dev.check("cuMemFree_v2", b.dev.drv.cuMemFree(ptr)) })
	if err == ErrClosed {
		return nil
	}
	return err
}

// Upload copies src to dst starting at element off.
func (d *Device) Upload(dst *Buffer, off int, src []float32) error {
	return d.upload(d.do, dst, off, src)
}

func (d *Device) upload(run runner, dst *Buffer, off int, src []float32) error {
	d.checkRange(dst, off, len(src), "cuda: upload past the end of the buffer")
	if len(src) == 0 {
		return nil
	}
	return run(func() error {
		return d.check("cuMemcpyHtoD_v2", d.drv.cuMemcpyHtoD(uint64(dst.Ptr(off)), src, uintptr(len(src))*floatBytes))
	})
}

// Download copies len(dst) values of src, starting at element off, to dst. It waits for the
// GPU work queued before it.
func (d *Device) Download(dst []float32, src *Buffer, off int) error {
	return d.download(d.do, dst, src, off)
}

func (d *Device) download(run runner, dst []float32, src *Buffer, off int) error {
	d.checkRange(src, off, len(dst), "cuda: download past the end of the buffer")
	if len(dst) == 0 {
		return nil
	}
	return run(func() error {
		return d.check("cuMemcpyDtoH_v2", d.drv.cuMemcpyDtoH(dst, uint64(src.Ptr(off)), uintptr(len(dst))*floatBytes))
	})
}

// Zero sets n values of b from element off to 0.
func (d *Device) Zero(b *Buffer, off, n int) error {
	d.checkRange(b, off, n, "cuda: zeroing past the end of the buffer")
	if n == 0 {
		return nil
	}
	return d.do(func() error {
		return d.check("cuMemsetD32_v2", d.drv.cuMemsetD32(uint64(b.Ptr(off)), 0, uintptr(n)))
	})
}

// checkRange panics with msg unless b is this device's live buffer holding [off, off+n).
func (d *Device) checkRange(b *Buffer, off, n int, msg string) {
	if b == nil || b.ptr == 0 || b.dev != d {
		panic("cuda: buffer is nil, freed or of another device")
	}
	if off < 0 || n < 0 || off+n > b.n {
		panic(msg)
	}
}

// DMat is a row-major strided view of device memory, the twin of gemm.Mat: element (i, j) is
// value Off + i·Stride + j of Buf.
type DMat struct {
	Buf                     *Buffer
	Off, Rows, Cols, Stride int
}

// NewDMat views b as a dense rows×cols matrix.
func NewDMat(b *Buffer, rows, cols int) DMat {
	if rows*cols > b.Len() {
		panic("cuda: buffer too short for matrix")
	}
	return DMat{Buf: b, Rows: rows, Cols: cols, Stride: cols}
}

// Sub views rows [r0,r1) and columns [c0,c1) of m, keeping its stride.
func (m DMat) Sub(r0, r1, c0, c1 int) DMat {
	if r0 < 0 || c0 < 0 || r1 > m.Rows || c1 > m.Cols || r0 > r1 || c0 > c1 {
		panic("cuda: sub-matrix out of range")
	}
	return DMat{Buf: m.Buf, Off: m.Off + r0*m.Stride + c0, Rows: r1 - r0, Cols: c1 - c0, Stride: m.Stride}
}

// extent is how many values from Off the view spans.
func (m DMat) extent() int {
	if m.Rows == 0 || m.Cols == 0 {
		return 0
	}
	return (m.Rows-1)*m.Stride + m.Cols
}

func (m DMat) checkIn(d *Device) {
	if m.Stride < max(1, m.Cols) || m.Rows < 0 || m.Cols < 0 {
		panic("cuda: bad matrix stride or shape")
	}
	if m.extent() > 0 {
		d.checkRange(m.Buf, m.Off, m.extent(), "cuda: matrix extends past its buffer")
	}
}

func checkHostMat(m gemm.Mat) {
	if m.Stride < max(1, m.Cols) || m.Rows < 0 || m.Cols < 0 {
		panic("cuda: bad matrix stride or shape")
	}
	if m.Rows > 0 && m.Cols > 0 && len(m.Data) < (m.Rows-1)*m.Stride+m.Cols {
		panic("cuda: host matrix data too short")
	}
}

// UploadMat copies the host view src into the device view dst of the same shape; only the
// matrix elements move, never the padding between rows.
func (d *Device) UploadMat(dst DMat, src gemm.Mat) error {
	if dst.Rows != src.Rows || dst.Cols != src.Cols {
		panic("cuda: shape mismatch in UploadMat")
	}
	dst.checkIn(d)
	checkHostMat(src)
	if dst.extent() == 0 {
		return nil
	}
	return d.do(func() error { return d.copy2D(dst, src, true) })
}

// DownloadMat copies the device view src into the host view dst of the same shape, leaving
// dst's padding (other heads' columns, say) untouched. It waits for the GPU work queued
// before it.
func (d *Device) DownloadMat(dst gemm.Mat, src DMat) error {
	if dst.Rows != src.Rows || dst.Cols != src.Cols {
		panic("cuda: shape mismatch in DownloadMat")
	}
	src.checkIn(d)
	checkHostMat(dst)
	if src.extent() == 0 {
		return nil
	}
	return d.do(func() error { return d.copy2D(src, dst, false) })
}

// copy2D moves a matrix between host and device, on the serving goroutine. Dense views take
// one linear copy; strided ones one cuMemcpy2D, which accepts any pitch for host↔device copies.
func (d *Device) copy2D(dm DMat, hm gemm.Mat, toDevice bool) error {
	devAddr := dm.Buf.ptr + uint64(dm.Off)*floatBytes
	host := hm.Data[:(hm.Rows-1)*hm.Stride+hm.Cols]
	if (dm.Stride == dm.Cols || dm.Rows == 1) && (hm.Stride == hm.Cols || hm.Rows == 1) {
		n := uintptr(dm.Rows*dm.Cols) * floatBytes
		if toDevice {
			return d.check("cuMemcpyHtoD_v2", d.drv.cuMemcpyHtoD(devAddr, host, n))
		}
		return d.check("cuMemcpyDtoH_v2", d.drv.cuMemcpyDtoH(host, devAddr, n))
	}
	p := memcpy2D{widthInBytes: uintptr(dm.Cols) * floatBytes, height: uintptr(dm.Rows)}
	if toDevice {
		p.srcMemoryType, p.srcHost, p.srcPitch = memoryTypeHost, hostPointer(host), uintptr(hm.Stride)*floatBytes
		p.dstMemoryType, p.dstDevice, p.dstPitch = memoryTypeDevice, devAddr, uintptr(dm.Stride)*floatBytes
	} else {
		p.srcMemoryType, p.srcDevice, p.srcPitch = memoryTypeDevice, devAddr, uintptr(dm.Stride)*floatBytes
		p.dstMemoryType, p.dstHost, p.dstPitch = memoryTypeHost, hostPointer(host), uintptr(hm.Stride)*floatBytes
	}
	err := d.check("cuMemcpy2D_v2", d.drv.cuMemcpy2D(&p))
	keepAlive(host)
	return err
}

package cuda

import (
	"runtime"

	"gonum.org/v1/gonum/blas"
)

// runner runs one piece of GPU work where the context is current: Device.do hands it to the
// context's goroutine; inside a Batch it runs in place.
type runner func(func() error) error

// Batch issues a sequence of GPU calls from one goroutine without handing each to the
// context's goroutine: Device.Batch locks the calling goroutine to its thread and makes the
// context current there for the whole sequence. A hand-off costs tens of microseconds, and a
// forward pass makes hundreds of calls that each only queue work.
type Batch struct {
	d   *Device
	run runner
}

// Batch runs f with exclusive use of the device from the calling goroutine. f must make its
// GPU calls through q: a Device method called inside f waits for f forever.
func (d *Device) Batch(f func(q *Batch) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := d.check("cuCtxSetCurrent", d.drv.cuCtxSetCurrent(d.ctx)); err != nil {
		return err
	}
	// The thread goes back to the scheduler with no context current, as it came.
	defer d.drv.cuCtxSetCurrent(0)
	return f(&Batch{d: d, run: func(g func() error) error { return g() }})
}

// Device is the GPU the batch runs on.
func (q *Batch) Device() *Device { return q.d }

// Launch is Device.Launch inside the batch.
func (q *Batch) Launch(f Function, grid, block Dim3, sharedBytes int, args ...any) error {
	return q.d.launch(q.run, f, grid, block, sharedBytes, args...)
}

// SgemmStridedBatched is Device.SgemmStridedBatched inside the batch.
func (q *Batch) SgemmStridedBatched(tA, tB blas.Transpose, m, n, k int, alpha float32,
	a *Buffer, aOff, lda, strideA int, b *Buffer, bOff, ldb, strideB int,
	beta float32, c *Buffer, cOff, ldc, strideC int, batch int) error {
	return q.d.sgemmBatched(q.run, tA, tB, m, n, k, alpha, a, aOff, lda, strideA, b, bOff, ldb, strideB, beta, c, cOff, ldc, strideC, batch)
}

// Mul is Device.Mul inside the batch.
func (q *Batch) Mul(transA, transB bool, alpha float32, a, b DMat, beta float32, c DMat) error {
	return q.d.mul(q.run, transA, transB, alpha, a, b, beta, c)
}

// Upload is Device.Upload inside the batch.
func (q *Batch) Upload(dst *Buffer, off int, src []float32) error {
	return q.d.upload(q.run, dst, off, src)
}

// Download is Device.Download inside the batch.
func (q *Batch) Download(dst []float32, src *Buffer, off int) error {
	return q.d.download(q.run, dst, src, off)
}

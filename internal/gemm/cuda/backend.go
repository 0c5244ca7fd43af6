package cuda

import (
	"sync"

	"gonum.org/v1/gonum/blas"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/gemm/backend/native"
)

// Backend adapts a Device to gemm.Backend on host slices: each Sgemm uploads op(A), op(B) (and
// C when beta ≠ 0) to scratch buffers, runs cuBLAS and downloads C's elements. That costs two
// PCIe transfers per call, so it is for conformance tests and one-off products; layers that
// live on the GPU keep their data in Buffers and call Device.Sgemm.
type Backend struct {
	dev *Device

	mu      sync.Mutex // guards the scratch buffers, grown on demand and reused
	scratch [3]*Buffer // A, B, C
}

// NewBackend returns the host-slice adapter of d. Close it to free its scratch memory.
func NewBackend(d *Device) *Backend { return &Backend{dev: d} }

// Name implements gemm.Backend.
func (*Backend) Name() string { return "cublas" }

// Device is the GPU the backend runs on.
func (be *Backend) Device() *Device { return be.dev }

// Sgemm implements gemm.Backend. gemm.Backend has no error result, so a GPU failure (out of
// memory, a lost device) panics with the *Error; bad arguments panic with gonum's messages.
func (be *Backend) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !native.CheckSgemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc) {
		return
	}
	if k == 0 || alpha == 0 {
		native.ScaleC(m, n, beta, c, ldc)
		return
	}
	aRows, aCols := m, k
	if native.IsTrans(tA) {
		aRows, aCols = k, m
	}
	bRows, bCols := k, n
	if native.IsTrans(tB) {
		bRows, bCols = n, k
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	sizes := [3]int{aRows * aCols, bRows * bCols, m * n}
	for i, size := range sizes {
		if be.scratch[i] != nil && be.scratch[i].Len() >= size {
			continue
		}
		if err := be.scratch[i].Free(); err != nil {
			panic(err)
		}
		buf, err := be.dev.Alloc(size)
		if err != nil {
			panic(err)
		}
		be.scratch[i] = buf
	}
	hostA := gemm.Mat{Rows: aRows, Cols: aCols, Stride: lda, Data: a}
	hostB := gemm.Mat{Rows: bRows, Cols: bCols, Stride: ldb, Data: b}
	hostC := gemm.Mat{Rows: m, Cols: n, Stride: ldc, Data: c}
	devA := NewDMat(be.scratch[0], aRows, aCols)
	devB := NewDMat(be.scratch[1], bRows, bCols)
	devC := NewDMat(be.scratch[2], m, n)
	d := be.dev
	// One trip to the serving goroutine for the whole call.
	err := d.do(func() error {
		if err := d.copy2D(devA, hostA, true); err != nil {
			return err
		}
		if err := d.copy2D(devB, hostB, true); err != nil {
			return err
		}
		if beta != 0 { // cuBLAS does not read C when beta = 0, so its NaNs cannot leak in
			if err := d.copy2D(devC, hostC, true); err != nil {
				return err
			}
		}
		err := d.sgemmStrided(tA, tB, m, n, k, alpha, devA.Buf.ptr, aCols, 0, devB.Buf.ptr, bCols, 0, beta, devC.Buf.ptr, n, 0, 1)
		if err != nil {
			return err
		}
		return d.copy2D(devC, hostC, false)
	})
	if err != nil {
		panic(err)
	}
}

// Close frees the scratch buffers; the Device stays open.
func (be *Backend) Close() error {
	be.mu.Lock()
	defer be.mu.Unlock()
	var first error
	for i, b := range be.scratch {
		if err := b.Free(); err != nil && first == nil {
			first = err
		}
		be.scratch[i] = nil
	}
	return first
}

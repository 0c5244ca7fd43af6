// Package cuda runs GEMMs and small kernels on an NVIDIA GPU through the driver API
// (libcuda.so.1) and cuBLAS (libcublas.so.13/.12/.11), both loaded at run time with purego, so
// the resnas binary needs neither cgo nor CUDA at build time and starts on machines without
// them (Open then fails with a one-line reason and callers fall back to the CPU).
//
// A CUDA context is current per OS thread while goroutines move between threads, so one
// goroutine locked to its thread owns the context and the cuBLAS handle and runs every GPU
// call; Device's methods hand their work to it and wait. They are safe for concurrent use.
//
// Matrices are row-major like the rest of resnas; cuBLAS is column-major, so C = op(A)·op(B)
// is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ, which is the same memory read with swapped operands.
// Math is plain float32 (CUBLAS_DEFAULT_MATH, no TF32), matching the CPU backends within the
// gemmtest tolerance.
package cuda

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// Info describes the opened GPU and libraries.
type Info struct {
	Name          string // e.g. "NVIDIA H100 80GB HBM3"
	Ordinal       int
	MemBytes      int64
	DriverVersion int // CUDA version the driver supports, e.g. 12040 for 12.4
	BLASVersion   int // e.g. 120405 for cuBLAS 12.4.5
	DriverPath    string
	BLASPath      string
}

func (i Info) String() string {
	return fmt.Sprintf("%s (%.1f GiB), driver CUDA %d.%d, cuBLAS %d.%d.%d (%s)", i.Name, float64(i.MemBytes)/(1<<30),
		i.DriverVersion/1000, i.DriverVersion%1000/10, i.BLASVersion/10000, i.BLASVersion%10000/100, i.BLASVersion%100, i.BLASPath)
}

// Device is one GPU with its primary context and a cuBLAS handle, served by a goroutine locked
// to one OS thread.
type Device struct {
	drv  *driverAPI
	blas *blasAPI
	info Info

	// Owned by the serving goroutine.
	dev    int32
	ctx    uintptr
	handle uintptr

	mu     sync.Mutex // serialises callers, so one reply channel suffices
	work   chan func()
	done   chan struct{}
	closed bool
}

// ErrClosed is returned by calls on a closed Device.
var ErrClosed = errors.New("cuda: device closed")

// Error is a failed driver or cuBLAS call.
type Error struct {
	Func string // the C function, e.g. "cuMemAlloc_v2"
	Code int
	Name string // e.g. "CUDA_ERROR_OUT_OF_MEMORY"
	Msg  string // the driver's description, when it has one
}

func (e *Error) Error() string {
	if e.Msg != "" {
		return fmt.Sprintf("cuda: %s: %s (%s)", e.Func, e.Name, e.Msg)
	}
	return fmt.Sprintf("cuda: %s: %s", e.Func, e.Name)
}

// Open loads the libraries, initialises the driver and takes GPU 0's primary context (the one
// cuBLAS and the CUDA runtime also use). Errors are one line saying what is missing, e.g.
// "libcuda.so.1 not found (no NVIDIA driver)".
func Open() (*Device, error) { return openWith(defaultSearch(), 0) }

func openWith(s libSearch, ordinal int) (*Device, error) {
	drv, bl, paths, err := loadLibraries(s)
	if err != nil {
		return nil, err
	}
	d := &Device{drv: drv, blas: bl, work: make(chan func()), done: make(chan struct{})}
	d.info.DriverPath, d.info.BLASPath = paths[0], paths[1]
	d.info.Ordinal = ordinal
	ready := make(chan error)
	go d.serve(ready, ordinal)
	if err := <-ready; err != nil {
		return nil, err
	}
	return d, nil
}

// serve initialises the context on this goroutine's thread and then runs submitted work until
// Close. The thread stays locked for good: when the goroutine returns, the runtime ends the
// thread rather than reuse one that CUDA state was bound to.
func (d *Device) serve(ready chan<- error, ordinal int) {
	runtime.LockOSThread()
	if err := d.init(ordinal); err != nil {
		ready <- err
		return
	}
	ready <- nil
	for f := range d.work {
		f()
		d.done <- struct{}{}
	}
}

func (d *Device) init(ordinal int) error {
	if err := d.check("cuInit", d.drv.cuInit(0)); err != nil {
		return err
	}
	var version, count int32
	if err := d.check("cuDriverGetVersion", d.drv.cuDriverGetVersion(&version)); err != nil {
		return err
	}
	d.info.DriverVersion = int(version)
	if err := d.check("cuDeviceGetCount", d.drv.cuDeviceGetCount(&count)); err != nil {
		return err
	}
	if ordinal >= int(count) {
		return fmt.Errorf("cuda: GPU %d requested, %d present", ordinal, count)
	}
	if err := d.check("cuDeviceGet", d.drv.cuDeviceGet(&d.dev, int32(ordinal))); err != nil {
		return err
	}
	name := make([]byte, 256)
	if err := d.check("cuDeviceGetName", d.drv.cuDeviceGetName(&name[0], int32(len(name)), d.dev)); err != nil {
		return err
	}
	d.info.Name = goString(&name[0])
	var mem uintptr
	if err := d.check("cuDeviceTotalMem_v2", d.drv.cuDeviceTotalMem(&mem, d.dev)); err != nil {
		return err
	}
	d.info.MemBytes = int64(mem)
	if err := d.check("cuDevicePrimaryCtxRetain", d.drv.cuDevicePrimaryCtxRetain(&d.ctx, d.dev)); err != nil {
		return err
	}
	if err := d.check("cuCtxSetCurrent", d.drv.cuCtxSetCurrent(d.ctx)); err != nil {
		d.drv.cuDevicePrimaryCtxRelease(d.dev)
		return err
	}
	if err := d.checkBLAS("cublasCreate_v2", d.blas.create(&d.handle)); err != nil {
		d.drv.cuDevicePrimaryCtxRelease(d.dev)
		return fmt.Errorf("%w (a cuBLAS newer than driver CUDA %d.%d?)", err, version/1000, version%1000/10)
	}
	const cublasDefaultMath = 0 // plain float32: TF32 would shift results by ~1e-3
	if err := d.checkBLAS("cublasSetMathMode", d.blas.setMathMode(d.handle, cublasDefaultMath)); err != nil {
		d.shutdown()
		return err
	}
	var blasVersion int32
	if err := d.checkBLAS("cublasGetVersion_v2", d.blas.getVersion(d.handle, &blasVersion)); err != nil {
		d.shutdown()
		return err
	}
	d.info.BLASVersion = int(blasVersion)
	return nil
}

// Info describes the GPU and the libraries in use.
func (d *Device) Info() Info { return d.info }

// do runs f on the context's thread and waits for it. f must not call Device methods (they
// would wait for this same goroutine).
func (d *Device) do(f func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	var err error
	d.work <- func() { err = f() }
	<-d.done
	return err
}

// Synchronize waits for all queued GPU work, returning any error it raised.
func (d *Device) Synchronize() error {
	return d.do(func() error { return d.check("cuCtxSynchronize", d.drv.cuCtxSynchronize()) })
}

// Close waits for queued work, destroys the cuBLAS handle and releases the context, which frees
// every Buffer and Module still allocated. Later calls return ErrClosed; Close is idempotent.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	var err error
	d.work <- func() { err = d.shutdown() }
	<-d.done
	d.closed = true
	close(d.work)
	return err
}

func (d *Device) shutdown() error {
	errs := []error{
		d.check("cuCtxSynchronize", d.drv.cuCtxSynchronize()),
		d.checkBLAS("cublasDestroy_v2", d.blas.destroy(d.handle)),
		d.check("cuDevicePrimaryCtxRelease_v2", d.drv.cuDevicePrimaryCtxRelease(d.dev)),
	}
	return errors.Join(errs...)
}

// check turns a CUresult into an *Error naming fn.
func (d *Device) check(fn string, r cuResult) error {
	if r == 0 {
		return nil
	}
	e := &Error{Func: fn, Code: int(r), Name: fmt.Sprintf("CUresult %d", int(r))}
	var name, msg *byte
	if d.drv.cuGetErrorName(r, &name) == 0 && name != nil {
		e.Name = goString(name)
	}
	if d.drv.cuGetErrorString(r, &msg) == 0 && msg != nil {
		e.Msg = goString(msg)
	}
	return e
}

// checkBLAS turns a cublasStatus_t into an *Error naming fn.
func (d *Device) checkBLAS(fn string, s blasStatus) error {
	if s == 0 {
		return nil
	}
	names := map[blasStatus]string{
		1: "CUBLAS_STATUS_NOT_INITIALIZED", 3: "CUBLAS_STATUS_ALLOC_FAILED", 7: "CUBLAS_STATUS_INVALID_VALUE",
		8: "CUBLAS_STATUS_ARCH_MISMATCH", 11: "CUBLAS_STATUS_MAPPING_ERROR", 13: "CUBLAS_STATUS_EXECUTION_FAILED",
		14: "CUBLAS_STATUS_INTERNAL_ERROR", 15: "CUBLAS_STATUS_NOT_SUPPORTED", 16: "CUBLAS_STATUS_LICENSE_ERROR",
	}
	name, ok := names[s]
	if !ok {
		name = fmt.Sprintf("cublasStatus %d", int(s))
	}
	return &Error{Func: fn, Code: int(s), Name: name}
}

// OpenLibraries is Open with the driver and cuBLAS taken from the given files only, for a CUDA
// installation outside the usual places, or a stand-in.
func OpenLibraries(driver, blas string) (*Device, error) {
	return openWith(libSearch{driver: []string{driver}, blas: []string{blas}}, 0)
}

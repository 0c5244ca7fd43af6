package cuda

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"github.com/resnas/resnas/internal/gemm/backend/native"
)

// Library names, in probe order: the driver first (absent means no GPU), then the newest
// cuBLAS found.
const driverLib = "libcuda.so.1"

func blasLibs() []string { return []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so.11"} }

// cuResult is the driver's CUresult; 0 is CUDA_SUCCESS.
type cuResult int32

// blasStatus is cublasStatus_t; 0 is CUBLAS_STATUS_SUCCESS.
type blasStatus int32

// driverAPI holds the driver functions resnas uses, bound with purego. Names ending in _v2 are
// the symbols cuda.h maps the plain names to on 64-bit systems.
type driverAPI struct {
	cuInit                    func(flags uint32) cuResult
	cuDriverGetVersion        func(version *int32) cuResult
	cuDeviceGetCount          func(count *int32) cuResult
	cuDeviceGet               func(dev *int32, ordinal int32) cuResult
	cuDeviceGetName           func(name *byte, length int32, dev int32) cuResult
	cuDeviceTotalMem          func(bytes *uintptr, dev int32) cuResult
	cuDevicePrimaryCtxRetain  func(ctx *uintptr, dev int32) cuResult
	cuDevicePrimaryCtxRelease func(dev int32) cuResult
	cuCtxSetCurrent           func(ctx uintptr) cuResult
	cuCtxSynchronize          func() cuResult
	cuMemAlloc                func(dptr *uint64, bytes uintptr) cuResult
	cuMemFree                 func(dptr uint64) cuResult
	cuMemcpyHtoD              func(dst uint64, src []float32, bytes uintptr) cuResult
	cuMemcpyDtoH              func(dst []float32, src uint64, bytes uintptr) cuResult
	cuMemcpy2D                func(p *memcpy2D) cuResult
	cuMemsetD32               func(dst uint64, value uint32, count uintptr) cuResult
	cuModuleLoadDataEx        func(mod *uintptr, image *byte, numOptions uint32, options *int32, values *uintptr) cuResult
	cuModuleUnload            func(mod uintptr) cuResult
	cuModuleGetFunction       func(fn *uintptr, mod uintptr, name string) cuResult
	cuLaunchKernel            func(f uintptr, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes uint32, stream uintptr, params *uint64, extra uintptr) cuResult
	cuGetErrorName            func(r cuResult, name **byte) cuResult
	cuGetErrorString          func(r cuResult, msg **byte) cuResult
}

func (d *driverAPI) symbols() []native.Symbol {
	return []native.Symbol{
		{Name: "cuInit", Fn: &d.cuInit},
		{Name: "cuDriverGetVersion", Fn: &d.cuDriverGetVersion},
		{Name: "cuDeviceGetCount", Fn: &d.cuDeviceGetCount},
		{Name: "cuDeviceGet", Fn: &d.cuDeviceGet},
		{Name: "cuDeviceGetName", Fn: &d.cuDeviceGetName},
		{Name: "cuDeviceTotalMem_v2", Fn: &d.cuDeviceTotalMem},
		{Name: "cuDevicePrimaryCtxRetain", Fn: &d.cuDevicePrimaryCtxRetain},
		{Name: "cuDevicePrimaryCtxRelease_v2", Fn: &d.cuDevicePrimaryCtxRelease},
		{Name: "cuCtxSetCurrent", Fn: &d.cuCtxSetCurrent},
		{Name: "cuCtxSynchronize", Fn: &d.cuCtxSynchronize},
		{Name: "cuMemAlloc_v2", Fn: &d.cuMemAlloc},
		{Name: "cuMemFree_v2", Fn: &d.cuMemFree},
		{Name: "cuMemcpyHtoD_v2", Fn: &d.cuMemcpyHtoD},
		{Name: "cuMemcpyDtoH_v2", Fn: &d.cuMemcpyDtoH},
		{Name: "cuMemcpy2D_v2", Fn: &d.cuMemcpy2D},
		{Name: "cuMemsetD32_v2", Fn: &d.cuMemsetD32},
		{Name: "cuModuleLoadDataEx", Fn: &d.cuModuleLoadDataEx},
		{Name: "cuModuleUnload", Fn: &d.cuModuleUnload},
		{Name: "cuModuleGetFunction", Fn: &d.cuModuleGetFunction},
		{Name: "cuLaunchKernel", Fn: &d.cuLaunchKernel},
		{Name: "cuGetErrorName", Fn: &d.cuGetErrorName},
		{Name: "cuGetErrorString", Fn: &d.cuGetErrorString},
	}
}

// blasAPI holds the cuBLAS functions resnas uses. Scalars are passed by host pointer
// (CUBLAS_POINTER_MODE_HOST, the default): cuBLAS reads them before the call returns.
type blasAPI struct {
	create              func(handle *uintptr) blasStatus
	destroy             func(handle uintptr) blasStatus
	getVersion          func(handle uintptr, version *int32) blasStatus
	setMathMode         func(handle uintptr, mode int32) blasStatus
	sgemm               func(handle uintptr, tA, tB, m, n, k int32, alpha *float32, a uint64, lda int32, b uint64, ldb int32, beta *float32, c uint64, ldc int32) blasStatus
	sgemmStridedBatched func(handle uintptr, tA, tB, m, n, k int32, alpha *float32, a uint64, lda int32, strideA int64, b uint64, ldb int32, strideB int64, beta *float32, c uint64, ldc int32, strideC int64, batch int32) blasStatus
}

func (b *blasAPI) symbols() []native.Symbol {
	return []native.Symbol{
		{Name: "cublasCreate_v2", Fn: &b.create},
		{Name: "cublasDestroy_v2", Fn: &b.destroy},
		{Name: "cublasGetVersion_v2", Fn: &b.getVersion},
		{Name: "cublasSetMathMode", Fn: &b.setMathMode},
		{Name: "cublasSgemm_v2", Fn: &b.sgemm},
		{Name: "cublasSgemmStridedBatched", Fn: &b.sgemmStridedBatched},
	}
}

// memcpy2D is CUDA_MEMCPY2D (cuda.h) on a 64-bit system: size_t fields, a 4-byte enum padded
// to 8, 128 bytes in all.
type memcpy2D struct {
	srcXInBytes   uintptr
	srcY          uintptr
	srcMemoryType uint32
	_             uint32
	srcHost       unsafe.Pointer
	srcDevice     uint64
	srcArray      uintptr
	srcPitch      uintptr
	dstXInBytes   uintptr
	dstY          uintptr
	dstMemoryType uint32
	_             uint32
	dstHost       unsafe.Pointer
	dstDevice     uint64
	dstArray      uintptr
	dstPitch      uintptr
	widthInBytes  uintptr
	height        uintptr
}

// CUmemorytype values.
const (
	memoryTypeHost   = 1
	memoryTypeDevice = 2
)

// libSearch lists the files to try for each library, in order.
type libSearch struct {
	driver []string
	blas   []string
}

// defaultSearch honours LD_LIBRARY_PATH, then the loader's own search, then the places CUDA and
// pip wheels (PyTorch's nvidia-cublas-cu12, the CUDA-13 nvidia/cu13 layout) put libraries.
func defaultSearch() libSearch {
	ld := os.Getenv("LD_LIBRARY_PATH")
	driverDirs := []string{"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/aarch64-linux-gnu", "/usr/lib/wsl/lib"}
	blasDirs := []string{
		"/usr/local/cuda/lib64",
		"/usr/local/cuda/targets/*-linux/lib",
		"/usr/local/cuda-*/lib64",
		"/usr/lib/x86_64-linux-gnu",
		"/usr/lib64",
	}
	var pyRoots []string
	for _, env := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		if v := os.Getenv(env); v != "" {
			pyRoots = append(pyRoots, v)
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		pyRoots = append(pyRoots, filepath.Join(home, ".local"))
	}
	pyRoots = append(pyRoots, "/usr/local", "/usr", "/opt/conda")
	for _, root := range pyRoots {
		for _, sp := range []string{"lib/python3*/site-packages", "lib/python3*/dist-packages", "lib/python3/dist-packages"} {
			for _, sub := range []string{"nvidia/cublas/lib", "nvidia/cu13/lib"} {
				blasDirs = append(blasDirs, filepath.Join(root, sp, sub))
			}
		}
	}
	var s libSearch
	s.driver = native.Candidates(driverLib, ld, driverDirs)
	for _, name := range blasLibs() {
		s.blas = append(s.blas, native.Candidates(name, ld, blasDirs)...)
	}
	return s
}

// loadLibraries opens and binds the driver and cuBLAS, or says in one line which is missing.
func loadLibraries(s libSearch) (*driverAPI, *blasAPI, [2]string, error) {
	var paths [2]string
	drvLib, err := native.Open(s.driver)
	if errors.Is(err, native.ErrNotFound) {
		return nil, nil, paths, ErrNoDriver
	}
	if err != nil {
		return nil, nil, paths, fmt.Errorf("%s: %v", driverLib, err)
	}
	drv := &driverAPI{}
	if err := drvLib.Bind(drv.symbols()...); err != nil {
		return nil, nil, paths, err
	}
	var version int32
	if drv.cuDriverGetVersion(&version) != 0 {
		version = 0
	}
	blasLib, err := native.Open(compatibleBLAS(s.blas, int(version)))
	if errors.Is(err, native.ErrNotFound) {
		return nil, nil, paths, fmt.Errorf("no cuBLAS that driver CUDA %d.%d runs (libcublas.so.13, .12 or .11, not newer than the driver) found: install cuBLAS from the CUDA toolkit or pip nvidia-cublas-cu12, or set LD_LIBRARY_PATH", version/1000, version%1000/10)
	}
	if err != nil {
		return nil, nil, paths, fmt.Errorf("cuBLAS: %v", err)
	}
	bl := &blasAPI{}
	if err := blasLib.Bind(bl.symbols()...); err != nil {
		return nil, nil, paths, err
	}
	paths[0], paths[1] = drvLib.File("cuInit"), blasLib.File("cublasCreate_v2")
	return drv, bl, paths, nil
}

// compatibleBLAS drops cuBLAS libraries of a CUDA major version newer than the driver's (a
// pip cu13 wheel on a CUDA 12 driver loads, then fails in cublasCreate), so an older one that
// works is found instead. Without a driver version all stay.
func compatibleBLAS(candidates []string, driverVersion int) []string {
	if driverVersion <= 0 {
		return candidates
	}
	var out []string
	for _, c := range candidates {
		base := filepath.Base(c)
		major, err := strconv.Atoi(strings.TrimPrefix(base, "libcublas.so."))
		if err == nil && major*1000 > driverVersion {
			continue
		}
		out = append(out, c)
	}
	return out
}

// ErrNoDriver is Open's error on a machine without the NVIDIA driver: the normal case of a
// CPU-only machine, which callers choosing automatically need not mention.
var ErrNoDriver = errors.New(driverLib + " not found (no NVIDIA driver)")

// goString copies a NUL-terminated C string.
func goString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

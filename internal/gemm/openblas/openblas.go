// Package openblas is the GEMM backend that calls OpenBLAS's cblas_sgemm in libopenblas.so.0,
// loaded at run time with purego: no cgo, so the resnas binary still builds with
// CGO_ENABLED=0 and runs (on pure Go) where OpenBLAS is not installed. On linux/amd64
// cblas_sgemm itself is called through internal/ccall, which does not allocate.
package openblas

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/cpu"
	"gonum.org/v1/gonum/blas"

	"github.com/resnas/resnas/internal/gemm/backend/native"
)

// LibName is the shared library Open looks for.
const LibName = "libopenblas.so.0"

// searchDirs are the directories tried after LD_LIBRARY_PATH and the loader's own search:
// Debian's alternatives may point libopenblas.so.0 elsewhere or nowhere, so the pthread
// variant's real directory comes first.
func searchDirs() []string {
	return []string{
		"/usr/lib/x86_64-linux-gnu/openblas-pthread",
		"/usr/lib/x86_64-linux-gnu",
		"/usr/lib/aarch64-linux-gnu/openblas-pthread",
		"/usr/lib/aarch64-linux-gnu",
		"/usr/lib64",
		"/usr/local/lib",
		"/opt/OpenBLAS/lib",
	}
}

// CBLAS enum values (cblas.h).
const (
	cblasRowMajor = 101
	cblasNoTrans  = 111
	cblasTrans    = 112
)

// Backend calls OpenBLAS. Its methods are safe for concurrent use, as OpenBLAS's are.
type Backend struct {
	path       string
	sgemm      cblasSgemm
	setThreads func(n int32)
	getThreads func() int32
	getConfig  func() string
}

// Open loads OpenBLAS. The error is one line meant for users, saying how to get it.
func Open() (*Backend, error) {
	return open(native.Candidates(LibName, os.Getenv("LD_LIBRARY_PATH"), searchDirs()))
}

func open(candidates []string) (*Backend, error) {
	hintCoreType()
	lib, err := native.Open(candidates)
	if errors.Is(err, native.ErrNotFound) {
		return nil, fmt.Errorf("%s %w (apt-get install libopenblas0); using pure Go", LibName, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v; using pure Go", LibName, err)
	}
	be := &Backend{path: lib.File("cblas_sgemm")}
	if be.sgemm, err = bindSgemm(lib); err != nil {
		return nil, fmt.Errorf("%v; using pure Go", err)
	}
	err = lib.Bind(
		native.Symbol{Name: "openblas_set_num_threads", Fn: &be.setThreads},
		native.Symbol{Name: "openblas_get_num_threads", Fn: &be.getThreads},
		native.Symbol{Name: "openblas_get_config", Fn: &be.getConfig},
	)
	if err != nil {
		return nil, fmt.Errorf("%v; using pure Go", err)
	}
	return be, nil
}

// hintCoreType tells a DYNAMIC_ARCH OpenBLAS which kernels to use, from the CPU's features,
// unless the user has set OPENBLAS_CORETYPE. OpenBLAS picks its kernels once, when the library
// is loaded, from the CPU's family and model; a model its release does not know (a newer CPU,
// or a VM's generic "Intel Xeon Processor") falls back to the SSE3 "Prescott" kernels. On this
// project's 2-vCPU AVX-512 machines OpenBLAS 0.3.21 does so: a 1024³ sgemm runs at ~12–20
// GFLOP/s against ~130–145 with the SkylakeX kernels. The hint names the kernels a known CPU
// with the same features gets (every AVX-512 Intel target up to Sapphire Rapids uses the
// SkylakeX sgemm; Zen and Haswell-class CPUs the Haswell one), so where detection works it
// changes nothing. OpenBLAS reads the variable with getenv, which os.Setenv reaches both with
// cgo and with purego's fakecgo.
func hintCoreType() {
	if runtime.GOARCH != "amd64" || os.Getenv("OPENBLAS_CORETYPE") != "" {
		return
	}
	if core := coreTypeFor(cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL,
		cpu.X86.HasAVX2 && cpu.X86.HasFMA); core != "" {
		os.Setenv("OPENBLAS_CORETYPE", core)
	}
}

// coreTypeFor names OpenBLAS's kernels for a CPU with AVX-512 (F, BW, DQ, VL) or AVX2+FMA;
// "" leaves the choice to OpenBLAS.
func coreTypeFor(avx512, avx2 bool) string {
	switch {
	case avx512:
		return "SkylakeX"
	case avx2:
		return "Haswell"
	}
	return ""
}

// Name implements gemm.Backend.
func (*Backend) Name() string { return "openblas" }

// Path is the library file that was loaded.
func (b *Backend) Path() string { return b.path }

// SetThreads sets OpenBLAS's thread count for every later call (process-wide: OpenBLAS keeps it
// in a global). Callers that parallelise in Go set 1.
func (b *Backend) SetThreads(n int) {
	b.setThreads(int32(max(1, n)))
}

// Threads is OpenBLAS's current thread count.
func (b *Backend) Threads() int { return int(b.getThreads()) }

// Config is OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY
// Haswell MAX_THREADS=64", for `resnas version`.
func (b *Backend) Config() string { return strings.TrimSpace(b.getConfig()) }

// Sgemm implements gemm.Backend: row-major C = alpha·op(A)·op(B) + beta·C. Arguments are
// checked in Go first, with gonum's panic messages, because OpenBLAS would only print a
// warning, and a short slice would let it read or write past Go memory.
func (b *Backend) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int) {
	if !native.CheckSgemm(tA, tB, m, n, k, len(a), lda, len(bb), ldb, len(c), ldc) {
		return
	}
	if k == 0 || alpha == 0 {
		// Nothing of A or B contributes; doing it here keeps the reference-BLAS meaning of
		// beta = 0 (NaNs in C are overwritten) without relying on the library's quick paths.
		native.ScaleC(m, n, beta, c, ldc)
		return
	}
	b.sgemm.call(cblasRowMajor, cblasOp(tA), cblasOp(tB), int32(m), int32(n), int32(k),
		alpha, a, int32(lda), bb, int32(ldb), beta, c, int32(ldc))
}

func cblasOp(t blas.Transpose) int32 {
	if native.IsTrans(t) {
		return cblasTrans
	}
	return cblasNoTrans
}

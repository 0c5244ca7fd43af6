// Package backend picks the GEMM backend at run time: CUDA when asked for (or, with "auto",
// when a GPU works), else OpenBLAS when its library loads, else gonum's pure Go, recording a
// one-line note for every fallback so users see why they got the backend they got.
package backend

import (
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/gemm/cuda"
	"github.com/resnas/resnas/internal/gemm/gonum"
	"github.com/resnas/resnas/internal/gemm/openblas"
)

// Options says what the user asked for.
type Options struct {
	// Device is "cpu", "cuda" or "auto" (the default, ""): auto tries CUDA and falls back to
	// the CPU, cuda fails without a GPU.
	Device string
	// Threads is OpenBLAS's thread count; 0 keeps its default (all cores). Set 1 when the
	// caller parallelises over rows or heads itself.
	Threads int
	// DisableOpenBLAS forces pure Go on the CPU.
	DisableOpenBLAS bool
	// Backend forces one backend, "gonum", "openblas" or "cublas", failing if it cannot load;
	// "" chooses. main fills it from RESNAS_GEMM for tests and benchmarks.
	Backend string

	// Openers, replaced in tests to simulate missing libraries; nil means the real ones.
	openCUDA     func() (*cuda.Device, error)
	openOpenBLAS func() (*openblas.Backend, error)
}

// Selected is the chosen backend and how it was chosen.
type Selected struct {
	Backend gemm.Backend
	Name    string // "gonum", "openblas" or "cublas"
	Device  string // "cpu" or "cuda"
	// Threads is how many CPU threads a GEMM uses: OpenBLAS's count, GOMAXPROCS for gonum,
	// 0 on the GPU.
	Threads int
	// Detail describes the library, for `resnas version`: OpenBLAS's build configuration and
	// path, or the GPU, driver and cuBLAS versions.
	Detail string
	// Notes are one-line reasons for each fallback taken, e.g. "cuda: libcuda.so.1 not found
	// (no NVIDIA driver)".
	Notes []string
	// CUDA is the GPU when Device is "cuda", for layers that keep their data on it.
	CUDA *cuda.Device
	// CUDAErr is why CUDA was not used when it was tried (errors.Is cuda.ErrNoDriver on a
	// machine without an NVIDIA driver).
	CUDAErr error
	// OpenBLASErr is why OpenBLAS was not used when it was tried (errors.Is
	// native.ErrNotFound where it is not installed, an ordinary configuration).
	OpenBLASErr error

	close func() error
}

// Close releases the GPU, if one was opened. CPU backends need no closing.
func (s Selected) Close() error {
	if s.close == nil {
		return nil
	}
	return s.close()
}

// Open chooses and opens a backend. Errors are one line: a bad option value, or a backend that
// was required (Device "cuda", or Backend set) and cannot load.
func Open(opts Options) (Selected, error) {
	if opts.openCUDA == nil {
		opts.openCUDA = cuda.Open
	}
	if opts.openOpenBLAS == nil {
		opts.openOpenBLAS = openblas.Open
	}
	switch opts.Device {
	case "":
		opts.Device = "auto"
	case "auto", "cpu", "cuda":
	default:
		return Selected{}, fmt.Errorf("device %q: want cpu, cuda or auto", opts.Device)
	}
	switch opts.Backend {
	case "":
	case "gonum", "openblas":
		if opts.Device == "cuda" {
			return Selected{}, fmt.Errorf("gemm backend %s runs on the CPU but device cuda was asked for", opts.Backend)
		}
		if opts.Backend == "gonum" {
			return pureGo(nil), nil
		}
		be, err := opts.openOpenBLAS()
		if err != nil {
			return Selected{}, fmt.Errorf("openblas: %s", strings.TrimSuffix(err.Error(), "; using pure Go"))
		}
		return withOpenBLAS(be, opts.Threads, nil), nil
	case "cublas":
		if opts.Device == "cpu" {
			return Selected{}, errors.New("gemm backend cublas runs on the GPU but device cpu was asked for")
		}
		opts.Device = "cuda"
	default:
		return Selected{}, fmt.Errorf("gemm backend %q (RESNAS_GEMM?): want gonum, openblas or cublas", opts.Backend)
	}

	var notes []string
	var cudaErr error
	if opts.Device != "cpu" {
		dev, err := opts.openCUDA()
		if err == nil {
			return withCUDA(dev), nil
		}
		note := prefixed("cuda", err)
		if opts.Device == "cuda" {
			return Selected{}, errors.New(note)
		}
		notes = append(notes, note)
		cudaErr = err
	}
	var sel Selected
	if opts.DisableOpenBLAS {
		sel = pureGo(append(notes, "openblas: disabled by option"))
	} else if be, err := opts.openOpenBLAS(); err != nil {
		sel = pureGo(append(notes, prefixed("openblas", err)))
		sel.OpenBLASErr = err
	} else {
		sel = withOpenBLAS(be, opts.Threads, notes)
	}
	sel.CUDAErr = cudaErr
	return sel, nil
}

func pureGo(notes []string) Selected {
	n := runtime.GOMAXPROCS(0)
	return Selected{Backend: gonum.New(), Name: "gonum", Device: "cpu", Threads: n,
		Detail: fmt.Sprintf("pure Go (gonum), %d threads", n), Notes: notes}
}

func withOpenBLAS(be *openblas.Backend, threads int, notes []string) Selected {
	if threads > 0 {
		be.SetThreads(threads)
	}
	return Selected{Backend: be, Name: be.Name(), Device: "cpu", Threads: be.Threads(),
		Detail: fmt.Sprintf("%s (%s)", be.Config(), be.Path()), Notes: notes}
}

func withCUDA(dev *cuda.Device) Selected {
	be := cuda.NewBackend(dev)
	return Selected{Backend: be, Name: be.Name(), Device: "cuda", Detail: dev.Info().String(), CUDA: dev,
		close: func() error { return errors.Join(be.Close(), dev.Close()) }}
}

// prefixed is err's message starting with "area: " once.
func prefixed(area string, err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, area+": ") {
		return msg
	}
	return area + ": " + msg
}

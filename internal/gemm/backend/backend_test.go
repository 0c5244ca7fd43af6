package backend

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"

	"github.com/resnas/resnas/internal/gemm/backend/native"
	"github.com/resnas/resnas/internal/gemm/cuda"
	"github.com/resnas/resnas/internal/gemm/openblas"
)

var (
	noGPU = func() (*cuda.Device, error) {
		return nil, errors.New("libcuda.so.1 not found (no NVIDIA driver)")
	}
	noOpenBLAS = func() (*openblas.Backend, error) {
		return nil, fmt.Errorf("libopenblas.so.0 %w (apt-get install libopenblas0); using pure Go", native.ErrNotFound)
	}
)

// mustNotOpen fails the test if an opener that the options rule out is called.
func mustNotOpen[T any](t *testing.T, what string) func() (T, error) {
	return func() (T, error) {
		t.Errorf("%s was tried although the options rule it out", what)
		var zero T
		return zero, errors.New("not allowed")
	}
}

func TestAutoFallsBackToCPUWithNote(t *testing.T) {
	sel, err := Open(Options{Device: "auto", openCUDA: noGPU, openOpenBLAS: noOpenBLAS})
	if err != nil {
		t.Fatal(err)
	}
	defer sel.Close()
	want := []string{
		"cuda: libcuda.so.1 not found (no NVIDIA driver)",
		"openblas: libopenblas.so.0 not found (apt-get install libopenblas0); using pure Go",
	}
	if sel.Name != "gonum" || sel.Device != "cpu" || strings.Join(sel.Notes, "|") != strings.Join(want, "|") {
		t.Fatalf("auto without GPU or OpenBLAS: %s on %s, notes %q; want gonum on cpu, notes %q", sel.Name, sel.Device, sel.Notes, want)
	}
	if sel.Threads < 1 || sel.CUDA != nil {
		t.Errorf("Threads = %d, CUDA = %v", sel.Threads, sel.CUDA)
	}
	// Callers tell "not installed", which they need not report, from a broken install.
	if !errors.Is(sel.OpenBLASErr, native.ErrNotFound) {
		t.Errorf("OpenBLASErr = %v, want it to wrap native.ErrNotFound", sel.OpenBLASErr)
	}
}

func TestCUDARequiredFails(t *testing.T) {
	_, err := Open(Options{Device: "cuda", openCUDA: noGPU, openOpenBLAS: mustNotOpen[*openblas.Backend](t, "OpenBLAS")})
	if want := "cuda: libcuda.so.1 not found (no NVIDIA driver)"; err == nil || err.Error() != want {
		t.Fatalf("device cuda without GPU: %v, want %q", err, want)
	}
}

func TestCPUSkipsCUDA(t *testing.T) {
	sel, err := Open(Options{Device: "cpu", openCUDA: mustNotOpen[*cuda.Device](t, "CUDA"), openOpenBLAS: noOpenBLAS})
	if err != nil {
		t.Fatal(err)
	}
	if sel.Name != "gonum" || len(sel.Notes) != 1 || !strings.HasPrefix(sel.Notes[0], "openblas: ") {
		t.Fatalf("cpu without OpenBLAS: %s, notes %q", sel.Name, sel.Notes)
	}
}

func TestDisableOpenBLAS(t *testing.T) {
	sel, err := Open(Options{Device: "cpu", DisableOpenBLAS: true, openOpenBLAS: mustNotOpen[*openblas.Backend](t, "OpenBLAS")})
	if err != nil {
		t.Fatal(err)
	}
	if sel.Name != "gonum" {
		t.Fatalf("DisableOpenBLAS gave %s", sel.Name)
	}
}

func TestForcedBackend(t *testing.T) {
	sel, err := Open(Options{Backend: "gonum", openCUDA: mustNotOpen[*cuda.Device](t, "CUDA"), openOpenBLAS: mustNotOpen[*openblas.Backend](t, "OpenBLAS")})
	if err != nil || sel.Name != "gonum" || len(sel.Notes) != 0 {
		t.Fatalf("Backend gonum: %v, %s, notes %q", err, sel.Name, sel.Notes)
	}
	_, err = Open(Options{Backend: "openblas", openOpenBLAS: noOpenBLAS})
	if want := "openblas: libopenblas.so.0 not found (apt-get install libopenblas0)"; err == nil || err.Error() != want {
		t.Errorf("Backend openblas without the library: %v, want %q", err, want)
	}
	_, err = Open(Options{Backend: "cublas", openCUDA: noGPU, openOpenBLAS: mustNotOpen[*openblas.Backend](t, "OpenBLAS")})
	if err == nil || !strings.HasPrefix(err.Error(), "cuda: libcuda.so.1 not found") {
		t.Errorf("Backend cublas without a GPU: %v", err)
	}
}

func TestBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Device: "gpu"}, `device "gpu": want cpu, cuda or auto`},
		{Options{Backend: "mkl"}, `gemm backend "mkl" (RESNAS_GEMM?): want gonum, openblas or cublas`},
		{Options{Device: "cuda", Backend: "gonum"}, "gemm backend gonum runs on the CPU but device cuda was asked for"},
		{Options{Device: "cpu", Backend: "cublas"}, "gemm backend cublas runs on the GPU but device cpu was asked for"},
	} {
		tc.opts.openCUDA = mustNotOpen[*cuda.Device](t, "CUDA")
		tc.opts.openOpenBLAS = mustNotOpen[*openblas.Backend](t, "OpenBLAS")
		if _, err := Open(tc.opts); err == nil || err.Error() != tc.want {
			t.Errorf("Open(%+v): %v, want %q", tc.opts, err, tc.want)
		}
	}
}

// TestRealProbe runs the real openers: whatever this machine has, the selection must be
// consistent with its notes and its backend must compute.
func TestRealProbe(t *testing.T) {
	sel, err := Open(Options{Device: "auto", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := sel.Close(); err != nil {
			t.Error(err)
		}
	}()
	t.Logf("%s on %s, %d threads: %s; notes %q", sel.Name, sel.Device, sel.Threads, sel.Detail, sel.Notes)
	_, cudaErr := cuda.Open()
	switch {
	case sel.Device == "cuda":
		if sel.CUDA == nil || sel.Name != "cublas" {
			t.Errorf("device cuda with backend %s and CUDA %v", sel.Name, sel.CUDA)
		}
	case cudaErr != nil:
		if len(sel.Notes) == 0 || sel.Notes[0] != prefixed("cuda", cudaErr) {
			t.Errorf("CPU fallback notes %q, want first %q", sel.Notes, prefixed("cuda", cudaErr))
		}
	}
	if sel.Name == "openblas" && sel.Threads != 1 {
		t.Errorf("OpenBLAS with Threads 1 reports %d threads", sel.Threads)
	}
	for _, n := range sel.Notes {
		if strings.Contains(n, "\n") {
			t.Errorf("note %q is not one line", n)
		}
	}
	c := []float32{0}
	sel.Backend.Sgemm(blas.NoTrans, blas.Trans, 1, 1, 3, 0.5, []float32{1, 2, 3}, 3, []float32{4, 5, 6}, 3, 0, c, 1)
	if c[0] != 16 {
		t.Errorf("%s computes 0.5·[1 2 3]·[4 5 6]ᵀ = %g, want 16", sel.Name, c[0])
	}
}

// Package cudafake builds a CPU stand-in for libcuda.so.1 and libcublas (fakecuda.c.in) so that
// GPU code can be tested on machines without a GPU. It is a test helper, like httptest: the
// product never loads it.
package cudafake

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// The source is named .c.in because a Go package without cgo may not hold .c files.
//
//go:embed fakecuda.c.in
var source string

// Libs are the paths of a built fake: Driver is libcuda.so.1, BLAS a libcublas.so.12 link to
// the same object (one loaded library, so the cuBLAS half sees the driver half's context).
type Libs struct {
	Dir, Driver, BLAS string
}

// ErrNoCompiler is returned by Build on machines without a C compiler; tests skip then.
var ErrNoCompiler = errors.New("no C compiler (cc) to build the fake CUDA driver")

// Build compiles the fake into dir. With kernels, the source of GPU kernels written for the
// fake's thread-by-thread simulation (see fakecuda.c.in), launches of those kernels run on the CPU.
func Build(dir, kernels string) (Libs, error) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		return Libs{}, ErrNoCompiler
	}
	src := filepath.Join(dir, "fakecuda.c")
	if err := os.WriteFile(src, []byte(source), 0o644); err != nil {
		return Libs{}, err
	}
	args := []string{"-shared", "-fPIC", "-O2", "-o", filepath.Join(dir, "libcuda.so.1")}
	if kernels != "" {
		if err := os.WriteFile(filepath.Join(dir, "kernels.cu"), []byte(kernels), 0o644); err != nil {
			return Libs{}, err
		}
		args = append(args, "-DRESNAS_SIM_KERNELS", "-I", dir)
	}
	args = append(args, src, "-lpthread", "-lm")
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		return Libs{}, fmt.Errorf("building the fake CUDA driver: %v: %s", err, out)
	}
	libs := Libs{Dir: dir, Driver: filepath.Join(dir, "libcuda.so.1"), BLAS: filepath.Join(dir, "libcublas.so.12")}
	if err := os.Symlink("libcuda.so.1", libs.BLAS); err != nil {
		return Libs{}, err
	}
	return libs, nil
}

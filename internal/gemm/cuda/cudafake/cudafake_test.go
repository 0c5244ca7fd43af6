package cudafake_test

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/resnas/resnas/internal/gemm/cuda"
	"github.com/resnas/resnas/internal/gemm/cuda/cudafake"
)

// simKernels is kernel source in the form Build expects (see internal/gpukernels/kernels.cu):
// plain C run by the fake thread by thread, with a sim_kernels table naming each launcher.
const simKernels = `
extern __thread unsigned sim_tid, sim_ntid, sim_ctaid, sim_nctaid;

/* thread_ids(y, n): y[i] = 1000·block + thread for the thread i = block·ntid + thread < n. */
static void run_thread_ids(void **params) {
	float *y = *(float **)params[0];
	unsigned n = *(unsigned *)params[1];
	unsigned i = sim_ctaid * sim_ntid + sim_tid;
	if (i < n) y[i] = 1000.0f * sim_ctaid + sim_tid;
	if (i == 0) y[n] = (float)sim_nctaid; /* the caller leaves room for one more */
}

/* overrun(y, n): thread 0 writes y[n], one element past a buffer of n. */
static void run_overrun(void **params) {
	float *y = *(float **)params[0];
	unsigned n = *(unsigned *)params[1];
	if (sim_ctaid == 0 && sim_tid == 0) y[n] = 1;
}

typedef struct {
	const char *name;
	void (*run)(void **params);
} sim_kernel;

static const sim_kernel sim_kernels[] = {
	{"thread_ids", run_thread_ids},
	{"overrun", run_overrun},
	{0, 0},
};
`

// simPTX only has to pass the fake's JIT, which looks for .version, .target and each .entry.
const simPTX = ".version 7.0\n.target sm_52\n.entry thread_ids(\n.entry overrun(\n"

func build(t *testing.T, kernels string) cudafake.Libs {
	t.Helper()
	libs, err := cudafake.Build(t.TempDir(), kernels)
	if errors.Is(err, cudafake.ErrNoCompiler) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return libs
}

func TestBuildWithoutCompiler(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // an empty folder: no cc on the path
	if _, err := cudafake.Build(t.TempDir(), ""); !errors.Is(err, cudafake.ErrNoCompiler) {
		t.Fatalf("Build without cc: %v, want ErrNoCompiler", err)
	}
}

func TestBuildReportsCompilerErrors(t *testing.T) {
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip(err)
	}
	_, err := cudafake.Build(t.TempDir(), "this is not C;\n")
	if err == nil || !strings.Contains(err.Error(), "building the fake CUDA driver") || !strings.Contains(err.Error(), "kernels.cu") {
		t.Fatalf("Build with broken kernel source: %v, want the compiler's complaint about kernels.cu", err)
	}
}

// TestSimulatedKernels checks what GPU tests rely on the fake for: the cuBLAS name is the same
// library as the driver, fresh device memory is garbage (NaN), a launch runs every block and
// thread of the grid with the right indices, and a write past a buffer is reported.
func TestSimulatedKernels(t *testing.T) {
	libs := build(t, simKernels)
	if target, err := os.Readlink(libs.BLAS); err != nil || target != "libcuda.so.1" {
		t.Fatalf("BLAS %s: link to %q (%v), want libcuda.so.1, the driver's object", libs.BLAS, target, err)
	}
	dev, err := cuda.OpenLibraries(libs.Driver, libs.BLAS)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if name := dev.Info().Name; name != "Fake CUDA Device" {
		t.Errorf("device name %q", name)
	}
	mod, err := dev.LoadModule(simPTX)
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Unload()

	const grid, block = 3, 5
	n := grid*block - 2 // the last block is partly idle
	y, err := dev.Alloc(n + 1)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, n+1)
	if err := dev.Download(got, y, 0); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if !math.IsNaN(float64(v)) {
			t.Fatalf("fresh device memory[%d] = %g, want NaN garbage", i, v)
		}
	}
	f, err := mod.Function("thread_ids")
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.Launch(f, cuda.Dim3{X: grid}, cuda.Dim3{X: block}, 0, y, uint32(n)); err != nil {
		t.Fatal(err)
	}
	if err := dev.Synchronize(); err != nil {
		t.Fatal(err)
	}
	if err := dev.Download(got, y, 0); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if want := float32(1000*(i/block) + i%block); got[i] != want {
			t.Errorf("y[%d] = %g, want %g (block %d, thread %d)", i, got[i], want, i/block, i%block)
		}
	}
	if got[n] != grid {
		t.Errorf("thread 0 saw %g blocks, want %d", got[n], grid)
	}
	if _, err := mod.Function("missing"); err == nil {
		t.Error("Function of a kernel the PTX does not name succeeded")
	}

	// Last, as it leaves y's guard bytes broken until the context goes.
	over, err := mod.Function("overrun")
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.Launch(over, cuda.Dim3{X: 1}, cuda.Dim3{X: 1}, 0, y, uint32(n+1)); err != nil {
		t.Fatal(err)
	}
	if err := dev.Synchronize(); err == nil || !strings.Contains(err.Error(), "CUDA_ERROR_ILLEGAL_ADDRESS") {
		t.Fatalf("Synchronize after a write past the buffer: %v, want CUDA_ERROR_ILLEGAL_ADDRESS", err)
	}
	if err := y.Free(); err == nil {
		t.Error("Free of the overrun buffer succeeded, want CUDA_ERROR_ILLEGAL_ADDRESS")
	}
}

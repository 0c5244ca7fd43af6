package openblas

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"

	"github.com/resnas/resnas/internal/gemm/gemmtest"
)

// openOrSkip loads OpenBLAS or skips: the suite must pass on machines without it.
func openOrSkip(tb testing.TB) *Backend {
	tb.Helper()
	be, err := Open()
	if err != nil {
		tb.Skipf("OpenBLAS not available, so its backend is not tested: %v", err)
	}
	return be
}

func TestSgemm(t *testing.T) { gemmtest.TestSgemm(t, openOrSkip(t)) }

func TestMul(t *testing.T) { gemmtest.TestMul(t, openOrSkip(t)) }

func BenchmarkSgemm(b *testing.B) { gemmtest.BenchmarkSgemm(b, openOrSkip(b)) }

// TestScalarsArrive checks that float32 alpha and beta reach cblas_sgemm in the right
// registers (purego passes them in XMM registers on amd64): with 1×1 matrices the result is
// exactly alpha·a·b + beta·c.
func TestScalarsArrive(t *testing.T) {
	be := openOrSkip(t)
	for _, tc := range []struct{ alpha, beta, a, b, c, want float32 }{
		{0.5, 2, 3, 4, 5, 16},
		{-1.5, 0.25, 2, 2, 8, -4},
		{1, 0, 7, 3, float32(math.NaN()), 21},
	} {
		c := []float32{tc.c}
		be.Sgemm(blas.NoTrans, blas.NoTrans, 1, 1, 1, tc.alpha, []float32{tc.a}, 1, []float32{tc.b}, 1, tc.beta, c, 1)
		if c[0] != tc.want {
			t.Errorf("alpha=%g beta=%g: %g·%g·%g + %g·%g = %g, want %g", tc.alpha, tc.beta, tc.alpha, tc.a, tc.b, tc.beta, tc.c, c[0], tc.want)
		}
	}
}

func TestThreadsAndConfig(t *testing.T) {
	be := openOrSkip(t)
	old := be.Threads()
	defer be.SetThreads(old)
	be.SetThreads(1)
	if got := be.Threads(); got != 1 {
		t.Errorf("after SetThreads(1), Threads() = %d", got)
	}
	if cfg := be.Config(); !strings.HasPrefix(cfg, "OpenBLAS") {
		t.Errorf("Config() = %q, want it to start with OpenBLAS", cfg)
	}
	if be.Path() == "" {
		t.Error("Path() is empty")
	}
}

// TestOpenMissing checks the one-line message users see where OpenBLAS is absent.
func TestOpenMissing(t *testing.T) {
	_, err := open([]string{filepath.Join(t.TempDir(), LibName)})
	want := "libopenblas.so.0 not found (apt-get install libopenblas0); using pure Go"
	if err == nil || err.Error() != want {
		t.Fatalf("open of a missing library: %v, want %q", err, want)
	}
}

// TestOpenBroken checks that a file that exists but is no library is reported with the
// loader's reason, on one line, rather than as "not found".
func TestOpenBroken(t *testing.T) {
	path := filepath.Join(t.TempDir(), LibName)
	if err := os.WriteFile(path, []byte("not an ELF file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := open([]string{path})
	if err == nil || strings.Contains(err.Error(), "not found") || strings.Contains(err.Error(), "\n") ||
		!strings.HasPrefix(err.Error(), LibName+": ") {
		t.Fatalf("open of a broken library: %v, want a one-line loader message", err)
	}
	t.Log(err)
}

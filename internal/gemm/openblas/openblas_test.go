package openblas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/cpu"
	"gonum.org/v1/gonum/blas"

	"github.com/resnas/resnas/internal/ccall"
	"github.com/resnas/resnas/internal/gemm/backend/native"
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
// registers (XMM0 and XMM1 on amd64, between integer arguments that went to the stack): with
// 1×1 matrices the result is exactly alpha·a·b + beta·c.
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

// TestConcurrentCalls runs the conformance cases from several goroutines at once, each with its
// own operands, as the model's per-image workers do (run with -race as well).
func TestConcurrentCalls(t *testing.T) {
	be := openOrSkip(t)
	nn, tt := blas.NoTrans, blas.Trans
	cases := []gemmtest.Case{
		{TA: nn, TB: tt, M: 17, N: 17, K: 64, LdA: 64, LdB: 66, LdC: 19, Alpha: 0.125, Beta: 0},
		{TA: nn, TB: nn, M: 17, N: 64, K: 17, LdA: 17, LdB: 64, LdC: 64, Alpha: 1, Beta: 1},
		{TA: tt, TB: nn, M: 33, N: 9, K: 40, LdA: 35, LdB: 9, LdC: 12, Alpha: -0.5, Beta: 0.25},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 3))
			for i := range 50 {
				c := cases[(g+i)%len(cases)]
				if msg := gemmtest.RunCase(be, rng, c); msg != "" {
					errs <- fmt.Sprintf("goroutine %d call %d, %s: %s", g, i, c, msg)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}

// TestSgemmDoesNotAllocate: the forward pass makes thousands of small GEMMs per batch.
func TestSgemmDoesNotAllocate(t *testing.T) {
	be := openOrSkip(t)
	if !ccall.Supported {
		t.Skip("cblas_sgemm goes through purego's reflection on this platform")
	}
	x, y, z := make([]float32, 17*64), make([]float32, 17*64), make([]float32, 17*17)
	allocs := testing.AllocsPerRun(100, func() {
		be.Sgemm(blas.NoTrans, blas.Trans, 17, 17, 64, 1, x, 64, y, 64, 0, z, 17)
	})
	if allocs != 0 {
		t.Errorf("Sgemm allocates %g times per call, want 0", allocs)
	}
}

// BenchmarkSgemmSmall times the GEMMs the attention of one image and head makes, where the
// cost of crossing into C, not the arithmetic, dominates: through the backend and, for
// comparison, through cblas_sgemm bound with purego's reflection.
func BenchmarkSgemmSmall(b *testing.B) {
	be := openOrSkip(b)
	be.SetThreads(1)
	lib, err := native.Open([]string{be.Path()})
	if err != nil {
		b.Fatal(err)
	}
	var viaPurego func(order, tA, tB, m, n, k int32, alpha float32, a []float32, lda int32, b []float32, ldb int32, beta float32, c []float32, ldc int32)
	if err := lib.Bind(native.Symbol{Name: "cblas_sgemm", Fn: &viaPurego}); err != nil {
		b.Fatal(err)
	}
	nn, nt := blas.NoTrans, blas.Trans
	for _, s := range []gemmtest.Shape{{M: 17, N: 17, K: 64, TA: nn, TB: nt}, {M: 17, N: 64, K: 17, TA: nn, TB: nn}, {M: 1, N: 1, K: 1, TA: nn, TB: nn}} {
		x := make([]float32, s.M*s.K)
		y := make([]float32, s.K*s.N)
		z := make([]float32, s.M*s.N)
		lda, ldb := s.K, s.N
		if s.TB == nt {
			ldb = s.K
		}
		b.Run(s.Name()+"/backend", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				be.Sgemm(s.TA, s.TB, s.M, s.N, s.K, 1, x, lda, y, ldb, 0, z, s.N)
			}
		})
		b.Run(s.Name()+"/purego", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				viaPurego(cblasRowMajor, cblasOp(s.TA), cblasOp(s.TB), int32(s.M), int32(s.N), int32(s.K), 1, x, int32(lda), y, int32(ldb), 0, z, int32(s.N))
			}
		})
	}
}

// TestCoreTypeHint checks the kernels named for each CPU class, and that a loaded OpenBLAS
// on an AVX2 CPU does not run its SSE3 fallback (unless the user chose a core type).
func TestCoreTypeHint(t *testing.T) {
	for _, c := range []struct {
		avx512, avx2 bool
		want         string
	}{{true, true, "SkylakeX"}, {false, true, "Haswell"}, {false, false, ""}} {
		if got := coreTypeFor(c.avx512, c.avx2); got != c.want {
			t.Errorf("coreTypeFor(avx512=%v, avx2=%v) = %q, want %q", c.avx512, c.avx2, got, c.want)
		}
	}
	be := openOrSkip(t)
	if core := os.Getenv("OPENBLAS_CORETYPE"); core != "" && core != coreTypeFor(true, true) && core != coreTypeFor(false, true) {
		t.Skipf("OPENBLAS_CORETYPE=%s chosen by the user", core)
	}
	if cfg := be.Config(); runtime.GOARCH == "amd64" && cpu.X86.HasAVX2 && cpu.X86.HasFMA && strings.Contains(cfg, "Prescott") {
		t.Errorf("Config() = %q: OpenBLAS runs its SSE3 kernels on an AVX2 CPU", cfg)
	}
}

package cuda

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas"
	gblas "gonum.org/v1/gonum/blas/gonum"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/gemm/gemmtest"
	"github.com/resnas/resnas/internal/gemm/gonum"
)

// TestBackendConformance runs the shared suite through the host-slice adapter: uploads of
// strided operands, the row-major operand swap, beta = 0 over NaN C and padding left alone.
func TestBackendConformance(t *testing.T) {
	forEachDevice(t, func(t *testing.T, d *Device) {
		be := NewBackend(d)
		defer be.Close()
		gemmtest.TestSgemm(t, be)
		gemmtest.TestMul(t, be)
	})
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.Float64()*2 - 1)
	}
	return s
}

// maxRelDiff compares got with want over an m×n block with leading dimensions ldg and ldw and
// returns the largest |diff|/(1+|want|).
func maxRelDiff(got []float32, ldg int, want []float32, ldw int, m, n int) float64 {
	worst := 0.0
	for i := range m {
		for j := range n {
			g, w := float64(got[i*ldg+j]), float64(want[i*ldw+j])
			d := math.Abs(g-w) / (1 + math.Abs(w))
			if math.IsNaN(g) {
				d = math.Inf(1)
			}
			worst = max(worst, d)
		}
	}
	return worst
}

const deviceTol = 1e-5

// TestDeviceSgemmOffsets places A, B and C at odd offsets of one buffer with padded leading
// dimensions and compares Device.Sgemm with gonum on the same layout.
func TestDeviceSgemmOffsets(t *testing.T) {
	forEachDevice(t, func(t *testing.T, d *Device) {
		rng := rand.New(rand.NewPCG(1, 1))
		for _, tc := range []struct {
			tA, tB      blas.Transpose
			m, n, k     int
			alpha, beta float32
		}{
			{blas.NoTrans, blas.NoTrans, 13, 7, 5, 1, 0},
			{blas.Trans, blas.NoTrans, 9, 11, 6, 0.5, 2},
			{blas.NoTrans, blas.Trans, 197, 197, 64, 0.125, 0},
			{blas.Trans, blas.Trans, 5, 3, 17, -1, 1},
		} {
			name := fmt.Sprintf("tA=%c tB=%c m=%d n=%d k=%d alpha=%g beta=%g", tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, tc.beta)
			aR, aC := tc.m, tc.k
			if tc.tA != blas.NoTrans {
				aR, aC = aC, aR
			}
			bR, bC := tc.k, tc.n
			if tc.tB != blas.NoTrans {
				bR, bC = bC, bR
			}
			lda, ldb, ldc := aC+2, bC+5, tc.n+1
			aOff := 3
			bOff := aOff + (aR-1)*lda + aC + 7
			cOff := bOff + (bR-1)*ldb + bC + 1
			total := cOff + (tc.m-1)*ldc + tc.n
			host := randSlice(rng, total)
			buf, err := d.Alloc(total)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Upload(buf, 0, host); err != nil {
				t.Fatal(err)
			}
			if err := d.Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, buf, aOff, lda, buf, bOff, ldb, tc.beta, buf, cOff, ldc); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got := make([]float32, total)
			if err := d.Download(got, buf, 0); err != nil {
				t.Fatal(err)
			}
			want := append([]float32(nil), host...)
			gblas.Implementation{}.Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, want[aOff:], lda, want[bOff:], ldb, tc.beta, want[cOff:], ldc)
			if diff := maxRelDiff(got[cOff:], ldc, want[cOff:], ldc, tc.m, tc.n); diff > deviceTol {
				t.Errorf("%s: max relative difference from gonum %.3g", name, diff)
			}
			for i := range total {
				inC := i >= cOff && (i-cOff)%ldc < tc.n && i < total
				if !inC && got[i] != host[i] {
					t.Errorf("%s: element %d outside C changed", name, i)
					break
				}
			}
			if err := buf.Free(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestStridedBatchedAttention computes per-head attention scores and values straight on a
// fused qkv buffer with one batched call each: S_h = q_h·k_hᵀ (heads at column offsets of one
// row-major buffer) and O_h = S_h·v_h written side by side into O's head columns.
func TestStridedBatchedAttention(t *testing.T) {
	forEachDevice(t, func(t *testing.T, d *Device) {
		const tokens, heads, dim = 65, 4, 16
		const width = heads * dim
		rng := rand.New(rand.NewPCG(2, 2))
		qkvHost := randSlice(rng, tokens*3*width)
		qkv, s, o := mustAlloc(t, d, len(qkvHost)), mustAlloc(t, d, heads*tokens*tokens), mustAlloc(t, d, tokens*width)
		if err := d.Upload(qkv, 0, qkvHost); err != nil {
			t.Fatal(err)
		}
		scale := float32(0.25)
		err := d.SgemmStridedBatched(blas.NoTrans, blas.Trans, tokens, tokens, dim, scale,
			qkv, 0, 3*width, dim, qkv, width, 3*width, dim, 0, s, 0, tokens, tokens*tokens, heads)
		if err != nil {
			t.Fatal(err)
		}
		err = d.SgemmStridedBatched(blas.NoTrans, blas.NoTrans, tokens, dim, tokens, 1,
			s, 0, tokens, tokens*tokens, qkv, 2*width, 3*width, dim, 0, o, 0, width, dim, heads)
		if err != nil {
			t.Fatal(err)
		}
		gotS := make([]float32, heads*tokens*tokens)
		gotO := make([]float32, tokens*width)
		if err := d.Download(gotS, s, 0); err != nil {
			t.Fatal(err)
		}
		if err := d.Download(gotO, o, 0); err != nil {
			t.Fatal(err)
		}
		var g gblas.Implementation
		wantS := make([]float32, heads*tokens*tokens)
		wantO := make([]float32, tokens*width)
		for h := range heads {
			sh := wantS[h*tokens*tokens:]
			g.Sgemm(blas.NoTrans, blas.Trans, tokens, tokens, dim, scale, qkvHost[h*dim:], 3*width, qkvHost[width+h*dim:], 3*width, 0, sh, tokens)
			g.Sgemm(blas.NoTrans, blas.NoTrans, tokens, dim, tokens, 1, sh, tokens, qkvHost[2*width+h*dim:], 3*width, 0, wantO[h*dim:], width)
		}
		if diff := maxRelDiff(gotS, tokens, wantS, tokens, heads*tokens, tokens); diff > deviceTol {
			t.Errorf("scores: max relative difference %.3g", diff)
		}
		if diff := maxRelDiff(gotO, width, wantO, width, tokens, width); diff > deviceTol {
			t.Errorf("values: max relative difference %.3g", diff)
		}
	})
}

func mustAlloc(t *testing.T, d *Device, n int) *Buffer {
	t.Helper()
	b, err := d.Alloc(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Free() })
	return b
}

// TestDeviceMul runs Device.Mul on Sub views of device matrices (a sub-network's top-left
// weight block, an empty inner dimension) and the UploadMat/DownloadMat round trip of strided
// host views, which must leave host padding alone.
func TestDeviceMul(t *testing.T) {
	forEachDevice(t, func(t *testing.T, d *Device) {
		rng := rand.New(rand.NewPCG(3, 3))
		x := gemm.NewMat(20, 30, randSlice(rng, 600))
		w := gemm.NewMat(40, 30, randSlice(rng, 1200))
		dx, dw, dy := NewDMat(mustAlloc(t, d, 600), 20, 30), NewDMat(mustAlloc(t, d, 1200), 40, 30), NewDMat(mustAlloc(t, d, 20*40), 20, 40)
		if err := d.UploadMat(dx, x); err != nil {
			t.Fatal(err)
		}
		if err := d.UploadMat(dw, w); err != nil {
			t.Fatal(err)
		}
		if err := d.Zero(dy.Buf, 0, 20*40); err != nil {
			t.Fatal(err)
		}
		// y[:, :17] = x[:, :24]·W[:17, :24]ᵀ, then y[:, 17:20] = 0.5·y[:, 17:20] with k = 0.
		if err := d.Mul(false, true, 1, dx.Sub(0, 20, 0, 24), dw.Sub(0, 17, 0, 24), 0, dy.Sub(0, 20, 0, 17)); err != nil {
			t.Fatal(err)
		}
		if err := d.Mul(false, false, 1, dx.Sub(0, 20, 0, 0), dw.Sub(0, 0, 0, 3), 0.5, dy.Sub(0, 20, 17, 20)); err != nil {
			t.Fatal(err)
		}
		host := gemm.NewMat(20, 40, make([]float32, 800))
		for i := range host.Data {
			host.Data[i] = -7
		}
		if err := d.DownloadMat(host.Sub(0, 20, 0, 20), dy.Sub(0, 20, 0, 20)); err != nil {
			t.Fatal(err)
		}
		want := gemm.NewMat(20, 17, make([]float32, 20*17))
		gemm.Mul(gonum.New(), false, true, 1, x.Sub(0, 20, 0, 24), w.Sub(0, 17, 0, 24), 0, want)
		if diff := maxRelDiff(host.Data, 40, want.Data, 17, 20, 17); diff > deviceTol {
			t.Errorf("y = x·Wᵀ on sub-blocks: max relative difference %.3g", diff)
		}
		for i := range 20 {
			for j := 17; j < 40; j++ {
				if got := host.At(i, j); (j < 20 && got != 0) || (j >= 20 && got != -7) {
					t.Fatalf("y[%d,%d] = %g: want 0 for the scaled zeros, -7 for host padding", i, j, got)
				}
			}
		}
	})
}

// TestLaunchAxpy loads PTX, launches it with buffer, float and int parameters, and checks the
// result; the fake runs axpy on the CPU from the same kernelParams.
func TestLaunchAxpy(t *testing.T) {
	forEachDevice(t, func(t *testing.T, d *Device) {
		mod, err := d.LoadModule(axpyPTX)
		if err != nil {
			t.Fatal(err)
		}
		defer mod.Unload()
		f, err := mod.Function("axpy")
		if err != nil {
			t.Fatal(err)
		}
		const n = 1000
		rng := rand.New(rand.NewPCG(4, 4))
		x, y := randSlice(rng, n), randSlice(rng, n+1)
		dx, dy := mustAlloc(t, d, n), mustAlloc(t, d, n+1)
		if err := d.Upload(dx, 0, x); err != nil {
			t.Fatal(err)
		}
		if err := d.Upload(dy, 0, y); err != nil {
			t.Fatal(err)
		}
		const block = 128
		if err := d.Launch(f, Dim3{X: (n + block - 1) / block}, Dim3{X: block}, 0, dy, dx.Ptr(0), float32(-1.5), uint32(n)); err != nil {
			t.Fatal(err)
		}
		if err := d.Synchronize(); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, n+1)
		if err := d.Download(got, dy, 0); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if want := y[i] + -1.5*x[i]; math.Abs(float64(got[i]-want)) > 1e-6 {
				t.Fatalf("y[%d] = %g, want %g", i, got[i], want)
			}
		}
		if got[n] != y[n] {
			t.Errorf("element past n changed: %g, want %g", got[n], y[n])
		}
		// A JIT failure carries the driver's log.
		if _, err := d.LoadModule(".version 6.3\n.target sm_75\n.address_size 64\nthis is not ptx;\n"); err == nil ||
			!strings.Contains(err.Error(), "cuModuleLoadDataEx") || !strings.Contains(err.Error(), "ptxas") {
			t.Errorf("LoadModule of PTX without kernels: %v, want the JIT log in the error", err)
		}
		if _, err := mod.Function("missing"); err == nil || !strings.Contains(err.Error(), `kernel "missing"`) {
			t.Errorf("Function of a missing kernel: %v", err)
		}
		if err := d.Launch(f, Dim3{X: 1}, Dim3{X: 1}, 0, dy, dx, 1.5, n); err == nil || !strings.Contains(err.Error(), "type float64") && !strings.Contains(err.Error(), "type int") {
			t.Errorf("Launch with untyped constants: %v", err)
		}
	})
}

// axpyPTX is y[i] += a·x[i] for i < n, hand-written PTX for any GPU from Maxwell on.
const axpyPTX = `
.version 7.0
.target sm_52
.address_size 64

.visible .entry axpy(
	.param .u64 axpy_param_y,
	.param .u64 axpy_param_x,
	.param .f32 axpy_param_a,
	.param .u32 axpy_param_n
)
{
	.reg .pred 	%p<2>;
	.reg .b32 	%r<6>;
	.reg .f32 	%f<4>;
	.reg .b64 	%rd<8>;

	ld.param.u64 	%rd1, [axpy_param_y];
	ld.param.u64 	%rd2, [axpy_param_x];
	ld.param.f32 	%f1, [axpy_param_a];
	ld.param.u32 	%r1, [axpy_param_n];
	mov.u32 	%r2, %ctaid.x;
	mov.u32 	%r3, %ntid.x;
	mov.u32 	%r4, %tid.x;
	mad.lo.s32 	%r5, %r2, %r3, %r4;
	setp.ge.u32 	%p1, %r5, %r1;
	@%p1 bra 	$L__done;
	cvta.to.global.u64 	%rd3, %rd1;
	cvta.to.global.u64 	%rd4, %rd2;
	mul.wide.u32 	%rd5, %r5, 4;
	add.s64 	%rd6, %rd4, %rd5;
	ld.global.f32 	%f2, [%rd6];
	add.s64 	%rd7, %rd3, %rd5;
	ld.global.f32 	%f3, [%rd7];
	fma.rn.f32 	%f3, %f1, %f2, %f3;
	st.global.f32 	[%rd7], %f3;
$L__done:
	ret;
}
`

// TestConcurrentUse calls the adapter from many goroutines at once: every call must reach the
// context's thread (the fake fails calls from other threads) and results must not mix.
func TestConcurrentUse(t *testing.T) {
	forEachDevice(t, func(t *testing.T, d *Device) {
		be := NewBackend(d)
		defer be.Close()
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(g), 5))
				m, n, k := 10+g, 7+g, 5+2*g
				a, b := randSlice(rng, m*k), randSlice(rng, k*n)
				for range 20 {
					got, want := make([]float32, m*n), make([]float32, m*n)
					be.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, got, n)
					gblas.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, want, n)
					if diff := maxRelDiff(got, n, want, n, m, n); diff > deviceTol {
						errs <- fmt.Sprintf("goroutine %d: max relative difference %.3g", g, diff)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	})
}

// TestBadArgumentsPanicFirst checks that out-of-range device arguments panic in Go with fixed
// messages instead of reaching the GPU, and that GPU failures come back as one-line *Errors.
func TestBadArgumentsPanicFirst(t *testing.T) {
	forEachDevice(t, func(t *testing.T, d *Device) {
		buf := mustAlloc(t, d, 100)
		nn := blas.NoTrans
		for _, tc := range []struct {
			name, want string
			call       func()
		}{
			{"C past the end", "blas: insufficient length of c", func() { d.Sgemm(nn, nn, 5, 5, 5, 1, buf, 0, 5, buf, 0, 5, 0, buf, 90, 5) }},
			{"offset past the end", "cuda: matrix offset out of range", func() { d.Sgemm(nn, nn, 1, 1, 1, 1, buf, 101, 1, buf, 0, 1, 0, buf, 0, 1) }},
			{"batch past the end", "blas: insufficient length of a", func() {
				d.SgemmStridedBatched(nn, nn, 2, 2, 2, 1, buf, 0, 2, 49, buf, 0, 2, 0, 0, buf, 0, 2, 4, 3)
			}},
			{"overlapping C", "cuda: batched C matrices overlap", func() {
				d.SgemmStridedBatched(nn, nn, 2, 2, 2, 1, buf, 0, 2, 0, buf, 0, 2, 0, 0, buf, 0, 2, 2, 3)
			}},
			{"upload past the end", "cuda: upload past the end of the buffer", func() { d.Upload(buf, 95, make([]float32, 6)) }},
			{"bad transpose", "blas: illegal transpose", func() { d.Sgemm('x', nn, 1, 1, 1, 1, buf, 0, 1, buf, 0, 1, 0, buf, 0, 1) }},
		} {
			if got := panicMessage(tc.call); got != tc.want {
				t.Errorf("%s: panic %q, want %q", tc.name, got, tc.want)
			}
		}
		_, err := d.Alloc(1 << 40)
		var cerr *Error
		if !errors.As(err, &cerr) || cerr.Name != "CUDA_ERROR_OUT_OF_MEMORY" || strings.Contains(err.Error(), "\n") {
			t.Errorf("Alloc of 4 TiB: %v, want a one-line CUDA_ERROR_OUT_OF_MEMORY", err)
		}
	})
}

func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

package gpukernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/resnas/resnas/internal/gemm/cuda"
	"github.com/resnas/resnas/internal/gemm/cuda/cudafake"
	"github.com/resnas/resnas/internal/vecmath"
)

// These tests run the kernels on the fake driver, which compiles kernels.cu as C and runs
// each launch thread by thread, against the CPU kernels of internal/vecmath.

var fakeDevice = sync.OnceValues(func() (*cuda.Device, error) {
	dir, err := os.MkdirTemp("", "gpukernels-fake")
	if err != nil {
		return nil, err
	}
	libs, err := cudafake.Build(dir, Source)
	if err != nil {
		return nil, err
	}
	return cuda.OpenLibraries(libs.Driver, libs.BLAS)
})

func loadFake(t *testing.T) (*cuda.Device, *Kernels) {
	t.Helper()
	dev, err := fakeDevice()
	if errors.Is(err, cudafake.ErrNoCompiler) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	k, err := Load(dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return dev, k
}

func upload(t *testing.T, dev *cuda.Device, v []float32) *cuda.Buffer {
	t.Helper()
	b, err := dev.Alloc(len(v))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Free() })
	if err := dev.Upload(b, 0, v); err != nil {
		t.Fatal(err)
	}
	return b
}

func download(t *testing.T, dev *cuda.Device, b *cuda.Buffer) []float32 {
	t.Helper()
	v := make([]float32, b.Len())
	if err := dev.Download(v, b, 0); err != nil {
		t.Fatal(err)
	}
	return v
}

func randVec(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(scale * rng.NormFloat64())
	}
	return v
}

// strided lays rows×cols values in a matrix of the given stride, padding with a sentinel the
// kernels must not touch.
const sentinel = -12345

func strided(v []float32, rows, cols, stride int) []float32 {
	out := make([]float32, rows*stride)
	for i := range out {
		out[i] = sentinel
	}
	for r := 0; r < rows; r++ {
		copy(out[r*stride:r*stride+cols], v[r*cols:(r+1)*cols])
	}
	return out
}

// check compares the rows×cols part of got (stride) with want (dense) and requires the padding
// to hold the sentinel.
func check(t *testing.T, what string, got []float32, want []float32, rows, cols, stride int, tol float64) {
	t.Helper()
	var worst float64
	for r := 0; r < rows; r++ {
		for c := 0; c < stride; c++ {
			g := got[r*stride+c]
			if c >= cols {
				if g != sentinel {
					t.Fatalf("%s: padding at row %d col %d overwritten with %v", what, r, c, g)
				}
				continue
			}
			worst = math.Max(worst, math.Abs(float64(g-want[r*cols+c])))
		}
	}
	t.Logf("%s: max abs diff %.3g", what, worst)
	if !(worst <= tol) {
		t.Errorf("%s: max abs diff %.3g > %.3g", what, worst, tol)
	}
}

func TestRowKernelsMatchVecmath(t *testing.T) {
	dev, k := loadFake(t)
	rng := rand.New(rand.NewPCG(3, 4))
	const rows, cols, stride = 37, 45, 52
	x := randVec(rng, rows*cols, 3)
	w, b := randVec(rng, cols, 1), randVec(rng, cols, 1)
	dw, db := upload(t, dev, w), upload(t, dev, b)

	// LayerNorm from a strided source into a strided destination.
	src := upload(t, dev, strided(x, rows, cols, stride))
	dst := upload(t, dev, strided(make([]float32, rows*cols), rows, cols, stride))
	X := cuda.DMat{Buf: src, Rows: rows, Cols: cols, Stride: stride}
	Y := cuda.DMat{Buf: dst, Rows: rows, Cols: cols, Stride: stride}
	if err := k.LayerNorm(Y, X, dw.Ptr(0), db.Ptr(0), 1e-6); err != nil {
		t.Fatal(err)
	}
	want := make([]float32, rows*cols)
	for r := 0; r < rows; r++ {
		vecmath.LayerNorm(want[r*cols:(r+1)*cols], x[r*cols:(r+1)*cols], w, b, 1e-6)
	}
	check(t, "layernorm", download(t, dev, dst), want, rows, cols, stride, 1e-5)

	// Softmax in place, with large logits (the max subtraction must keep it finite).
	s := randVec(rng, rows*cols, 30)
	sb := upload(t, dev, strided(s, rows, cols, stride))
	if err := k.SoftmaxRows(cuda.DMat{Buf: sb, Rows: rows, Cols: cols, Stride: stride}); err != nil {
		t.Fatal(err)
	}
	want = make([]float32, rows*cols)
	for r := 0; r < rows; r++ {
		vecmath.Softmax(want[r*cols:(r+1)*cols], s[r*cols:(r+1)*cols], 1)
	}
	check(t, "softmax", download(t, dev, sb), want, rows, cols, stride, 1e-6)

	// Bias + exact GELU, and plain bias rows.
	h := randVec(rng, rows*cols, 4)
	hb := upload(t, dev, strided(h, rows, cols, stride))
	if err := k.BiasGELU(cuda.DMat{Buf: hb, Rows: rows, Cols: cols, Stride: stride}, db.Ptr(0)); err != nil {
		t.Fatal(err)
	}
	want = append([]float32(nil), h...)
	for r := 0; r < rows; r++ {
		vecmath.BiasGELU(want[r*cols:(r+1)*cols], b)
	}
	check(t, "bias_gelu", download(t, dev, hb), want, rows, cols, stride, 1e-5)

	hb = upload(t, dev, strided(h, rows, cols, stride))
	if err := k.BiasRows(cuda.DMat{Buf: hb, Rows: rows, Cols: cols, Stride: stride}, db.Ptr(0)); err != nil {
		t.Fatal(err)
	}
	want = append([]float32(nil), h...)
	for r := 0; r < rows; r++ {
		vecmath.Add(want[r*cols:(r+1)*cols], b)
	}
	check(t, "bias_rows", download(t, dev, hb), want, rows, cols, stride, 0)
}

// TestGridStride: with the grid capped at 2 blocks, every element and row is still covered.
func TestGridStride(t *testing.T) {
	dev, k := loadFake(t)
	k.maxBlocks = 2
	const rows, cols = 300, 7 // 2100 elements, 300 rows: more than 2 blocks of 256 or 64
	ones := make([]float32, rows*cols)
	y := upload(t, dev, ones)
	bias := upload(t, dev, []float32{1, 2, 3, 4, 5, 6, 7})
	if err := k.BiasRows(cuda.DMat{Buf: y, Rows: rows, Cols: cols, Stride: cols}, bias.Ptr(0)); err != nil {
		t.Fatal(err)
	}
	if err := k.SoftmaxRows(cuda.DMat{Buf: y, Rows: rows, Cols: cols, Stride: cols}); err != nil {
		t.Fatal(err)
	}
	got := download(t, dev, y)
	want := make([]float32, cols)
	vecmath.Softmax(want, []float32{1, 2, 3, 4, 5, 6, 7}, 1)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			if d := math.Abs(float64(got[r*cols+c] - want[c])); d > 1e-6 {
				t.Fatalf("row %d col %d: %v, want %v", r, c, got[r*cols+c], want[c])
			}
		}
	}
}

// TestFakeCatchesOverrun: a kernel writing past its buffer is reported by the fake, so the
// model tests would catch a wrong workspace size instead of corrupting memory silently.
func TestFakeCatchesOverrun(t *testing.T) {
	dev, k := loadFake(t)
	y, err := dev.Alloc(100)
	if err != nil {
		t.Fatal(err)
	}
	x, err := dev.Alloc(200)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Free()
	if err := dev.Zero(y, 0, 100); err != nil {
		t.Fatal(err)
	}
	if err := dev.Launch(k.fn["add"], cuda.Dim3{X: 1}, cuda.Dim3{X: 64}, 0, y.Ptr(0), x.Ptr(0), int64(110)); err != nil {
		t.Fatal(err)
	}
	err = dev.Synchronize()
	if err == nil || !strings.Contains(err.Error(), "ILLEGAL_ADDRESS") {
		t.Fatalf("overrun not reported: %v", err)
	}
	// Freeing the damaged buffer reports it too; the fake then forgets it.
	y.Free()
}

// TestLaunchArgumentsMatchPTX calls every launcher and checks each argument's Go type against
// the kernel's .param list in the PTX: a mismatch would read garbage on a real GPU, while the
// fake's unpacking follows kernels.cu and could hide it.
func TestLaunchArgumentsMatchPTX(t *testing.T) {
	dev, k := loadFake(t)
	params := map[string][]string{}
	entry := regexp.MustCompile(`\.entry (\w+)\(([^)]*)\)`)
	param := regexp.MustCompile(`\.param \.(\w+) `)
	for _, m := range entry.FindAllStringSubmatch(PTX[0], -1) {
		for _, p := range param.FindAllStringSubmatch(m[2], -1) {
			params[m[1]] = append(params[m[1]], p[1])
		}
	}
	seen := map[string]bool{}
	k.trace = func(name string, args []any) {
		seen[name] = true
		want := params[name]
		if len(args) != len(want) {
			t.Errorf("%s: %d arguments, the PTX takes %d", name, len(args), len(want))
			return
		}
		for i, a := range args {
			var got string
			switch a.(type) {
			case cuda.DevPtr, int64:
				got = "u64"
			case int32:
				got = "u32"
			case float32:
				got = "f32"
			default:
				got = fmt.Sprintf("%T", a)
			}
			if got != want[i] {
				t.Errorf("%s argument %d: Go passes %s (%T), the PTX takes .%s", name, i, got, a, want[i])
			}
		}
	}
	buf := func(n int) *cuda.Buffer { return upload(t, dev, make([]float32, n)) }
	a, b, v := buf(64), buf(64), buf(16)
	m := cuda.DMat{Buf: a, Rows: 4, Cols: 4, Stride: 4}
	m2 := cuda.DMat{Buf: b, Rows: 4, Cols: 4, Stride: 4}
	p := v.Ptr(0)
	conv := Conv{Batch: 1, Channels: 1, Size: 4, Kernel: 2, Stride: 2}
	for _, err := range []error{
		k.LayerNorm(m2, m, p, p, 1e-6),
		k.BiasRows(m, p),
		k.BiasGELU(m, p),
		k.SoftmaxRows(m),
		k.Im2colRows(b, 0, a, 0, conv),
		k.Im2colCols(b, 0, a, 0, conv),
		k.Im2colTokens(b, a, 1, 9, 1, 2, 1),
		k.ScaleShiftReLU(a, p, p, 1, 4, 4),
		k.Add(a, b, 16),
		k.EmbedTokens(cuda.DMat{Buf: a, Rows: 2, Cols: 4, Stride: 4}, p, p, cuda.DMat{Buf: b, Rows: 2, Cols: 4, Stride: 4}, 1, 2),
		k.ReduceFinish(cuda.DMat{Buf: a, Rows: 2, Cols: 4, Stride: 4}, cuda.DMat{Buf: b, Rows: 5, Cols: 4, Stride: 4}, p, p,
			cuda.DMat{Buf: v, Rows: 1, Cols: 4, Stride: 4}, 1, 2),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := dev.Synchronize(); err != nil {
		t.Fatal(err)
	}
	for _, name := range Names {
		if !seen[name] {
			t.Errorf("no launcher of %s was called", name)
		}
	}
}

// TestOverlapIsRefused: reading through a restrict pointer what the same launch writes is a
// programming error caught before the launch.
func TestOverlapIsRefused(t *testing.T) {
	dev, k := loadFake(t)
	a := upload(t, dev, make([]float32, 32))
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "writes [") {
			t.Fatalf("in-place LayerNorm: recovered %v, want an overlap panic", r)
		}
	}()
	m := cuda.DMat{Buf: a, Rows: 4, Cols: 4, Stride: 4}
	k.LayerNorm(m.Sub(0, 3, 0, 4), m.Sub(1, 4, 0, 4), a.Ptr(0), a.Ptr(0), 1e-6)
}

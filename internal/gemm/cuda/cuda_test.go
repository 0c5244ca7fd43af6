package cuda

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/resnas/resnas/internal/gemm/backend/native"
	"github.com/resnas/resnas/internal/gemm/cuda/cudafake"
)

// The tests run each GPU check on two devices where they can: "fake", a CPU stand-in for
// libcuda and cuBLAS built from cudafake/fakecuda.c.in when a C compiler is present (it checks
// argument order, device bounds and that calls come from the context's thread), and "gpu",
// the real driver when Open succeeds. On a machine with neither, only loader tests run.

// fakeDir holds the fake libraries built by TestMain, or "" with fakeSkip saying why not.
var fakeDir, fakeSkip string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fakecuda")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fakeSkip = buildFake(dir)
	if fakeSkip == "" {
		fakeDir = dir
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildFake compiles the fake driver into dir and returns "" or why it could not.
func buildFake(dir string) string {
	if _, err := cudafake.Build(dir, ""); err != nil {
		return err.Error()
	}
	return ""
}

func fakeSearch(dir string) libSearch {
	s := libSearch{driver: []string{filepath.Join(dir, driverLib)}}
	for _, name := range blasLibs() {
		s.blas = append(s.blas, filepath.Join(dir, name))
	}
	return s
}

// fakeControls binds the fake's test hooks.
type fakeControls struct {
	setDevices      func(n int32)
	liveAllocations func() int32
	contextRefs     func() int32
}

func openFakeControls(t *testing.T) fakeControls {
	t.Helper()
	if fakeDir == "" {
		t.Skip(fakeSkip)
	}
	lib, err := native.Open([]string{filepath.Join(fakeDir, driverLib)})
	if err != nil {
		t.Fatal(err)
	}
	var c fakeControls
	err = lib.Bind(
		native.Symbol{Name: "fake_set_devices", Fn: &c.setDevices},
		native.Symbol{Name: "fake_live_allocations", Fn: &c.liveAllocations},
		native.Symbol{Name: "fake_context_refs", Fn: &c.contextRefs},
	)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type testDevice struct {
	name string
	open func() (*Device, error)
}

// forEachDevice runs body on a freshly opened fake and real device, skipping those absent.
func forEachDevice(t *testing.T, body func(t *testing.T, d *Device)) {
	t.Helper()
	devices := []testDevice{
		{"fake", func() (*Device, error) {
			if fakeDir == "" {
				return nil, fmt.Errorf("%s", fakeSkip)
			}
			return openWith(fakeSearch(fakeDir), 0)
		}},
		{"gpu", Open},
	}
	for _, td := range devices {
		t.Run(td.name, func(t *testing.T) {
			d, err := td.open()
			if err != nil {
				t.Skipf("no %s device: %v", td.name, err)
			}
			t.Cleanup(func() {
				if err := d.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			body(t, d)
		})
	}
}

func TestMemcpy2DLayout(t *testing.T) {
	var p memcpy2D
	got := [4]uintptr{unsafe.Sizeof(p), unsafe.Offsetof(p.srcHost), unsafe.Offsetof(p.dstHost), unsafe.Offsetof(p.widthInBytes)}
	if want := [4]uintptr{128, 24, 80, 112}; got != want {
		t.Fatalf("CUDA_MEMCPY2D size and offsets of srcHost, dstHost, WidthInBytes = %v, want %v", got, want)
	}
}

// TestOpenMissingDriver checks the one-line reason for a machine without the NVIDIA driver.
func TestOpenMissingDriver(t *testing.T) {
	_, err := openWith(fakeSearch(t.TempDir()), 0)
	if want := "libcuda.so.1 not found (no NVIDIA driver)"; err == nil || err.Error() != want {
		t.Fatalf("open without a driver: %v, want %q", err, want)
	}
}

func TestOpenMissingBLAS(t *testing.T) {
	openFakeControls(t)
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(fakeDir, driverLib), filepath.Join(dir, driverLib)); err != nil {
		t.Fatal(err)
	}
	_, err := openWith(fakeSearch(dir), 0)
	if err == nil || !strings.HasPrefix(err.Error(), "no cuBLAS that driver CUDA 12.4 runs (libcublas.so.13, .12 or .11") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("open without cuBLAS: %v", err)
	}
}

func TestOpenNoDevice(t *testing.T) {
	fake := openFakeControls(t)
	fake.setDevices(0)
	defer fake.setDevices(1)
	_, err := openWith(fakeSearch(fakeDir), 0)
	if want := "cuda: cuInit: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)"; err == nil || err.Error() != want {
		t.Fatalf("open with no GPU: %v, want %q", err, want)
	}
}

// TestOpenDefault runs the real probe: on a GPU machine it must succeed, elsewhere fail with
// one line (and never panic).
func TestOpenDefault(t *testing.T) {
	d, err := Open()
	if err != nil {
		if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
			t.Fatalf("Open error is not one line: %q", msg)
		}
		t.Skipf("no GPU here: %v", err)
	}
	t.Logf("%v", d.Info())
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCloseReleasesContext(t *testing.T) {
	fake := openFakeControls(t)
	d, err := openWith(fakeSearch(fakeDir), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.contextRefs(); got != 1 {
		t.Fatalf("context retained %d times, want 1", got)
	}
	buf, err := d.Alloc(10)
	if err != nil {
		t.Fatal(err)
	}
	if info := d.Info(); info.Name != "Fake CUDA Device" || info.DriverVersion != 12040 || info.BLASVersion != 120405 {
		t.Errorf("Info() = %+v", info)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if got := fake.contextRefs(); got != 0 {
		t.Errorf("after Close the context is retained %d times", got)
	}
	if got := fake.liveAllocations(); got != 0 {
		t.Errorf("after Close %d allocations live", got)
	}
	if err := buf.Free(); err != nil {
		t.Errorf("Free after Close: %v", err)
	}
	if _, err := d.Alloc(10); !errors.Is(err, ErrClosed) {
		t.Errorf("Alloc after Close: %v, want ErrClosed", err)
	}
}

func TestCompatibleBLAS(t *testing.T) {
	all := []string{"/a/libcublas.so.13", "/b/libcublas.so.12", "libcublas.so.11", "/c/libcublas.so.12"}
	for _, c := range []struct {
		driver int
		want   []string
	}{
		{12040, []string{"/b/libcublas.so.12", "libcublas.so.11", "/c/libcublas.so.12"}},
		{13000, all},
		{11080, []string{"libcublas.so.11"}},
		{0, all}, // unknown driver version: try everything
	} {
		if got := compatibleBLAS(all, c.driver); !slices.Equal(got, c.want) {
			t.Errorf("driver %d: %v, want %v", c.driver, got, c.want)
		}
	}
}

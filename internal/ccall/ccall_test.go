//go:build amd64 && linux

package ccall

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/ebitengine/purego"
)

// sym resolves name in the C library lib, skipping where it is absent.
func sym(tb testing.TB, lib, name string) uintptr {
	tb.Helper()
	h, err := purego.Dlopen(lib, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		tb.Skipf("no %s to call: %v", lib, err)
	}
	addr, err := purego.Dlsym(h, name)
	if err != nil || addr == 0 {
		tb.Skipf("%s has no %s: %v", lib, name, err)
	}
	return addr
}

// cstr is s NUL-terminated, as C wants it.
func cstr(s string) []byte { return append([]byte(s), 0) }

// sprintf calls the C snprintf with ten int and ten double arguments alternating, so that
// integers spill to the stack after the sixth register argument (buf, size and format take
// three) and doubles after the eighth XMM register, interleaved there in argument order. It
// is variadic, so it also checks that AL carries the number of XMM arguments.
func sprintf(snprintf uintptr, buf []byte, ints [10]int64, doubles [10]float64) string {
	format := cstr("%d %g|%d %g|%d %g|%d %g|%d %g|%d %g|%d %g|%d %g|%d %g|%d %g")
	f := New(snprintf)
	f.Ptr(unsafe.Pointer(&buf[0]))
	f.Int(int64(len(buf)))
	f.Ptr(unsafe.Pointer(&format[0]))
	for i := range ints {
		f.Int(ints[i])
		f.Float64(doubles[i])
	}
	n := int(int32(f.Call()))
	return string(buf[:n])
}

func TestStackAndRegisterArguments(t *testing.T) {
	snprintf := sym(t, "libc.so.6", "snprintf")
	ints := [10]int64{1, -2, 3, -4, 5, -6, 7, -8, 9, -10}
	doubles := [10]float64{0.5, 1.5, -2.5, 3.25, 4e10, -5e-3, 6, 7.75, -8.5, 9.125}
	var want bytes.Buffer
	for i := range ints {
		if i > 0 {
			want.WriteByte('|')
		}
		fmt.Fprintf(&want, "%d %g", ints[i], doubles[i]) // Go's %g prints these as C's does
	}
	got := sprintf(snprintf, make([]byte, 256), ints, doubles)
	if got != want.String() {
		t.Errorf("snprintf through Frame:\n got %q\nwant %q", got, want.String())
	}
}

// TestFloatArgumentsAndResults checks float and double in XMM registers both ways, mixed with
// an integer argument.
func TestFloatArgumentsAndResults(t *testing.T) {
	ldexpf := sym(t, "libm.so.6", "ldexpf")
	fma := sym(t, "libm.so.6", "fma")

	f := New(ldexpf)
	f.Float32(1.5)
	f.Int(3)
	f.Call()
	if got := f.Float32Result(); got != 12 {
		t.Errorf("ldexpf(1.5, 3) = %g, want 12", got)
	}

	g := New(fma)
	g.Float64(2.5)
	g.Float64(-4)
	g.Float64(0.25)
	g.Call()
	if got := g.Float64Result(); got != -9.75 {
		t.Errorf("fma(2.5, -4, 0.25) = %g, want -9.75", got)
	}
}

// TestFrameKeepsPointersAlive drops every reference to a buffer but the frame's and collects
// garbage before Call: the buffer must survive until C has written it.
func TestFrameKeepsPointersAlive(t *testing.T) {
	memset := sym(t, "libc.so.6", "memset")
	var collected atomic.Bool
	buf := new([64]byte)
	runtime.SetFinalizer(buf, func(*[64]byte) { collected.Store(true) })
	f := New(memset)
	f.Ptr(unsafe.Pointer(buf))
	f.Int('x')
	f.Int(64)
	buf = nil
	runtime.GC()
	runtime.GC()
	if collected.Load() {
		t.Fatal("the buffer was collected while a frame still held it")
	}
	f.Call()
	got := (*[64]byte)(f.ptrs[0])
	if string(got[:]) != strings.Repeat("x", 64) {
		t.Errorf("memset wrote %q", got[:])
	}
}

// TestConcurrentCalls runs calls from many goroutines at once (run with -race as well).
func TestConcurrentCalls(t *testing.T) {
	snprintf := sym(t, "libc.so.6", "snprintf")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			buf := make([]byte, 256)
			for i := range 200 {
				v := int64(g*1000 + i)
				ints := [10]int64{v, v, v, v, v, v, v, v, v, v}
				doubles := [10]float64{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, float64(v)}
				got := sprintf(snprintf, buf, ints, doubles)
				want := fmt.Sprintf("%d 0.5|%d 0.5|%d 0.5|%d 0.5|%d 0.5|%d 0.5|%d 0.5|%d 0.5|%d 0.5|%d %d", v, v, v, v, v, v, v, v, v, v, v)
				if got != want {
					errs <- fmt.Errorf("goroutine %d call %d: %q, want %q", g, i, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNoAllocations(t *testing.T) {
	memset := sym(t, "libc.so.6", "memset")
	buf := make([]byte, 16)
	allocs := testing.AllocsPerRun(100, func() {
		f := New(memset)
		f.Ptr(unsafe.Pointer(&buf[0]))
		f.Int(1)
		f.Int(int64(len(buf)))
		f.Call()
	})
	if allocs != 0 {
		t.Errorf("a call allocates %g times, want 0", allocs)
	}
}

func TestTooManyArgumentsPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "ccall: too many stack arguments" {
			t.Errorf("recovered %v", r)
		}
	}()
	f := New(1)
	for range intRegs + MaxStack + 1 {
		f.Int(0)
	}
}

// BenchmarkCall compares the ways to call a trivial C function (labs) without cgo.
func BenchmarkCall(b *testing.B) {
	labs := sym(b, "libc.so.6", "labs")
	b.Run("ccall", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f := New(labs)
			f.Int(-3)
			f.Call()
		}
	})
	b.Run("purego.SyscallN", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			purego.SyscallN(labs, ^uintptr(2))
		}
	})
	b.Run("purego.RegisterFunc", func(b *testing.B) {
		var fn func(int64) int64
		purego.RegisterFunc(&fn, labs)
		b.ReportAllocs()
		for b.Loop() {
			fn(-3)
		}
	})
}

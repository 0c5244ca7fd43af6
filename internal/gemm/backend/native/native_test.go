package native

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCandidatesOrder(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{"py3.11/lib", "py3.12/lib"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got := Candidates("libx.so.1", "/a:/b::", []string{"/c", filepath.Join(dir, "py3.*/lib"), "/none/*/lib"})
	want := []string{
		"/a/libx.so.1", "/b/libx.so.1", // LD_LIBRARY_PATH first, empty entries dropped
		"libx.so.1", // then the loader's own search
		"/c/libx.so.1",
		filepath.Join(dir, "py3.11/lib/libx.so.1"), filepath.Join(dir, "py3.12/lib/libx.so.1"), // globs expand
		"/none/*/lib/libx.so.1", // a glob without matches stays as is and is skipped by Open
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Candidates =\n%q\nwant\n%q", got, want)
	}
}

func TestOpenNotFound(t *testing.T) {
	_, err := Open([]string{"libresnas-does-not-exist.so.7", filepath.Join(t.TempDir(), "libresnas-nope.so")})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open of missing libraries: %v, want ErrNotFound", err)
	}
}

func TestOpenBrokenIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "libbroken.so")
	if err := os.WriteFile(path, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open([]string{"libresnas-does-not-exist.so.7", path})
	if err == nil || errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of a broken library: %v, want the loader's one-line reason naming it", err)
	}
}

func TestBindNamesMissingSymbol(t *testing.T) {
	lib, err := Open([]string{"libc.so.6"})
	if err != nil {
		t.Skipf("no libc.so.6 to test with: %v", err)
	}
	var strlen func(s string) uintptr
	var missing func()
	if err := lib.Bind(Symbol{"strlen", &strlen}); err != nil {
		t.Fatal(err)
	}
	if n := strlen("resnas"); n != 6 {
		t.Errorf("strlen via Bind = %d", n)
	}
	err = lib.Bind(Symbol{"resnas_no_such_function", &missing})
	if err == nil || err.Error() != "libc.so.6 has no resnas_no_such_function (library too old?)" {
		t.Errorf("Bind of a missing symbol: %v", err)
	}
	if lib.Has("resnas_no_such_function") || !lib.Has("strlen") {
		t.Error("Has is wrong")
	}
}

func TestScaleC(t *testing.T) {
	nan := float32(math.NaN())
	c := []float32{nan, 2, 9, 4, nan, 9}
	ScaleC(2, 2, 0, c, 3)
	if c[0] != 0 || c[1] != 0 || c[3] != 0 || c[4] != 0 || c[2] != 9 || c[5] != 9 {
		t.Errorf("beta 0 over NaN: %v, want zeros in the block and padding kept", c)
	}
	c = []float32{1, 2, 9, 4}
	ScaleC(2, 1, -0.5, c, 2)
	if c[0] != -0.5 || c[2] != -4.5 || c[1] != 2 || c[3] != 4 {
		t.Errorf("beta -0.5: %v", c)
	}
}

func TestFileResolvesBareName(t *testing.T) {
	lib, err := Open([]string{"libc.so.6"})
	if err != nil {
		t.Skipf("no libc.so.6 to test with: %v", err)
	}
	f := lib.File("strlen")
	if !filepath.IsAbs(f) || !strings.Contains(filepath.Base(f), "libc") {
		t.Errorf("File of libc.so.6 = %q, want an absolute path to libc", f)
	}
	if _, err := os.Stat(f); err != nil {
		t.Error(err)
	}
}

func TestAddr(t *testing.T) {
	lib, err := Open([]string{"libc.so.6"})
	if err != nil {
		t.Skipf("no libc.so.6 to test with: %v", err)
	}
	if addr, err := lib.Addr("strlen"); err != nil || addr == 0 {
		t.Errorf("Addr(strlen) = %#x, %v", addr, err)
	}
	_, err = lib.Addr("resnas_no_such_function")
	if err == nil || err.Error() != "libc.so.6 has no resnas_no_such_function (library too old?)" {
		t.Errorf("Addr of a missing symbol: %v", err)
	}
}

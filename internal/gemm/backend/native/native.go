// Package native holds what the backends that call native libraries share: finding and
// opening a shared library with dlopen (through purego, so binaries stay CGO_ENABLED=0), binding
// its functions, and checking Sgemm arguments in Go before any pointer crosses into C, where a
// bad length would corrupt memory instead of panicking.
package native

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ebitengine/purego"
)

// Library is a shared library opened with dlopen. Libraries are never closed: unloading
// OpenBLAS or the CUDA driver while their worker threads live is unsafe, and the process
// keeps them for its lifetime anyway.
type Library struct {
	// Path is what dlopen was given: a bare file name (found through LD_LIBRARY_PATH, the
	// ld.so cache or the default directories) or a full path.
	Path   string
	handle uintptr
}

// ErrNotFound says that no candidate of a library exists on this machine.
var ErrNotFound = errors.New("not found")

// Candidates lists where to look for the library file name, in order: each directory of
// ldLibraryPath (explicitly, so a directory set after start-up counts too), the bare name (the
// dynamic loader's own search), then each of dirs. Entries of dirs may be glob patterns.
func Candidates(name, ldLibraryPath string, dirs []string) []string {
	var out []string
	for _, d := range filepath.SplitList(ldLibraryPath) {
		if d != "" {
			out = append(out, filepath.Join(d, name))
		}
	}
	out = append(out, name)
	for _, d := range dirs {
		matches, err := filepath.Glob(d)
		if err != nil || len(matches) == 0 {
			matches = []string{d}
		}
		for _, m := range matches {
			out = append(out, filepath.Join(m, name))
		}
	}
	return out
}

// Open dlopens the first candidate that loads. A candidate that exists but fails to load (a
// missing dependency, a wrong architecture) is more telling than "not found", so its loader
// message is returned when nothing loads; otherwise the error wraps ErrNotFound.
func Open(candidates []string) (Library, error) {
	var firstBroken error
	for _, c := range candidates {
		if strings.ContainsRune(c, '/') {
			if _, err := os.Stat(c); err != nil {
				continue
			}
		}
		h, err := dlopen(c)
		if err == nil {
			return Library{Path: c, handle: h}, nil
		}
		msg := err.Error()
		bareMissing := !strings.ContainsRune(c, '/') && strings.HasPrefix(msg, c+":") && strings.Contains(msg, "No such file")
		if !bareMissing && firstBroken == nil {
			firstBroken = errors.New(oneLine(msg))
		}
	}
	if firstBroken != nil {
		return Library{}, firstBroken
	}
	return Library{}, ErrNotFound
}

// Symbol names a C function and the Go function variable to bind it to; Fn must point to a
// func whose parameters match the C prototype (see purego.RegisterFunc).
type Symbol struct {
	Name string
	Fn   any
}

// Bind resolves every symbol, or returns an error naming the first one missing (a library too
// old for this program).
func (l Library) Bind(syms ...Symbol) error {
	for _, s := range syms {
		addr, err := purego.Dlsym(l.handle, s.Name)
		if err != nil || addr == 0 {
			return fmt.Errorf("%s has no %s (library too old?)", filepath.Base(l.Path), s.Name)
		}
		purego.RegisterFunc(s.Fn, addr)
	}
	return nil
}

// Has reports whether the library exports name, for optional functions.
func (l Library) Has(name string) bool {
	addr, err := purego.Dlsym(l.handle, name)
	return err == nil && addr != 0
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// File is the file the library was actually loaded from, found as the mapping in
// /proc/self/maps that holds symbol's code (the loader resolves bare names and symlinks, so
// Path alone may not say). It falls back to Path where /proc is unavailable.
func (l Library) File(symbol string) string {
	addr, err := purego.Dlsym(l.handle, symbol)
	if err != nil || addr == 0 {
		return l.Path
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return l.Path
	}
	for _, line := range strings.Split(string(maps), "\n") {
		// start-end perms offset dev inode path
		fields := strings.Fields(line)
		if len(fields) < 6 || !strings.HasPrefix(fields[5], "/") {
			continue
		}
		var start, end uintptr
		if _, err := fmt.Sscanf(fields[0], "%x-%x", &start, &end); err != nil {
			continue
		}
		if start <= addr && addr < end {
			return fields[5]
		}
	}
	return l.Path
}

// dlopen loads c with the calling goroutine held on its thread: dlerror's message is per
// thread, and purego reads it in a second call, so a goroutine moved in between (the
// scheduler under load) read an empty message ("libcuda.so.1: ") instead of "not found".
func dlopen(c string) (uintptr, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return purego.Dlopen(c, purego.RTLD_NOW|purego.RTLD_LOCAL)
}

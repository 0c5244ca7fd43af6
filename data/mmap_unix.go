//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package data

import (
	"os"
	"syscall"
)

// mapFile maps f read-only. It returns ok=false (and no error) when the file cannot be mapped,
// for example an empty file or a filesystem without mmap, so the caller reads it instead.
func mapFile(f *os.File, size int64) (b []byte, unmap func() error, ok bool) {
	if size <= 0 || int64(int(size)) != size {
		return nil, nil, false
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, false
	}
	return b, func() error { return syscall.Munmap(b) }, true
}

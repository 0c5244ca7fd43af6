//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package data

import "os"

// mapFile never maps on this platform; the caller reads the file instead.
func mapFile(f *os.File, size int64) (b []byte, unmap func() error, ok bool) {
	return nil, nil, false
}

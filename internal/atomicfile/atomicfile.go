// Package atomicfile writes files that appear whole or not at all: data goes to a temporary
// file in the destination's directory (so the rename cannot cross filesystems), is synced,
// closed and renamed over the destination, and the directory is synced so the rename itself
// survives a crash; on any failure the temporary file is removed.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// Write writes b to path atomically.
func Write(path string, b []byte) error {
	return WriteFunc(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// WriteFunc lets fill stream the contents of path; path changes only if fill succeeds.
// Both the file and its directory are synced before WriteFunc returns, so a file it wrote
// is still there, whole, after a power loss (what a training state resumed hours later
// needs).
func WriteFunc(path string, fill func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = fill(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable. A variable so tests can see it called.
var syncDir = func(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for syncing there; renames are journaled
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ReplaceDir renames the staged folder tmp to dir. An earlier dir is moved aside first and
// deleted only once tmp is in place, so a failure leaves the earlier one where it was.
func ReplaceDir(tmp, dir string) error {
	if _, err := os.Lstat(dir); err != nil {
		return os.Rename(tmp, dir)
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Rename(old, dir) // put the earlier one back
		return err
	}
	return os.RemoveAll(old)
}

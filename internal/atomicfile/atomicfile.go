// Package atomicfile writes files that appear whole or not at all: data goes to a temporary
// file in the destination's directory (so the rename cannot cross filesystems), is synced,
// closed and renamed over the destination, and the directory is synced so the new entry
// survives a crash; on any failure the temporary file is removed.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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
	bw := bufio.NewWriter(f)
	if err = fill(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
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
	SyncDir(filepath.Dir(path))
	return nil
}

// SyncDir makes the entries of dir (a new or renamed file) durable. Failure only weakens
// crash safety (some filesystems cannot sync a directory), so it is not reported.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
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

// Creatable reports, before any work, why a file at path could not be written later: path
// is a directory, its directory is missing or not a directory, or files cannot be created
// there (permissions, read-only mounts and pseudo-filesystems all answer only to an actual
// attempt, so a temporary file is created and removed). Each error says how to fix it.
func Creatable(path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return errors.New("is a directory: give a file path")
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist: create it or choose another path", dir)
	case err != nil:
		return fmt.Errorf("%v: choose another path", rootCause(err))
	case !st.IsDir():
		return fmt.Errorf("%s is not a directory: choose another path", dir)
	}
	return probe(dir)
}

// DirCreatable is Creatable for a directory dir that will be created with its parents when
// missing: its nearest existing ancestor must be a directory where files can be created.
func DirCreatable(dir string) error {
	dir = filepath.Clean(dir)
	for {
		st, err := os.Stat(dir)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s is not a directory: choose another path", dir)
			}
			return probe(dir)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%v: choose another path", rootCause(err))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return fmt.Errorf("%v: choose another path", rootCause(err))
		}
		dir = parent
	}
}

// probe creates and removes a temporary file in dir.
func probe(dir string) error {
	f, err := os.CreateTemp(dir, ".resnas-write-check-*")
	if err != nil {
		return fmt.Errorf("cannot create files in %s (%v): choose a writable directory", dir, rootCause(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// rootCause drops the operation and path a *fs.PathError repeats, which the messages above
// already give.
func rootCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

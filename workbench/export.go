package workbench

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/internal/atomicfile"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// ExportFiles are what an export writes into its folder, in the order it lists them.
func ExportFiles() []string {
	return []string{"subnet.safetensors", "network_def.txt", "metrics.json"}
}

// CheckExportDir refuses an existing non-empty dir unless overwrite is set and it holds only
// an earlier export's files, so a mistyped folder never deletes someone's work. Its errors
// name dir; callers add the flag or prompt it came from.
func CheckExportDir(dir string, overwrite bool) error {
	// The export is staged next to dir and renamed into place, which cannot be done to the
	// current folder or one above it.
	if abs, err := filepath.Abs(dir); err == nil {
		if wd, err := os.Getwd(); err == nil && (abs == wd || strings.HasPrefix(wd, abs+string(filepath.Separator)) || abs == filepath.Dir(abs)) {
			return Usagef("%s is the current folder or one above it: name a subfolder, e.g. %s", dir, filepath.Join(dir, "export"))
		}
	}
	st, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return checkParentDir(dir)
	} else if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: exists and is not a folder (choose another output)", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return checkParentDir(dir)
	}
	if !overwrite {
		return fmt.Errorf("%s: already exists (pass --overwrite to replace an earlier export, or choose another output)", dir)
	}
	for _, en := range entries {
		if !slices.Contains(ExportFiles(), en.Name()) {
			return fmt.Errorf("%s: holds %s, which is not part of an export, so the folder will not be overwritten (remove it yourself or choose another output)", dir, en.Name())
		}
		if !en.Type().IsRegular() {
			return fmt.Errorf("%s: %s is not a file, so the folder will not be overwritten (remove it yourself or choose another output)", dir, en.Name())
		}
	}
	return checkParentDir(dir)
}

// checkParentDir checks that a folder can be created next to dir, where the export is staged.
func checkParentDir(dir string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dir)), "."+filepath.Base(dir)+".check-*")
	if err != nil {
		return fmt.Errorf("%s: cannot write there: %w", dir, err)
	}
	return os.Remove(tmp)
}

// ExportSubnet writes dir/subnet.safetensors (arch's own weights, sliced out of l),
// dir/network_def.txt and dir/metrics.json into a folder next to dir and then renames it into
// place, so dir ends up with all three files or keeps what it had.
func ExportSubnet(l *Loaded, arch model.Arch, dir string, metrics map[string]any) (files []string, err error) {
	w, err := supernet.Slice(l.Checkpoint.Weights, arch, l.Input)
	if err != nil {
		return nil, err
	}
	dir = filepath.Clean(dir)
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	// MkdirTemp makes 0700; an export is meant to be shared like any output folder.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	ck := l.Checkpoint
	meta := checkpoints.Meta{Arch: arch.String(), Input: l.Input, Classes: arch.Head.Classes, Mean: ck.Meta.Mean, Std: ck.Meta.Std}
	meta.Provenance = checkpoints.Provenance{Source: l.Name, SHA256: ck.SHA256, Command: "resnas export", Created: time.Now().UTC()}
	names := ExportFiles()
	staged := make([]string, len(names))
	for i, name := range names {
		staged[i] = filepath.Join(tmp, name)
		files = append(files, filepath.Join(dir, name))
	}
	if err := checkpoints.Save(staged[0], w, meta, checkpoints.SaveOptions{}); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(staged[1], []byte(arch.String()+"\n")); err != nil {
		return nil, err
	}
	mj, err := json.MarshalIndent(metrics, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(staged[2], append(mj, '\n')); err != nil {
		return nil, err
	}
	if err := atomicfile.ReplaceDir(tmp, dir); err != nil {
		return nil, fmt.Errorf("export to %s: %w", dir, err)
	}
	return files, nil
}

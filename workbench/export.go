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

// Formats of an export's weights (resnas export --format).
const (
	FormatSafetensors = "safetensors" // subnet.safetensors: resnas's own format, supernet block indices
	FormatPyTorch     = "pytorch"     // subnet.pth: torch.save, named as the compact network_def's model
	FormatBoth        = "both"
)

// Files an export writes.
const (
	exportSafetensors = "subnet.safetensors"
	exportPyTorch     = "subnet.pth"
	exportDef         = "network_def.txt"
	exportCompactDef  = "network_def_compact.txt"
	exportRetrain     = "RETRAIN.md"
	exportMetrics     = "metrics.json"
)

// CheckExportFormat refuses a --format other than safetensors, pytorch or both ("" is
// safetensors).
func CheckExportFormat(format string) error {
	switch format {
	case "", FormatSafetensors, FormatPyTorch, FormatBoth:
		return nil
	}
	return Usagef("%q is not a format: want %s, %s or %s", format, FormatSafetensors, FormatPyTorch, FormatBoth)
}

// ExportFiles are every file an export of any format may write into its folder: what
// --overwrite may replace.
func ExportFiles() []string {
	return []string{exportSafetensors, exportPyTorch, exportDef, exportCompactDef, exportRetrain, exportMetrics}
}

// exportNames are the files an export of format writes, in the order it lists them.
func exportNames(format string) []string {
	var names []string
	if format != FormatPyTorch {
		names = append(names, exportSafetensors)
	}
	if format == FormatPyTorch || format == FormatBoth {
		names = append(names, exportPyTorch)
	}
	names = append(names, exportDef)
	if format == FormatPyTorch || format == FormatBoth {
		names = append(names, exportCompactDef, exportRetrain)
	}
	return append(names, exportMetrics)
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

// ExportOptions choose what an export writes.
type ExportOptions struct {
	Format string // FormatSafetensors (or ""), FormatPyTorch or FormatBoth
}

// ExportResult is what an export wrote.
type ExportResult struct {
	Files []string // paths, in dir
	// Notes name each constraint of the reference code (github.com/yilunliao/vit-search) the
	// PyTorch export breaks, so that its retraining script cannot use it as is; empty for a
	// safetensors export.
	Notes []string
}

// ExportSubnet writes dir/subnet.safetensors (arch's own weights, sliced out of l),
// dir/network_def.txt and dir/metrics.json into a folder next to dir and then renames it into
// place, so dir ends up with all three files or keeps what it had.
func ExportSubnet(l *Loaded, arch model.Arch, dir string, metrics map[string]any) ([]string, error) {
	r, err := ExportSubnetAs(l, arch, dir, metrics, ExportOptions{})
	return r.Files, err
}

// ExportSubnetAs is ExportSubnet in a format. A PyTorch export adds dir/subnet.pth (see
// PyTorchStateDict), dir/network_def_compact.txt and dir/RETRAIN.md (the reference
// command line that fine-tunes from it); all files appear together or none does.
func ExportSubnetAs(l *Loaded, arch model.Arch, dir string, metrics map[string]any, opts ExportOptions) (res ExportResult, err error) {
	if err := CheckExportFormat(opts.Format); err != nil {
		return res, err
	}
	w, err := supernet.Slice(l.Checkpoint.Weights, arch, l.Input)
	if err != nil {
		return res, err
	}
	var torchSD []checkpoints.TorchTensor
	var patchHead bool
	if opts.Format == FormatPyTorch || opts.Format == FormatBoth {
		if torchSD, patchHead, err = pyTorchStateDict(l.Checkpoint.Weights, w, arch, l.Input); err != nil {
			return res, err
		}
		res.Notes = ReferenceNotes(arch, l.Input, patchHead)
	}
	dir = filepath.Clean(dir)
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return res, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	// MkdirTemp makes 0700; an export is meant to be shared like any output folder.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return res, err
	}
	ck := l.Checkpoint
	meta := checkpoints.Meta{Arch: arch.String(), Input: l.Input, Classes: arch.Head.Classes, Mean: ck.Meta.Mean, Std: ck.Meta.Std}
	meta.Provenance = checkpoints.Provenance{Source: l.Name, SHA256: ck.SHA256, Command: "resnas export", Created: time.Now().UTC()}
	var files []string
	for _, name := range exportNames(opts.Format) {
		staged := filepath.Join(tmp, name)
		files = append(files, filepath.Join(dir, name))
		var err error
		switch name {
		case exportSafetensors:
			err = checkpoints.Save(staged, w, meta, checkpoints.SaveOptions{})
		case exportPyTorch:
			err = checkpoints.SaveTorch(staged, torchSD, checkpoints.TorchSaveOptions{Wrap: checkpoints.SourceModel})
		case exportDef:
			err = atomicfile.Write(staged, []byte(arch.String()+"\n"))
		case exportCompactDef:
			err = atomicfile.Write(staged, []byte(arch.Compact().String()+"\n"))
		case exportRetrain:
			err = atomicfile.Write(staged, []byte(retrainText(l, arch, dir, patchHead, res.Notes)))
		case exportMetrics:
			var mj []byte
			if mj, err = json.MarshalIndent(metrics, "", "  "); err == nil {
				err = atomicfile.Write(staged, append(mj, '\n'))
			}
		}
		if err != nil {
			return res, err
		}
	}
	if err := atomicfile.ReplaceDir(tmp, dir); err != nil {
		return res, fmt.Errorf("export to %s: %w", dir, err)
	}
	res.Files = files
	return res, nil
}

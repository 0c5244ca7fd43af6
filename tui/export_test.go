package tui

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/resnas/resnas/model"
)

func TestExportWritesFiles(t *testing.T) {
	m := withPoints(t, 80, 24)
	dir := filepath.Join(t.TempDir(), "out")
	m = keys(t, m, "e")
	if m.prompt.input.Value() != defaultExport {
		t.Errorf("export prompt offers %q, want %q", m.prompt.input.Value(), defaultExport)
	}
	m.prompt.input.SetValue(dir)
	m = keys(t, m, "enter")
	if m.status.isErr || !strings.Contains(m.status.msg, "exported 3 files") {
		t.Fatalf("status after export: %q", m.status.msg)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "history.csv network_def.txt tradeoff.png" {
		t.Fatalf("export folder holds %v (temporary files left behind?)", names)
	}
	def, _ := os.ReadFile(filepath.Join(dir, "network_def.txt"))
	if strings.TrimSpace(string(def)) != m.arch.String() {
		t.Error("the exporter got another architecture than the editor's")
	}
	png, _ := os.ReadFile(filepath.Join(dir, plotFile))
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 2000 {
		t.Errorf("tradeoff.png is not a PNG plot (%d bytes)", len(png))
	}
	f, _ := os.ReadFile(filepath.Join(dir, historyFile))
	rows, err := csv.NewReader(bytes.NewReader(f)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(m.hist.points)+1 {
		t.Fatalf("history.csv has %d rows, want a header and %d points", len(rows), len(m.hist.points))
	}
	fronts := 0
	for i, r := range rows[1:] {
		p := m.hist.points[i]
		a, err := model.ParseArch(r[2])
		if err != nil || r[4] != strconv.FormatInt(p.macs, 10) || r[3] != strconv.FormatFloat(p.est.Top1, 'f', -1, 64) {
			t.Errorf("row %d = %v does not match point %+v (%v)", i, r, p.est, err)
		}
		if m.keyOf(a) != p.key {
			t.Errorf("row %d: network_def does not round-trip", i)
		}
		if r[13] == "true" {
			fronts++
		}
	}
	if fronts != m.plot.Front() {
		t.Errorf("%d rows on the front, the plot has %d", fronts, m.plot.Front())
	}
}

func TestExportWithoutExporter(t *testing.T) {
	opts := testOptions()
	opts.Exporter = nil
	m := sized(t, opts, 80, 24)
	dir := t.TempDir()
	m = keys(t, m, "e")
	m.prompt.input.SetValue(dir)
	m = keys(t, m, "enter")
	if !strings.Contains(m.status.msg, "plot and history only") {
		t.Errorf("status %q does not say the sub-network was not exported", m.status.msg)
	}
}

func TestExportErrorIsShown(t *testing.T) {
	m := sized(t, testOptions(), 80, 24)
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	m = keys(t, m, "e")
	m.prompt.input.SetValue(filepath.Join(blocker, "sub"))
	m = keys(t, m, "enter")
	if !m.status.isErr || m.status.running(jobExport) {
		t.Errorf("export into a file: status %q (error %v)", m.status.msg, m.status.isErr)
	}
}

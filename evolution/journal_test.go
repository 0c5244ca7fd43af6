package evolution

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeJournal(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const (
	testHeader = `{"kind":"header","version":1,"checkpoint_sha256":"c0ffee","space":"evotest","data_manifest":"d47a","seed":0,"options":{}}` + "\n"
	testEval   = `{"kind":"eval","index":0,"generation":0,"network_def":"((4, 32), (3, 32, 64), (2, 64, 10))","top1":50,"top5":60,"images":10,"macs":1,"params":1,"origin":"random"}` + "\n"
	testInject = `{"kind":"action","action":"inject","at":1,"generation":0,"network_def":"((4, 32), (3, 32, 64), (2, 64, 10))"}` + "\n"
)

func TestReadJournal(t *testing.T) {
	c, err := ReadJournal(writeJournal(t, testHeader, testEval, testInject, testEval[:40]))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Records) != 1 || len(c.Actions) != 1 || c.Header.Checkpoint != "c0ffee" {
		t.Errorf("read %+v", c)
	}
	// The header has no per_image: an older resnas wrote it, which the reader notes.
	if len(c.Warnings) != 2 || !strings.Contains(c.Warnings[0], ":4:") || !strings.Contains(c.Warnings[1], "1 evaluations have no per-image results") {
		t.Errorf("warnings %q, want one about line 4 and one about the missing per-image results", c.Warnings)
	}
	if c.Records[0].Arch.Head.Dim != 64 {
		t.Errorf("network_def not parsed: %+v", c.Records[0].Arch)
	}
}

func TestDamageBeforeTheLastLineIsAnError(t *testing.T) {
	_, err := ReadJournal(writeJournal(t, testHeader, testEval[:40]+"\n", testEval))
	if err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("ReadJournal: %v, want an error naming line 2", err)
	}
	_, err = ReadJournal(writeJournal(t, testEval))
	if err == nil || !strings.Contains(err.Error(), "header") {
		t.Fatalf("ReadJournal without header: %v", err)
	}
}

func TestTornHeaderStartsAfresh(t *testing.T) {
	path := writeJournal(t, testHeader[:30])
	sp := testSpace()
	cfg := Config{Space: sp, Options: smallOptions(sp, 1), Journal: path, Checkpoint: "c0ffee"}
	cfg.Options.Generations = 1
	s, err := runSearch(t, cfg, newFake())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Records) != len(s.Records(0)) || len(c.Warnings) != 0 {
		t.Errorf("journal holds %d records and warnings %q", len(c.Records), c.Warnings)
	}
}

func TestLostNewlineIsRestored(t *testing.T) {
	dir := t.TempDir()
	sp := testSpace()
	cfg := Config{Space: sp, Options: smallOptions(sp, 1), Journal: filepath.Join(dir, "j.jsonl"), Checkpoint: "c0ffee"}
	cfg.Options.Generations = 1
	if _, err := runSearch(t, cfg, newFake()); err != nil {
		t.Fatal(err)
	}
	data := readFile(t, cfg.Journal)
	// Keep the first 5 evaluations, the last of them without its newline.
	lines := strings.SplitAfter(data, "\n")
	cut := strings.Join(lines[:6], "")
	if err := os.WriteFile(cfg.Journal, []byte(strings.TrimSuffix(cut, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := runSearch(t, cfg, newFake())
	if err != nil {
		t.Fatal(err)
	}
	if s.Resumed() != 5 {
		t.Errorf("resumed %d, want 5", s.Resumed())
	}
	if got := readFile(t, cfg.Journal); got != data {
		t.Error("journal after resuming differs from the uninterrupted one")
	}
}

func TestReadJournalHeader(t *testing.T) {
	h, err := ReadJournalHeader(writeJournal(t, testHeader, testEval))
	if err != nil || h.Checkpoint != "c0ffee" || h.Space != "evotest" {
		t.Errorf("header %+v, %v", h, err)
	}
	for _, c := range []struct{ content, want string }{
		{testEval, "not a resnas search journal"},
		{testHeader[:30], "no complete first line"},
	} {
		if _, err := ReadJournalHeader(writeJournal(t, c.content)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.content[:20], err, c.want)
		}
	}
}

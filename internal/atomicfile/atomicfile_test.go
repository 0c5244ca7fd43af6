package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReplacesWhole(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.txt")
	if err := Write(p, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("second")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "second" {
		t.Fatalf("got %q, want second", b)
	}
}

func TestFailedWriteLeavesOldFileAndNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	if err := Write(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFunc(p, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("destination changed to %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary file left behind: %v", ents)
	}
}

func TestReplaceDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	stage := func(content string) string {
		tmp, err := os.MkdirTemp(root, ".out-*")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, "f"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return tmp
	}
	for _, content := range []string{"first", "second"} { // a new folder, then a replacement
		if err := ReplaceDir(stage(content), dir); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "f")); err != nil || string(b) != content {
			t.Fatalf("after replacing with %q: %q, %v", content, b, err)
		}
	}
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestCreatable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, path, want string
		dirMode          bool
	}{
		{"new file", filepath.Join(dir, "new.csv"), "", false},
		{"existing file", file, "", false},
		{"a directory", dir, "is a directory", false},
		{"missing parent", filepath.Join(dir, "no", "x.csv"), "does not exist", false},
		{"parent is a file", filepath.Join(file, "x.csv"), "not a directory", false},
		{"new nested dir", filepath.Join(dir, "a", "b", "c"), "", true},
		{"dir under a file", filepath.Join(file, "sub"), "not a directory", true},
	} {
		check := Creatable
		if c.dirMode {
			check = DirCreatable
		}
		err := check(c.path)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the checks left %d entries behind, want only the file", len(entries))
	}
	if os.Geteuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o555)
		if err := Creatable(filepath.Join(ro, "x")); err == nil || !strings.Contains(err.Error(), "cannot create files") {
			t.Errorf("read-only directory: %v", err)
		}
	}
}

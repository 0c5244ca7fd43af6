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

// TestWriteFunc: a streamed write replaces the destination whole (mode 0644) and syncs its
// directory, or leaves the earlier file and no temporary file behind.
func TestWriteFunc(t *testing.T) {
	boom := errors.New("boom")
	chunks := func(parts ...string) func(io.Writer) error {
		return func(w io.Writer) error {
			for _, p := range parts {
				if _, err := io.WriteString(w, p); err != nil {
					return err
				}
			}
			return nil
		}
	}
	for _, tc := range []struct {
		name    string
		earlier string // "" for no earlier file
		dir     string // under the temporary root; "missing/" does not exist
		fill    func(io.Writer) error
		wantErr bool
		want    string // contents afterwards; "" for no file
	}{
		{name: "new file in chunks", fill: chunks("state ", "of ", "epoch 3"), want: "state of epoch 3"},
		{name: "replaces an earlier file", earlier: "epoch 2", fill: chunks("epoch 3"), want: "epoch 3"},
		{name: "empty file", earlier: "epoch 2", fill: chunks(), want: ""},
		{name: "failed fill keeps the earlier file", earlier: "epoch 2", wantErr: true, want: "epoch 2",
			fill: func(w io.Writer) error { io.WriteString(w, "half"); return boom }},
		{name: "failed fill writes nothing new", wantErr: true,
			fill: func(w io.Writer) error { io.WriteString(w, "half"); return boom }},
		{name: "missing directory", dir: "missing/", fill: chunks("x"), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			path := filepath.Join(root, tc.dir, "out.bin")
			if tc.earlier != "" {
				if err := os.WriteFile(path, []byte(tc.earlier), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := WriteFunc(path, tc.fill)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			b, rerr := os.ReadFile(path)
			switch {
			case tc.wantErr && tc.earlier == "":
				if rerr == nil {
					t.Errorf("a failed write created %s", path)
				}
			case rerr != nil:
				t.Fatal(rerr)
			case string(b) != tc.want:
				t.Errorf("contents %q, want %q", b, tc.want)
			}
			if !tc.wantErr {
				if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
					t.Errorf("mode %v (%v), want 0644", st.Mode().Perm(), err)
				}
			}
			files := 1 // the destination, and no temporary file
			if tc.wantErr && tc.earlier == "" {
				files = 0
			}
			if ents, _ := os.ReadDir(root); tc.dir == "" && len(ents) != files {
				t.Errorf("left in the directory: %v", ents)
			}
		})
	}
}

// TestSyncDir: syncing a directory neither fails nor panics, also for a directory that is
// gone (crash safety is then simply weaker).
func TestSyncDir(t *testing.T) {
	SyncDir(t.TempDir())
	SyncDir(filepath.Join(t.TempDir(), "missing"))
}

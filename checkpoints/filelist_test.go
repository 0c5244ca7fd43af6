package checkpoints

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestReadFileList: the reference's dict of class folder → file names, pickled by Python with
// protocols 2, 3 and 4 (testdata/filelist, made with /usr/bin/python3's pickle), and a plain
// text list, give the same images; a pickle that names a global is refused by name.
func TestReadFileList(t *testing.T) {
	want := map[string][]string{"n02": {"b.JPEG", "a.JPEG"}, "n01": {"c.png"}}
	for _, f := range []string{"list-p2.pickle", "list-p3.pickle", "list-p4.pickle"} {
		got, err := ReadFileList(filepath.Join("testdata", "filelist", f))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, %v; want %v", f, got, err, want)
		}
	}
	txt := filepath.Join(t.TempDir(), "list.txt")
	os.WriteFile(txt, []byte("# sub-val\nn02/b.JPEG\n\nn01/c.png\nn02/a.JPEG\n"), 0o644)
	got, err := ReadFileList(txt)
	if err != nil || !reflect.DeepEqual(got, map[string][]string{"n02": {"a.JPEG", "b.JPEG"}, "n01": {"c.png"}}) {
		t.Errorf("text list: %v, %v", got, err)
	}
	for _, c := range []struct{ file, want string }{
		{"evil.pickle", "os.system"},
		{"ordered.pickle", "collections.OrderedDict"},
	} {
		if _, err := ReadFileList(filepath.Join("testdata", "filelist", c.file)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a refusal naming %s", c.file, err, c.want)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, []byte("n01/c.png\njust-a-file.png\n"), 0o644)
	if _, err := ReadFileList(bad); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a line without class/: %v", err)
	}
}

package gpukernels

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestPTXUpToDate regenerates the PTX with gen.sh where clang is installed and requires the
// committed kernels.ptx to match, so the embedded code is what kernels.cu says.
func TestPTXUpToDate(t *testing.T) {
	// Other clang versions emit other (equally valid) PTX; only the pinned one must match.
	clang, err := exec.LookPath("clang-14")
	if err != nil {
		t.Skip("no clang-14 to regenerate kernels.ptx (apt-get install clang-14)")
	}
	dir := t.TempDir()
	cmd := exec.Command("sh", "gen.sh", dir)
	cmd.Env = append(os.Environ(), "CLANG="+clang)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, b)
	}
	for _, name := range []string{"kernels_sm75.ptx", "kernels_sm52.ptx"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(committed) {
			t.Errorf("%s is stale: run internal/gpukernels/gen.sh and commit it", name)
		}
	}
}

// TestPTXEntries: the PTX defines exactly the kernels Load looks up, each also in the fake
// driver's table, and calls nothing outside itself (no libdevice), so the JIT needs no linker.
func TestPTXEntries(t *testing.T) {
	for i, ptx := range PTX {
		var entries []string
		for _, m := range regexp.MustCompile(`\.entry (\w+)\(`).FindAllStringSubmatch(ptx, -1) {
			entries = append(entries, m[1])
		}
		want := slices.Clone(Names)
		slices.Sort(want)
		slices.Sort(entries)
		if !slices.Equal(entries, want) {
			t.Errorf("PTX %d entries %v, Names %v", i, entries, want)
		}
		for _, bad := range []string{".extern", "call.uni", "call "} {
			if strings.Contains(ptx, bad) {
				t.Errorf("PTX %d contains %q: a kernel calls an external function", i, bad)
			}
		}
	}
	if target(PTX[0]) != "PTX for sm_75" || target(PTX[1]) != "PTX for sm_52" {
		t.Errorf("PTX targets %q, %q; want sm_75 then sm_52", target(PTX[0]), target(PTX[1]))
	}
	for _, name := range Names {
		if !strings.Contains(Source, `{"`+name+`", run_`+name+`}`) {
			t.Errorf("kernel %s is missing from the fake driver's table in kernels.cu", name)
		}
	}
}

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
	out := filepath.Join(t.TempDir(), "kernels.ptx")
	cmd := exec.Command("sh", "gen.sh", out)
	cmd.Env = append(os.Environ(), "CLANG="+clang)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != PTX {
		t.Fatalf("kernels.ptx is stale: run internal/gpukernels/gen.sh and commit it (clang %s)", clang)
	}
}

// TestPTXEntries: the PTX defines exactly the kernels Load looks up, each also in the fake
// driver's table, and calls nothing outside itself (no libdevice), so the JIT needs no linker.
func TestPTXEntries(t *testing.T) {
	var entries []string
	for _, m := range regexp.MustCompile(`\.entry (\w+)\(`).FindAllStringSubmatch(PTX, -1) {
		entries = append(entries, m[1])
	}
	want := slices.Clone(Names)
	slices.Sort(want)
	slices.Sort(entries)
	if !slices.Equal(entries, want) {
		t.Errorf("PTX entries %v, Names %v", entries, want)
	}
	for _, name := range Names {
		if !strings.Contains(Source, `{"`+name+`", run_`+name+`}`) {
			t.Errorf("kernel %s is missing from the fake driver's table in kernels.cu", name)
		}
	}
	for _, bad := range []string{".extern", "call.uni", "call "} {
		if strings.Contains(PTX, bad) {
			t.Errorf("PTX contains %q: a kernel calls an external function", bad)
		}
	}
	if !strings.Contains(PTX, ".target sm_52") {
		t.Error("PTX does not target sm_52")
	}
}

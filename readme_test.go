package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestREADMEPackageGraph: the package graph drawn in README.md is the module's, as go list
// sees it, so the documented layering cannot drift from the code.
func TestREADMEPackageGraph(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "Package graph")
	if !ok {
		t.Fatal("README.md has no package graph")
	}
	_, rest, _ = strings.Cut(rest, "```text\n")
	drawn, _, _ := strings.Cut(rest, "```")
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	const module = "github.com/resnas/resnas"
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, "|")
		name := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		if name == "" {
			name = "main"
		}
		var deps []string
		for _, imp := range strings.Fields(imports) {
			if dep, ok := strings.CutPrefix(imp, module+"/"); ok {
				deps = append(deps, dep)
			}
		}
		slices.Sort(deps)
		list := strings.Join(deps, ", ")
		if list == "" {
			list = "(none)"
		}
		want = append(want, name+" → "+list)
	}
	got := strings.Split(strings.TrimSpace(drawn), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("README.md's package graph differs from go list; redraw it as:\n%s", strings.Join(want, "\n"))
	}
}

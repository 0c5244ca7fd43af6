package native

import (
	"fmt"
	"path/filepath"

	"github.com/ebitengine/purego"
)

// Addr is the address of the C function name, for callers that call it without purego's
// reflection (internal/ccall). The error names the missing symbol as Bind's does.
func (l Library) Addr(name string) (uintptr, error) {
	addr, err := purego.Dlsym(l.handle, name)
	if err != nil || addr == 0 {
		return 0, fmt.Errorf("%s has no %s (library too old?)", filepath.Base(l.Path), name)
	}
	return addr, nil
}

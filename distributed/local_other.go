//go:build !linux

package distributed

import "syscall"

// dieWithParent: only Linux can tie a child's life to its parent's; elsewhere a worker whose
// driver died exits when it finds the broker gone.
func dieWithParent() *syscall.SysProcAttr { return nil }

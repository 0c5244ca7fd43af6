//go:build unix

package evolution

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f without waiting. The kernel drops it when f
// is closed or the process dies, so a killed search never leaves a stale lock behind.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

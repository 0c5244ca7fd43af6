package distributed

import "syscall"

// dieWithParent makes the kernel kill a worker when the driver dies, however it dies.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

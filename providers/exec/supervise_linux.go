package exec

import "syscall"

// commandSysProcAttr: the command dies with its supervisor (Linux
// parent-death signal), even if the supervisor is killed with SIGKILL.
func commandSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

//go:build !linux

package exec

import "syscall"

// commandSysProcAttr: without a parent-death signal, the lifeline alone
// stops the command when ansflow dies.
func commandSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

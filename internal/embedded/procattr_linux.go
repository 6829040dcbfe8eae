//go:build linux

package embedded

import "syscall"

// setParentDeathSignal asks the kernel to send sig to the child when its parent dies, so a
// crashed switchboard does not leave its private server running.
func setParentDeathSignal(attr *syscall.SysProcAttr, sig syscall.Signal) {
	attr.Pdeathsig = sig
}

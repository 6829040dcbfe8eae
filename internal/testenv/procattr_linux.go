//go:build linux

package testenv

import "syscall"

// setParentDeathSignal makes the kernel signal a private server when the test binary dies
// (for example on a -timeout panic), so no server outlives its tests.
func setParentDeathSignal(attr *syscall.SysProcAttr, sig syscall.Signal) {
	attr.Pdeathsig = sig
}

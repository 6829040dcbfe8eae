//go:build unix && !linux

package embedded

import "syscall"

// setParentDeathSignal is a no-op where the kernel has no parent-death signal; a stale
// server left by a crash is stopped on the next start instead.
func setParentDeathSignal(*syscall.SysProcAttr, syscall.Signal) {}

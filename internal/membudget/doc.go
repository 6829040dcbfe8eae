// Package membudget is plumbing for the edge of the flow: it reads how much memory the
// process may use (the cgroup's memory.max, else the machine's MemTotal) and bounds
// work that holds media in memory with a byte budget (a weighted semaphore).
package membudget

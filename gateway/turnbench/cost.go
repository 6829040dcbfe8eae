package turnbench

import (
	"syscall"
	"time"
)

// Cost is what serving has used up to a moment, as counters: the CPU time of
// this process (server and load generator) and, where the caller can read
// them (Options.Cost), the CPU time of the database's backends serving it
// and the transactions the database committed. The difference of two
// readings divided by the turns between them is a cost per turn, which
// moves less with the other jobs on a shared machine than latency does.
type Cost struct {
	ProcessCPU time.Duration
	// Backends is the CPU time of each database backend (by process id): one
	// that starts between two readings counts from zero, one that ends is
	// left out (its last share is lost).
	Backends map[int32]time.Duration
	Commits  int64
	Database bool // Backends and Commits were read
}

// PerTurn is a measured window's cost per turn (Result.Cost).
type PerTurn struct {
	CPUMs         float64 `json:"cpu_ms"`                    // this process: server and load generator
	DatabaseCPUMs float64 `json:"database_cpu_ms,omitempty"` // the database's backends serving it
	Commits       float64 `json:"commits,omitempty"`         // the database's committed transactions, the background polls (queue, outbox, SLA) included: they weigh more the lower the rate
}

// processCPU is this process's user and system CPU time so far (0 where
// it cannot be read).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readCost reads this process's CPU time and, with db, the database's counters
// (left out when db fails).
func readCost(db func() (Cost, error)) Cost {
	c := Cost{}
	if db != nil {
		if d, err := db(); err == nil {
			c = d
			c.Database = true
		}
	}
	c.ProcessCPU = processCPU()
	return c
}

// perTurn divides the difference of two readings by turns (nil without turns).
func perTurn(before, after Cost, turns int) *PerTurn {
	if turns <= 0 {
		return nil
	}
	n := float64(turns)
	p := &PerTurn{CPUMs: ms(after.ProcessCPU-before.ProcessCPU) / n}
	if before.Database && after.Database {
		var cpu time.Duration
		for pid, t := range after.Backends {
			cpu += t - before.Backends[pid]
		}
		p.DatabaseCPUMs = ms(cpu) / n
		p.Commits = float64(after.Commits-before.Commits) / n
	}
	return p
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

package turnbench

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPerTurn(t *testing.T) {
	at := func(proc, db time.Duration, commits int64, read bool) Cost {
		return Cost{ProcessCPU: proc, Backends: map[int32]time.Duration{7: db}, Commits: commits, Database: read}
	}
	for _, tc := range []struct {
		name          string
		before, after Cost
		turns         int
		want          *PerTurn
	}{
		{"process and database", at(time.Second, 2*time.Second, 100, true), at(3*time.Second, 3*time.Second, 500, true), 200,
			&PerTurn{CPUMs: 10, DatabaseCPUMs: 5, Commits: 2}},
		{"database unread at the end", at(time.Second, 0, 100, true), at(2*time.Second, 0, 0, false), 100, &PerTurn{CPUMs: 10}},
		{"a backend ends, another starts", Cost{Backends: map[int32]time.Duration{1: time.Second, 2: time.Second}, Database: true},
			Cost{ProcessCPU: time.Second, Backends: map[int32]time.Duration{2: 2 * time.Second, 3: time.Second}, Database: true}, 100,
			&PerTurn{CPUMs: 10, DatabaseCPUMs: 20}},
		{"no turns", at(0, 0, 0, true), at(time.Second, 0, 0, true), 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, perTurn(tc.before, tc.after, tc.turns)); diff != "" {
				t.Errorf("perTurn (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMeasureReadsTheCost: a measured window reads the counters before and
// after it, and this process's CPU time grows while it spins.
func TestMeasureReadsTheCost(t *testing.T) {
	reads := 0
	db := func() (Cost, error) {
		reads++
		return Cost{Commits: int64(reads) * 100}, nil
	}
	before := readCost(db)
	for end := time.Now().Add(30 * time.Millisecond); time.Now().Before(end); {
	}
	p := perTurn(before, readCost(db), 10)
	if p.Commits != 10 || p.CPUMs <= 0 {
		t.Fatalf("per turn %+v, want 10 commits and some CPU", p)
	}
}

package tickets

import (
	"testing"
	"time"
)

func TestRetryDelayGrowsWithFullJitterUpToTheCap(t *testing.T) {
	p := RetryPolicy{Backoff: 2 * time.Second, MaxBackoff: 10 * time.Minute}
	for _, tc := range []struct {
		attempt int
		bound   time.Duration
	}{
		{1, 2 * time.Second}, {2, 4 * time.Second}, {5, 32 * time.Second}, {9, 512 * time.Second},
		{10, 10 * time.Minute}, {40, 10 * time.Minute}, {1 << 20, 10 * time.Minute},
	} {
		var top time.Duration
		for range 2000 {
			d := p.Delay(tc.attempt)
			if d <= 0 || d > tc.bound {
				t.Fatalf("attempt %d: delay %s outside (0, %s]", tc.attempt, d, tc.bound)
			}
			top = max(top, d)
		}
		if top < tc.bound*8/10 { // full jitter spreads over the whole range
			t.Errorf("attempt %d: largest of 2000 delays %s, want close to %s", tc.attempt, top, tc.bound)
		}
	}
	if d := (RetryPolicy{}).WithDefaults(); d.For != 24*time.Hour || d.Backoff != 2*time.Second || d.MaxBackoff != 10*time.Minute || d.MaxAbandoned != 3 {
		t.Errorf("defaults %+v", d)
	}
}

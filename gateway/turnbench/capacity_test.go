package turnbench

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeServer answers within 5 ms up to capacity turns/s and takes 100 ms
// above it; errorsFrom (when set) makes rates from it on fail with errors;
// flaky lists rates whose second run misses the target.
type fakeServer struct {
	capacity, errorsFrom int
	flaky                map[int]bool
	rates                []int
}

func (f *fakeServer) run(_ context.Context, rate int) (Result, error) {
	second := slices.Contains(f.rates, rate)
	f.rates = append(f.rates, rate)
	r := Result{OfferedPerSec: float64(rate), Turns: rate * 10, P99Ms: 5}
	if rate > f.capacity || second && f.flaky[rate] {
		r.P99Ms = 100
	}
	if f.errorsFrom > 0 && rate >= f.errorsFrom {
		r.Errors = 1
	}
	return r, nil
}

func TestFindCapacity(t *testing.T) {
	opts := SearchOptions{Start: 100, Max: 3200, Resolution: 25, P99Ms: 25, Confirmations: 2}
	for _, tc := range []struct {
		name      string
		server    fakeServer
		want      int
		wantRates []int
	}{
		{"doubles then bisects", fakeServer{capacity: 700},
			700, []int{100, 200, 400, 800, 600, 700, 750, 725, 700}},
		{"errors count as failures", fakeServer{capacity: 5000, errorsFrom: 300},
			275, []int{100, 200, 400, 300, 250, 275, 275}},
		{"stops doubling at the maximum", fakeServer{capacity: 5000},
			3200, []int{100, 200, 400, 800, 1600, 3200, 3200}},
		{"the start fails: bisects below it", fakeServer{capacity: 60},
			50, []int{100, 50, 75, 50}},
		{"a failed confirmation lowers the rate", fakeServer{capacity: 700, flaky: map[int]bool{700: true}},
			675, []int{100, 200, 400, 800, 600, 700, 750, 725, 700, 675}},
		{"nothing passes", fakeServer{capacity: 0},
			0, []int{100, 50, 25}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen []int
			got, err := FindCapacity(context.Background(), opts, tc.server.run, func(s Step) { seen = append(seen, int(s.Result.OfferedPerSec)) })
			if err != nil {
				t.Fatal(err)
			}
			if got.Rate != tc.want {
				t.Errorf("capacity %d, want %d", got.Rate, tc.want)
			}
			if diff := cmp.Diff(tc.wantRates, tc.server.rates); diff != "" {
				t.Errorf("rates tried (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.server.rates, seen); diff != "" {
				t.Errorf("progress saw (-runs +progress):\n%s", diff)
			}
			if got.Rate > 0 && (int(got.Confirmed.OfferedPerSec) != got.Rate || !Passes(got.Confirmed, opts.P99Ms)) {
				t.Errorf("confirmed run %+v for capacity %d", got.Confirmed, got.Rate)
			}
			if len(got.Steps) != len(tc.server.rates) || got.P99TargetMs != 25 {
				t.Errorf("%d steps for %d runs, target %v", len(got.Steps), len(tc.server.rates), got.P99TargetMs)
			}
		})
	}
}

func TestFindCapacityStopsOnARunnerError(t *testing.T) {
	down := errors.New("server gone")
	n := 0
	_, err := FindCapacity(context.Background(), SearchOptions{Start: 100, Max: 800, Resolution: 10, P99Ms: 25, Confirmations: 1},
		func(context.Context, int) (Result, error) {
			if n++; n == 3 {
				return Result{}, down
			}
			return Result{Turns: 1, P99Ms: 1}, nil
		}, nil)
	if !errors.Is(err, down) || n != 3 {
		t.Fatalf("err %v after %d runs", err, n)
	}
	if _, err := FindCapacity(context.Background(), SearchOptions{Start: 100, Max: 50, Resolution: 10, P99Ms: 25}, nil, nil); err == nil {
		t.Error("a maximum below the start was accepted")
	}
}

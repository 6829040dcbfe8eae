package turnbench

import (
	"context"
	"fmt"
)

// SearchOptions bound FindCapacity's search over offered rates.
type SearchOptions struct {
	Start      int     // first rate tried (turns/s)
	Max        int     // the search stops doubling here
	Resolution int     // bisection stops when the bracket is this narrow (turns/s)
	P99Ms      float64 // a step passes with p99 ≤ this and no error
	// Confirmations is how many times the best rate is run again at the
	// end; a failed confirmation lowers the rate by Resolution and tries
	// again, so the reported rate passed its last run.
	Confirmations int
}

// Step is one run of the search.
type Step struct {
	Phase  string `json:"phase"` // "double", "bisect" or "confirm"
	Pass   bool   `json:"pass"`
	Result Result `json:"result"`
}

// Capacity is what FindCapacity found: the highest offered rate that met the
// target in its confirmation run (0 when even Start failed), that run, and every
// step in order.
type Capacity struct {
	Rate        int     `json:"capacity_per_sec"`
	P99TargetMs float64 `json:"p99_target_ms"`
	Confirmed   Result  `json:"confirmed"`
	Steps       []Step  `json:"steps"`
}

// Runner runs one step at rate turns/s and returns what it measured.
type Runner func(ctx context.Context, rate int) (Result, error)

// Passes reports whether r met the target: p99 ≤ p99Ms and no error.
func Passes(r Result, p99Ms float64) bool {
	return r.Errors == 0 && r.Turns > 0 && r.P99Ms <= p99Ms
}

// FindCapacity searches for the highest offered rate meeting the target:
// doubling from o.Start while steps pass (up to o.Max), then bisecting the
// bracket between the last pass and the first failure down to o.Resolution,
// then confirming the best rate with another run. progress (may be nil) sees
// each step as it ends.
func FindCapacity(ctx context.Context, o SearchOptions, run Runner, progress func(Step)) (Capacity, error) {
	if o.Start < 1 || o.Max < o.Start || o.Resolution < 1 || o.P99Ms <= 0 {
		return Capacity{}, fmt.Errorf("turnbench: bad search options %+v", o)
	}
	out := Capacity{P99TargetMs: o.P99Ms}
	step := func(phase string, rate int) (bool, error) {
		r, err := run(ctx, rate)
		if err != nil {
			return false, err
		}
		s := Step{Phase: phase, Pass: Passes(r, o.P99Ms), Result: r}
		out.Steps = append(out.Steps, s)
		if progress != nil {
			progress(s)
		}
		return s.Pass, ctx.Err()
	}
	// lo is the highest rate that passed, hi the lowest that failed (0:
	// none yet); when even the start fails, the bisection searches below it.
	lo, hi := 0, 0
	for rate := o.Start; ; rate = min(2*rate, o.Max) {
		pass, err := step("double", rate)
		if err != nil {
			return out, err
		}
		if !pass {
			hi = rate
			break
		}
		lo = rate
		if rate == o.Max {
			break
		}
	}
	for hi != 0 && hi-lo > o.Resolution {
		mid := (lo + hi) / 2
		pass, err := step("bisect", mid)
		if err != nil {
			return out, err
		}
		if pass {
			lo = mid
		} else {
			hi = mid
		}
	}
	for range max(o.Confirmations, 0) {
		if lo < 1 {
			break
		}
		pass, err := step("confirm", lo)
		if err != nil {
			return out, err
		}
		if pass {
			out.Rate, out.Confirmed = lo, out.Steps[len(out.Steps)-1].Result
			return out, nil
		}
		lo -= o.Resolution
	}
	if o.Confirmations <= 0 {
		out.Rate = lo
	}
	return out, nil
}

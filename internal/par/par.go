package par

import (
	"runtime"
	"sync"
)

// Map applies fn to every element of in on all CPUs and returns the results
// in the order of in. Inputs shorter than minPerWorker per CPU use fewer
// goroutines.
func Map[T, R any](in []T, minPerWorker int, fn func(T) R) []R {
	out := make([]R, len(in))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(in)/max(1, minPerWorker)))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(in); i += workers {
				out[i] = fn(in[i])
			}
		})
	}
	wg.Wait()
	return out
}

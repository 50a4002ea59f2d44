// Package imgops holds the small image operations the preprocessing steps
// share: robust statistics, Otsu thresholds, block shrinking, separable
// Gaussian smoothing, exact Euclidean distance transforms and the binary
// morphology built on them, connected components and hole filling. Every
// function is pure (inputs are not modified) and works on flat volume data.
package imgops

import (
	"runtime"
	"sync"
)

// ParallelFor splits [0, n) into contiguous chunks, one per CPU, and runs f
// on each concurrently. It returns when all chunks are done.
func ParallelFor(n int, f func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, hi)
	}
	wg.Wait()
}

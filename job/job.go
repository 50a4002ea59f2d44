// Package job holds the one small contract of Metascope's long-running work
// (preprocessing, inference, training): a context for cancel and a progress
// callback. The GUI shows it as a progress bar, the terminal as a bar too.
package job

// Progress reports that a job is at fraction done (0..1) of its work, in the
// named stage. Implementations must be cheap and safe to call from any
// goroutine; the GUI's implementation hands the update to the UI thread.
type Progress func(stage string, done float64)

// Nop ignores progress.
func Nop(string, float64) {}

// Sub maps a sub-job's 0..1 progress into [lo, hi] of the parent's.
func (p Progress) Sub(lo, hi float64) Progress {
	if p == nil {
		return Nop
	}
	return func(stage string, done float64) { p(stage, lo+(hi-lo)*done) }
}

// Report calls p if it is not nil.
func (p Progress) Report(stage string, done float64) {
	if p != nil {
		p(stage, done)
	}
}

//go:build unix

package viewer

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) this process has used: on a
// machine shared with other jobs it measures the work done, where wall-clock
// time also measures the waiting.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

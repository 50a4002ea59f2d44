// Package procstat reads this process's resource use for the benchmarks:
// CPU time, which others' load on a shared machine cannot inflate the way
// it inflates wall time, and peak resident memory, the figure memory
// budgets are about.
package procstat

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// CPUSeconds is this process's user + system CPU time, or 0 when the
// system does not say.
func CPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// PeakRSSMB is this process's peak resident memory (Linux's VmHWM) in MiB,
// and false where /proc does not give it.
func PeakRSSMB() (float64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err == nil
		}
	}
	return 0, false
}

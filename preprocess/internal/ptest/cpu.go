package ptest

import "syscall"

// CPUSeconds is this process's user + system CPU time. Benchmarks report
// it beside wall time: on a shared machine, others' load inflates wall time
// but cannot take CPU seconds away.
func CPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

package procstat

import (
	"runtime"
	"testing"
)

func TestReadsThisProcess(t *testing.T) {
	c0 := CPUSeconds()
	x := 0.0
	for i := 0; i < 50_000_000; i++ {
		x += float64(i)
	}
	if c1 := CPUSeconds(); !(c1 > c0) {
		t.Errorf("CPU time %g -> %g after a busy loop (%g)", c0, c1, x)
	}
	if runtime.GOOS != "linux" {
		t.Skip("peak memory is read from Linux's /proc")
	}
	before, ok := PeakRSSMB()
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = 1
	}
	after, ok2 := PeakRSSMB()
	if !ok || !ok2 || after < before+32 {
		t.Errorf("peak RSS %g MB -> %g MB after touching 64 MB (%v %v)", before, after, ok, ok2)
	}
	runtime.KeepAlive(buf)
}

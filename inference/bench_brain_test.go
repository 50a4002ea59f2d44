package inference

import (
	"context"
	"fmt"
	"testing"

	"metascope/internal/procstat"
	"metascope/internal/testdata"
	"metascope/volume"
	"metascope/volume/nifti"
)

// mniBrain is the real MNI head at 1 mm with a brain-sized mask (the head's
// tissue inside an ellipsoid of 140 x 170 x 130 mm, about 1.4 litres), as
// a full-size case for timing.
func mniBrain(tb testing.TB) ([]*volume.Volume, *volume.Label) {
	v, err := nifti.ReadVolume(testdata.MNIHead(tb))
	if err != nil {
		tb.Fatal(err)
	}
	lo, hi := v.Range()
	m := volume.NewLabel(v.Grid)
	c := [3]float64{float64(v.Dims[0]) / 2, float64(v.Dims[1])/2 + 8, float64(v.Dims[2])/2 + 12}
	for k := 0; k < v.Dims[2]; k++ {
		for j := 0; j < v.Dims[1]; j++ {
			for i := 0; i < v.Dims[0]; i++ {
				x, y, z := (float64(i)-c[0])/70, (float64(j)-c[1])/85, (float64(k)-c[2])/65
				if x*x+y*y+z*z <= 1 && v.At(i, j, k) > lo+0.15*(hi-lo) {
					m.Set(i, j, k, 1)
				}
			}
		}
	}
	z := v.Clone()
	for i := range z.Data {
		z.Data[i] = (z.Data[i] - (lo+hi)/2) / (hi - lo) * 4
	}
	return []*volume.Volume{z, z, z, z}, m
}

// BenchmarkBrain runs one fold of the default network over a full 1 mm
// brain and reports seconds per fold, the 5-fold ensemble's time per case,
// and the process's peak memory. Run one segment size per process for a
// meaningful peak: -bench 'Brain/seg=60'.
func BenchmarkBrain(b *testing.B) {
	in, mask := mniBrain(b)
	lo, hi, _ := BoundingBox(mask)
	n, _ := NewNetwork(DefaultConfig(), 1, nil)
	for _, seg := range []int{48, 60, 72, 96} {
		b.Run(fmt.Sprintf("seg=%d", seg), func(b *testing.B) {
			cpu0 := procstat.CPUSeconds()
			for i := 0; i < b.N; i++ {
				if _, err := PredictProb(context.Background(), n, in, mask, seg, nil); err != nil {
					b.Fatal(err)
				}
			}
			s := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(s, "s/fold")
			// CPU seconds do not depend on what else the machine runs:
			// with two free cores the wall time is about half of them.
			b.ReportMetric((procstat.CPUSeconds()-cpu0)/float64(b.N), "cpu-s/fold")
			b.ReportMetric(5*s, "s/case-5folds")
			if mb, ok := procstat.PeakRSSMB(); ok {
				b.ReportMetric(mb, "MB-peak-RSS")
			}
			blocks, _ := Plan(mask, seg, n.Geometry())
			var flops float64
			for _, bl := range blocks {
				flops += n.FLOPs(bl.Size)
			}
			b.ReportMetric(flops/1e12, "TFLOP/fold")
			b.ReportMetric(flops/s/1e9, "GFLOP/s")
			box := (hi[0] - lo[0] + 1) * (hi[1] - lo[1] + 1) * (hi[2] - lo[2] + 1)
			b.ReportMetric(float64(box)/s, "voxels/s")
		})
	}
}

// BenchmarkEnsemble runs five folds of the default network over the full
// 1 mm brain as Predict does (the network part; fusing is cheap), one fold
// at a time and two at once, and reports the CPU seconds and wall seconds
// per case and the peak memory. On an idle two-core machine the wall time
// of atOnce=2 is what a user waits; on a loaded one only cpu-s/case means
// anything, and the idle wall time is about half of it.
func BenchmarkEnsemble(b *testing.B) {
	in, mask := mniBrain(b)
	var folds []*Network
	for f := 0; f < 5; f++ {
		n, _ := NewNetwork(DefaultConfig(), uint64(f+1), nil)
		folds = append(folds, n)
	}
	for _, atOnce := range []int{1, 2} {
		b.Run(fmt.Sprintf("atOnce=%d", atOnce), func(b *testing.B) {
			cpu0 := procstat.CPUSeconds()
			for i := 0; i < b.N; i++ {
				if _, err := predictFolds(context.Background(), folds, in, mask, DefaultSegment, atOnce, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/case")
			b.ReportMetric((procstat.CPUSeconds()-cpu0)/float64(b.N), "cpu-s/case")
			if mb, ok := procstat.PeakRSSMB(); ok {
				b.ReportMetric(mb, "MB-peak-RSS")
			}
		})
	}
}

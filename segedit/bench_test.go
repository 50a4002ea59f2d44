package segedit

import (
	"math"
	"testing"
	"time"

	"metascope/volume"
)

// benchGrid is the size the issue names: 256 x 256 x 180, 0.94 x 0.94 x 1 mm
// (a typical 3D T1c).
func benchGrid() volume.Grid {
	return volume.Grid{Dims: [3]int{256, 256, 180}, Affine: volume.Diagonal([3]float64{0.94, 0.94, 1}, [3]float64{-120, -120, -90})}
}

// strokePoints is a mouse path: a circle of 60 voxels radius on one slice,
// with points 4 voxels apart (a brisk drag at 60 events/s).
func strokePoints(n int) [][3]int {
	pts := make([][3]int, n)
	for i := range pts {
		a := float64(i) * 4 / 60
		pts[i] = [3]int{128 + int(60*math.Cos(a)), 128 + int(60*math.Sin(a)), 90}
	}
	return pts
}

func benchStroke(b *testing.B, sphere bool) {
	g := benchGrid()
	l := volume.NewLabel(g)
	o := BrushOptions{RadiusMM: 3, Sphere: sphere, Plane: Axial, Mode: ModeSet, Value: 1}
	pts := strokePoints(90)
	b.ResetTimer()
	var segs int
	start := time.Now()
	for b.Loop() {
		s, err := BeginStroke(l, pts[0], o)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range pts[1:] {
			if err := s.To(p); err != nil {
				b.Fatal(err)
			}
			segs++
		}
		s.End().Undo(l) // leave the label empty for the next stroke
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(el/float64(segs)*1e6, "µs/segment")
	b.ReportMetric(float64(b.N)/el, "strokes/s")
}

// Brush stroke apply: a 90-point drag (paint, sweep, compose into one delta).
func BenchmarkBrushStroke2D(b *testing.B) { benchStroke(b, false) }
func BenchmarkBrushStroke3D(b *testing.B) { benchStroke(b, true) }

// Undo of a large fill: a 3D flood fill of a ~1 M voxel ball, then undo and
// redo of its delta.
func BenchmarkUndoLargeFill(b *testing.B) {
	g := benchGrid()
	l := volume.NewLabel(g)
	c := [3]float64{128, 128, 90}
	for idx := range l.Data {
		i, j, k := g.Coords(idx)
		if dist([3]float64{float64(i), float64(j), float64(k)}, c) <= 62 {
			l.Data[idx] = 1
		}
	}
	var fillT, applyT, undoT, redoT time.Duration
	var changed int
	var bytes int64
	for b.Loop() {
		t0 := time.Now()
		m, err := FloodFill(l, [3]int{128, 128, 90}, FloodOptions{ThreeD: true, Mode: ModeSet, Value: 2})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		d, err := Apply(l, m)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		d.Undo(l)
		t3 := time.Now()
		d.Redo(l)
		t4 := time.Now()
		d.Undo(l)
		fillT += t1.Sub(t0)
		applyT += t2.Sub(t1)
		undoT += t3.Sub(t2)
		redoT += t4.Sub(t3)
		changed, bytes = d.Changed(), d.Bytes()
	}
	n := float64(b.N)
	b.ReportMetric(float64(changed), "voxels")
	b.ReportMetric(float64(bytes)/1024, "KiB/delta")
	b.ReportMetric(fillT.Seconds()*1e3/n, "ms/fill")
	b.ReportMetric(applyT.Seconds()*1e3/n, "ms/apply")
	b.ReportMetric(undoT.Seconds()*1e3/n, "ms/undo")
	b.ReportMetric(redoT.Seconds()*1e3/n, "ms/redo")
}

// Journal append + fsync per stroke, through a session (EndStroke returns
// only once the stroke is on disk).
func BenchmarkJournalAppendPerStroke(b *testing.B) {
	g := benchGrid()
	o := SessionOptions{LabelPath: b.TempDir() + "/r.nii.gz", Reader: "bench", Grid: g}
	s, err := OpenSession(o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.j.close()
	bo := BrushOptions{RadiusMM: 3, Plane: Axial, Mode: ModeSet, Value: 1}
	pts := strokePoints(20)
	var commit time.Duration
	i := 0
	for b.Loop() {
		bo.Value = uint8(1 + i%2) // every stroke changes voxels
		i++
		if err := s.BeginStroke(pts[0], bo); err != nil {
			b.Fatal(err)
		}
		for _, p := range pts[1:] {
			s.StrokeTo(p)
		}
		t0 := time.Now()
		if err := s.EndStroke(); err != nil {
			b.Fatal(err)
		}
		commit += time.Since(t0)
	}
	b.ReportMetric(commit.Seconds()*1e3/float64(b.N), "ms/commit")
	b.ReportMetric(float64(s.JournalBytes())/float64(b.N), "journal-bytes/stroke")
}

// Checkpoint: writing a 256 x 256 x 180 label with a few lesions (NIfTI,
// gzip) and restarting the journal.
func BenchmarkCheckpoint(b *testing.B) {
	g := benchGrid()
	o := SessionOptions{LabelPath: b.TempDir() + "/r.nii.gz", Reader: "bench", Grid: g}
	s, err := OpenSession(o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.j.close()
	bo := BrushOptions{RadiusMM: 8, Sphere: true, Mode: ModeSet, Value: 1}
	i := 0
	for b.Loop() {
		b.StopTimer()
		bo.Value = uint8(1 + i%2)
		i++
		for _, c := range [][3]int{{60, 70, 80}, {150, 120, 100}, {100, 180, 60}} {
			s.BeginStroke(c, bo)
			s.EndStroke()
		}
		b.StartTimer()
		if err := s.Checkpoint(); err != nil {
			b.Fatal(err)
		}
	}
}

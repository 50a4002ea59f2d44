package lesion

import (
	"math"
	"testing"

	"metascope/volume"
)

func TestDiceKnown(t *testing.T) {
	a := volume.NewLabel(grid(6, 6, 6))
	b := volume.NewLabel(a.Grid)
	if Dice(a, b) != 1 {
		t.Errorf("two empty maps: Dice %v, want 1", Dice(a, b))
	}
	box(a, [3]int{0, 0, 0}, [3]int{2, 2, 2}, 1) // 27
	if Dice(a, b) != 0 {
		t.Errorf("one empty map: Dice %v, want 0", Dice(a, b))
	}
	box(b, [3]int{1, 0, 0}, [3]int{3, 2, 2}, 3) // 27, overlap 18; any non-zero counts
	if got := Dice(a, b); got != 36.0/54 {
		t.Errorf("Dice %v, want %v", got, 36.0/54)
	}
}

func TestMajorityVote(t *testing.T) {
	g := grid(5, 1, 1)
	mk := func(v ...uint8) *volume.Label { l := volume.NewLabel(g); copy(l.Data, v); return l }
	// Voxel i is marked by i of the 5 maps (last voxel by all, value 2).
	maps := []*volume.Label{
		mk(0, 1, 1, 1, 2),
		mk(0, 0, 1, 1, 2),
		mk(0, 0, 0, 1, 2),
		mk(0, 0, 0, 0, 2),
		mk(0, 0, 0, 0, 2),
	}
	got := MajorityVote(maps)
	if want := []uint8{0, 0, 0, 1, 1}; string(got.Data) != string(want) {
		t.Errorf("5 maps: %v, want %v (3 of 5)", got.Data, want)
	}
	// Even count: 2 of 4 is a tie, background.
	if got := MajorityVote(maps[:4]); string(got.Data) != string([]uint8{0, 0, 0, 1, 1}) {
		t.Errorf("4 maps: %v, want 3 of 4 needed", got.Data)
	}
	if got := MajorityVote(maps[:1]); string(got.Data) != string([]uint8{0, 1, 1, 1, 1}) {
		t.Errorf("1 map: %v", got.Data)
	}
}

func TestMeanProbabilityAndThreshold(t *testing.T) {
	g := grid(4, 1, 1)
	mk := func(v ...float32) *volume.Volume { p := volume.New(g); copy(p.Data, v); return p }
	m := MeanProbability([]*volume.Volume{mk(0, 0.5, 1, 0.25), mk(0, 0.25, 1, 0.75), mk(0, 0.75, 1, 0.5)})
	for i, want := range []float32{0, 0.5, 1, 0.5} {
		if math.Abs(float64(m.Data[i]-want)) > 1e-7 {
			t.Errorf("mean[%d] = %v, want %v", i, m.Data[i], want)
		}
	}
	p := mk(0.2, 0.5, float32(math.NaN()), 0.7)
	if got := Threshold(p, 0.5); string(got.Data) != string([]uint8{0, 1, 0, 1}) {
		t.Errorf("Threshold 0.5 (>=, NaN never): %v", got.Data)
	}
}

func BenchmarkMajorityVote(b *testing.B) {
	base := benchLabel()
	maps := []*volume.Label{base, base, base, base, base}
	for b.Loop() {
		MajorityVote(maps)
	}
	b.ReportMetric(float64(len(base.Data))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mvoxels/s")
}

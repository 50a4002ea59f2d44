package volume

import (
	"math"
	"math/rand"
	"testing"
)

func TestAffineInverseAndAxisCodes(t *testing.T) {
	cases := []struct {
		name  string
		a     Affine
		codes string
	}{
		{"identity", Identity(), "RAS"},
		{"dicom LPS", Affine{{-0.9, 0, 0, 90}, {0, -0.9, 0, 120}, {0, 0, 1.2, -60}, {0, 0, 0, 1}}, "LPS"},
		{"sagittal", Affine{{0, 0, 1, 0}, {1, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, 0, 1}}, "AIR"},
		{"oblique", RigidTransform([3]float64{0.3, -0.2, 0.1}, [3]float64{5, 6, 7}, [3]float64{}).Mul(Diagonal([3]float64{1, 1, 5}, [3]float64{})), "RAS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.a.AxisCodes(); got != c.codes {
				t.Errorf("AxisCodes = %s, want %s", got, c.codes)
			}
			inv, err := c.a.Inverse()
			if err != nil {
				t.Fatal(err)
			}
			if !inv.Mul(c.a).AlmostEqual(Identity(), 1e-12) {
				t.Errorf("inverse wrong: %v", inv.Mul(c.a))
			}
		})
	}
	if _, err := (Affine{}).Inverse(); err == nil {
		t.Error("zero affine inverted without error")
	}
}

func TestSpacingFromAffine(t *testing.T) {
	a := RigidTransform([3]float64{0.4, 0.1, -0.7}, [3]float64{}, [3]float64{}).Mul(Diagonal([3]float64{0.5, 0.8, 4}, [3]float64{1, 2, 3}))
	s := a.Spacing()
	want := [3]float64{0.5, 0.8, 4}
	for i := range s {
		if math.Abs(s[i]-want[i]) > 1e-12 {
			t.Fatalf("spacing %v want %v", s, want)
		}
	}
	g := Grid{Dims: [3]int{10, 10, 10}, Affine: a}
	if v := g.VoxelVolumeMM3(); math.Abs(v-1.6) > 1e-12 {
		t.Fatalf("voxel volume %v want 1.6", v)
	}
}

func randomVolume(g Grid, seed int64) *Volume {
	r := rand.New(rand.NewSource(seed))
	v := New(g)
	for i := range v.Data {
		v.Data[i] = r.Float32()
	}
	return v
}

func TestResampleIdentityIsExact(t *testing.T) {
	g := Grid{Dims: [3]int{7, 5, 4}, Affine: Diagonal([3]float64{1.2, 0.9, 3}, [3]float64{-4, 2, 9})}
	v := randomVolume(g, 1)
	r := Resample(v, g)
	for i := range v.Data {
		if r.Data[i] != v.Data[i] {
			t.Fatalf("voxel %d changed: %v -> %v", i, v.Data[i], r.Data[i])
		}
	}
	// A grid equal up to rounding takes the general path and must agree too.
	g2 := g
	g2.Affine[0][3] += 1e-7
	r2 := Resample(v, g2)
	for i := range v.Data {
		if math.Abs(float64(r2.Data[i]-v.Data[i])) > 1e-5 {
			t.Fatalf("near-identity voxel %d: %v vs %v", i, r2.Data[i], v.Data[i])
		}
	}
}

// slowTrilinear is the obviously correct reference for the fast resampler.
func slowTrilinear(v *Volume, p [3]float64) float64 {
	inv, _ := v.Affine.Inverse()
	x := inv.Apply(p)
	var s float64
	for c := 0; c < 8; c++ {
		idx := [3]int{}
		w := 1.0
		for a := 0; a < 3; a++ {
			f := math.Floor(x[a])
			idx[a] = int(f)
			frac := x[a] - f
			if c>>a&1 == 1 {
				idx[a]++
				w *= frac
			} else {
				w *= 1 - frac
			}
		}
		if w == 0 {
			continue
		}
		if !v.Contains(idx[0], idx[1], idx[2]) {
			return 0
		}
		s += w * float64(v.At(idx[0], idx[1], idx[2]))
	}
	return s
}

func TestResampleMatchesSlowReference(t *testing.T) {
	src := randomVolume(Grid{Dims: [3]int{12, 11, 9}, Affine: Diagonal([3]float64{1, 1, 2}, [3]float64{})}, 2)
	target := Grid{Dims: [3]int{8, 8, 8}, Affine: RigidTransform([3]float64{0.1, 0.05, -0.2}, [3]float64{2, 2, 3}, [3]float64{5, 5, 8}).Mul(Diagonal([3]float64{0.9, 1.1, 1.3}, [3]float64{1, 1, 1}))}
	out := Resample(src, target)
	for k := 0; k < 8; k++ {
		for j := 0; j < 8; j++ {
			for i := 0; i < 8; i++ {
				p := target.VoxelToWorld([3]float64{float64(i), float64(j), float64(k)})
				want := slowTrilinear(src, p)
				if got := float64(out.At(i, j, k)); math.Abs(got-want) > 1e-5 {
					t.Fatalf("voxel %d,%d,%d: %v want %v", i, j, k, got, want)
				}
			}
		}
	}
}

func TestCanonicalKeepsWorldPositions(t *testing.T) {
	a := Affine{{0, 0, -2, 50}, {-1, 0, 0, 30}, {0, 1.5, 0, -20}, {0, 0, 0, 1}}
	g := Grid{Dims: [3]int{4, 5, 6}, Affine: a}
	v := randomVolume(g, 3)
	c := Canonical(v)
	if c.Affine.AxisCodes() != "RAS" {
		t.Fatalf("canonical codes %s", c.Affine.AxisCodes())
	}
	for idx := range v.Data {
		i, j, k := v.Coords(idx)
		p := v.VoxelToWorld([3]float64{float64(i), float64(j), float64(k)})
		q, _ := c.WorldToVoxel(p)
		ci, cj, ck := roundIdx(q[0]), roundIdx(q[1]), roundIdx(q[2])
		if c.At(ci, cj, ck) != v.Data[idx] {
			t.Fatalf("voxel %d,%d,%d moved wrongly", i, j, k)
		}
	}
}

func TestLabelVolumeUsesAffine(t *testing.T) {
	l := NewLabel(Grid{Dims: [3]int{10, 10, 10}, Affine: Diagonal([3]float64{0.5, 0.5, 4}, [3]float64{})})
	for i := 0; i < 100; i++ {
		l.Data[i] = 1
	}
	if got := l.VolumeCM3(); math.Abs(got-0.1) > 1e-12 {
		t.Fatalf("volume %v cm3 want 0.1", got)
	}
}

func BenchmarkResampleTrilinear(b *testing.B) {
	src := randomVolume(Grid{Dims: [3]int{256, 256, 180}, Affine: Identity()}, 4)
	target := Grid{Dims: [3]int{240, 240, 155}, Affine: RigidTransform([3]float64{0.05, 0.02, 0.1}, [3]float64{1, 2, 3}, [3]float64{128, 128, 90})}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Resample(src, target)
	}
	b.ReportMetric(float64(target.Len())*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mvoxels/s")
}

package segedit

import (
	"math"
	"testing"

	"metascope/volume"
)

func TestNormalAxisFollowsAxisCodes(t *testing.T) {
	perm := volume.Affine{{0, 0, -1, 0}, {1, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, 0, 1}} // axes A, I, L: "AIL"
	cases := []struct {
		aff  volume.Affine
		want [3]int // normal axis of axial, coronal, sagittal
	}{
		{volume.Identity(), [3]int{2, 1, 0}},
		{volume.Diagonal([3]float64{-1, -1, 1}, [3]float64{}), [3]int{2, 1, 0}}, // LPS
		{perm, [3]int{1, 0, 2}},
	}
	for _, c := range cases {
		g := volume.Grid{Dims: [3]int{4, 4, 4}, Affine: c.aff}
		for p, want := range c.want {
			if got := Plane(p).NormalAxis(g); got != want {
				t.Errorf("%s: %v normal axis %d, want %d", c.aff.AxisCodes(), Plane(p), got, want)
			}
		}
	}
}

// The brush selects exactly the voxels within RadiusMM in millimetres,
// compared with a brute-force check of every voxel through the affine, on
// anisotropic and oblique grids, in 2D and 3D, including clipping at the
// grid's edge.
func TestBrushIsRoundInMillimetres(t *testing.T) {
	for _, g := range []volume.Grid{anisoGrid([3]int{40, 36, 14}), obliqueGrid([3]int{30, 28, 16})} {
		n := Axial.NormalAxis(g)
		for _, c := range []struct {
			centre [3]int
			r      float64
			sphere bool
		}{
			{[3]int{20, 18, 7}, 3, false},
			{[3]int{20, 18, 7}, 3, true},
			{[3]int{20, 18, 7}, 7.5, true},
			{[3]int{1, 2, 0}, 5, true}, // clipped by the grid's corner
			{[3]int{10, 10, 5}, 0, true},
			{[3]int{10, 10, 5}, 0.5, false},
		} {
			o := BrushOptions{RadiusMM: c.r, Sphere: c.sphere, Plane: Axial, Mode: ModeSet, Value: 1}
			m, err := Brush(g, c.centre, o)
			if err != nil {
				t.Fatal(err)
			}
			got := modifierSet(g, m)
			count := 0
			for idx := range got {
				i, j, k := g.Coords(idx)
				p := [3]int{i, j, k}
				want := mmDist(g, p, toF(c.centre)) <= c.r+1e-9 && (c.sphere || p[n] == c.centre[n])
				if got[idx] != want {
					t.Fatalf("%s grid, centre %v r %g sphere %v: voxel %v selected %v, want %v (%.3f mm away)",
						g.Affine.AxisCodes(), c.centre, c.r, c.sphere, p, got[idx], want, mmDist(g, p, toF(c.centre)))
				}
				if want {
					count++
				}
			}
			if count == 0 {
				t.Fatalf("brush selected nothing")
			}
		}
	}
	// On the 0.8 x 1.1 x 3 mm grid a 3 mm sphere reaches the slices above
	// and below only with the voxel straight over the centre.
	g := anisoGrid([3]int{40, 36, 14})
	m, _ := Brush(g, [3]int{20, 18, 7}, BrushOptions{RadiusMM: 3, Sphere: true, Mode: ModeSet, Value: 1})
	sel := modifierSet(g, m)
	perSlice := map[int]int{}
	for idx, on := range sel {
		if on {
			_, _, k := g.Coords(idx)
			perSlice[k]++
		}
	}
	if len(perSlice) != 3 || perSlice[6] != 1 || perSlice[8] != 1 || perSlice[7] < 20 {
		t.Fatalf("3 mm sphere on 3 mm slices: voxels per slice %v, want 1 above, 1 below and a disc", perSlice)
	}
}

// A segment sweeps the brush: every voxel within the radius of the line
// between the points, so a fast mouse move leaves no gap.
func TestBrushSegmentHasNoGaps(t *testing.T) {
	g := anisoGrid([3]int{60, 50, 10})
	a, b := [3]int{5, 8, 4}, [3]int{52, 41, 4}
	o := BrushOptions{RadiusMM: 1.5, Plane: Axial, Mode: ModeSet, Value: 2}
	m, err := BrushSegment(g, a, b, o)
	if err != nil {
		t.Fatal(err)
	}
	got := modifierSet(g, m)
	pa, pb := g.VoxelToWorld(toF(a)), g.VoxelToWorld(toF(b))
	for idx := range got {
		i, j, k := g.Coords(idx)
		p := g.VoxelToWorld([3]float64{float64(i), float64(j), float64(k)})
		// distance from p to segment pa-pb in mm
		var ab, ap [3]float64
		for x := range 3 {
			ab[x], ap[x] = pb[x]-pa[x], p[x]-pa[x]
		}
		t0 := (ap[0]*ab[0] + ap[1]*ab[1] + ap[2]*ab[2]) / (ab[0]*ab[0] + ab[1]*ab[1] + ab[2]*ab[2])
		t0 = math.Max(0, math.Min(1, t0))
		d := 0.0
		for x := range 3 {
			e := ap[x] - t0*ab[x]
			d += e * e
		}
		want := math.Sqrt(d) <= 1.5+1e-9 && k == 4
		if got[idx] != want {
			t.Fatalf("voxel (%d,%d,%d) selected %v, want %v", i, j, k, got[idx], want)
		}
	}
	if _, err := BrushSegment(g, a, [3]int{9, 9, 5}, o); err == nil {
		t.Fatal("a 2D segment across slices was accepted")
	}
}

// A stroke of many points paints at once and ends as one delta equal to the
// difference between the label before and after.
func TestStrokeIsOneDelta(t *testing.T) {
	g := anisoGrid([3]int{50, 40, 12})
	l := volume.NewLabel(g)
	l.Set(25, 20, 6, 3) // another label the stroke must not overwrite in add mode
	before := l.Clone()
	o := BrushOptions{RadiusMM: 2, Plane: Axial, Mode: ModeAdd, Value: 1}
	s, err := BeginStroke(l, [3]int{5, 5, 6}, o)
	if err != nil {
		t.Fatal(err)
	}
	pts := [][3]int{{20, 15, 6}, {25, 20, 6}, {40, 35, 6}, {10, 30, 6}}
	for _, p := range pts {
		if err := s.To(p); err != nil {
			t.Fatal(err)
		}
		if l.At(p[0], p[1], p[2]) == 0 {
			t.Fatalf("point %v not painted during the stroke", p)
		}
	}
	if l.At(25, 20, 6) != 3 {
		t.Fatal("add mode overwrote another label")
	}
	d := s.End()
	after := l.Clone()
	d.Undo(l)
	sameBytes(t, "stroke undone", l, before)
	d.Redo(l)
	sameBytes(t, "stroke redone", l, after)
	changed := 0
	for i := range before.Data {
		if before.Data[i] != after.Data[i] {
			changed++
		}
	}
	if d.Changed() != changed {
		t.Fatalf("stroke delta holds %d voxels, the label changed %d", d.Changed(), changed)
	}
}

// The threshold brush on the real MNI head paints exactly the brush voxels
// whose intensity lies in the range.
func TestThresholdBrushRespectsRange(t *testing.T) {
	img := mniHead(t)
	l := volume.NewLabel(img.Grid)
	c := [3]int{91, 120, 90}
	lo, hi := float32(3000), float32(6000)
	o := BrushOptions{RadiusMM: 8, Sphere: true, Mode: ModeSet, Value: 1}
	plain, err := Brush(img.Grid, c, o)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ThresholdBrush(img.Grid, c, o, IntensityRange{Image: img, Lo: lo, Hi: hi})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(l, m); err != nil {
		t.Fatal(err)
	}
	inside := modifierSet(img.Grid, plain)
	in, out := 0, 0
	for idx, v := range l.Data {
		x := img.Data[idx]
		want := inside[idx] && x >= lo && x <= hi
		if (v == 1) != want {
			i, j, k := l.Coords(idx)
			t.Fatalf("voxel (%d,%d,%d) intensity %g painted %v, want %v", i, j, k, x, v == 1, want)
		}
		if inside[idx] {
			if want {
				in++
			} else {
				out++
			}
		}
	}
	if in == 0 || out == 0 {
		t.Fatalf("test region not mixed: %d voxels in range, %d out", in, out)
	}
	bad := IntensityRange{Image: img, Lo: 5, Hi: 1}
	if _, err := ThresholdBrush(img.Grid, c, o, bad); err == nil {
		t.Fatal("empty intensity range accepted")
	}
}

func TestEraserClearsEveryLabel(t *testing.T) {
	g := anisoGrid([3]int{20, 20, 5})
	l := volume.NewLabel(g)
	for i := range l.Data {
		l.Data[i] = uint8(1 + i%3)
	}
	m, err := Eraser(g, [3]int{10, 10, 2}, BrushOptions{RadiusMM: 2, Plane: Axial, Mode: ModeSet, Value: 1})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := Apply(l, m)
	if d.Changed() != m.Count() {
		t.Fatalf("eraser changed %d voxels, brush holds %d", d.Changed(), m.Count())
	}
	for idx, on := range modifierSet(g, m) {
		if on && l.Data[idx] != 0 {
			t.Fatal("voxel under the eraser kept its label")
		}
	}
}

func TestBrushOptionsValidate(t *testing.T) {
	g := anisoGrid([3]int{8, 8, 8})
	for _, o := range []BrushOptions{
		{RadiusMM: -1, Mode: ModeSet, Value: 1},
		{RadiusMM: math.NaN(), Mode: ModeSet, Value: 1},
		{RadiusMM: 2, Plane: Plane(7), Mode: ModeSet, Value: 1},
		{RadiusMM: 2, Mode: ModeSet, Value: 0},
		{RadiusMM: 2, Mode: Mode(9), Value: 1},
	} {
		if _, err := Brush(g, [3]int{1, 1, 1}, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

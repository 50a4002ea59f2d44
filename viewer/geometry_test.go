package viewer

import (
	"fmt"
	"image"
	"math"
	"testing"

	"metascope/volume"
)

// testBox is an anisotropic block of space (1 x 1 x 2 mm voxels) used to
// check orientation: a marker is placed at a known RAS position on grids
// storing the same space with different axis codes.
var testBox = worldBox{n: [3]int{30, 40, 24}, sp: [3]float64{1, 1, 2}, bmin: [3]float64{-15, -22, -10}}

// Axis codes: canonical, DICOM's usual storage, the MNI head's, and two
// sagittally stored acquisitions (slices along left-right).
var testCodes = []string{"RAS", "LPS", "LAS", "AIL", "PIR"}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

// TestOrientationMarker puts a bright voxel at a known RAS position (patient
// left, anterior, superior of the centre) and checks where each plane and
// convention draws it, from first principles: screen right and down are
// fixed world directions (radiological axial: right = patient left, down =
// posterior), and the scale fits the field of view in mm. The same anatomy
// stored with different axis codes must give the same picture.
func TestOrientationMarker(t *testing.T) {
	const size = 240
	marker := [3]int{7, 30, 17} // x index 7 of 30: patient left (RAS x grows to the right)
	type want struct {
		plane       Plane
		orient      Orientation
		right, down [3]float64 // world directions of screen right and down
		markerRight bool       // the marker is in the right half of the screen
		markerTop   bool       // the marker is in the top half
		horiz, vert int        // world axes shown along screen x and y
	}
	L, R := [3]float64{-1, 0, 0}, [3]float64{1, 0, 0}
	P, I := [3]float64{0, -1, 0}, [3]float64{0, 0, -1}
	wants := []want{
		{Axial, Radiological, L, P, true, true, 0, 1},
		{Axial, Neurological, R, P, false, true, 0, 1},
		{Coronal, Radiological, L, I, true, true, 0, 2},
		{Coronal, Neurological, R, I, false, true, 0, 2},
		{Sagittal, Radiological, P, I, false, true, 1, 2}, // anterior on the left
		{Sagittal, Neurological, P, I, false, true, 1, 2},
	}
	reference := map[string]*image.RGBA{}
	for _, codes := range testCodes {
		g := codedGrid(t, codes, testBox)
		vol := volume.New(g)
		vox := voxelOf(t, g, testBox, marker)
		vol.Data[g.Index(vox[0], vox[1], vox[2])] = 1000
		for _, w := range wants {
			name := fmt.Sprintf("%s/%v/%v", codes, w.plane, w.orient)
			v := View{Plane: w.plane, Orientation: w.orient, Cursor: vox, Zoom: 1, WL: FromRange(0, 1000), Interp: Nearest}
			img := image.NewRGBA(image.Rect(0, 0, size, size))
			Render(img, vol, nil, v)

			fovH := float64(testBox.n[w.horiz]) * testBox.sp[w.horiz]
			fovV := float64(testBox.n[w.vert]) * testBox.sp[w.vert]
			scale := math.Min(size/fovH, size/fovV)
			d := testBox.world(marker)
			c := testBox.centre()
			for a := range d {
				d[a] -= c[a]
			}
			ex := size/2 + scale*dot(d, w.right)
			ey := size/2 + scale*dot(d, w.down)

			cx, cy, n := brightCentroid(img, 128)
			if n == 0 {
				t.Fatalf("%s: marker not drawn", name)
			}
			if math.Abs(cx-ex) > 0.51 || math.Abs(cy-ey) > 0.51 {
				t.Errorf("%s: marker drawn at (%.1f, %.1f), want (%.1f, %.1f)", name, cx, cy, ex, ey)
			}
			if (cx > size/2) != w.markerRight || (cy < size/2) != w.markerTop {
				t.Errorf("%s: marker at (%.0f, %.0f) is on the wrong side", name, cx, cy)
			}
			// Aspect ratio: the voxel's block is as wide and tall as its mm.
			bw, bh := brightExtent(img, 128)
			if math.Abs(float64(bw)-testBox.sp[w.horiz]*scale) > 1 || math.Abs(float64(bh)-testBox.sp[w.vert]*scale) > 1 {
				t.Errorf("%s: voxel drawn %dx%d pixels, want %.1fx%.1f", name, bw, bh,
					testBox.sp[w.horiz]*scale, testBox.sp[w.vert]*scale)
			}
			key := fmt.Sprintf("%v/%v", w.plane, w.orient)
			if ref, ok := reference[key]; !ok {
				reference[key] = img
			} else if !samePixels(ref, img) {
				t.Errorf("%s: picture differs from the %s grid's", name, testCodes[0])
			}
		}
	}
}

// brightExtent is the bounding-box size of the pixels brighter than thresh.
func brightExtent(img *image.RGBA, thresh uint8) (w, h int) {
	minX, minY, maxX, maxY := 1<<30, 1<<30, -1, -1
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			if img.RGBAAt(x, y).R > thresh {
				minX, maxX = min(minX, x), max(maxX, x)
				minY, maxY = min(minY, y), max(maxY, y)
			}
		}
	}
	if maxX < 0 {
		return 0, 0
	}
	return maxX - minX + 1, maxY - minY + 1
}

func samePixels(a, b *image.RGBA) bool {
	if a.Rect != b.Rect {
		return false
	}
	for i := range a.Pix {
		if a.Pix[i] != b.Pix[i] {
			return false
		}
	}
	return true
}

func TestOrientationLabels(t *testing.T) {
	cases := []struct {
		p    Plane
		o    Orientation
		want [4]string
	}{
		{Axial, Radiological, [4]string{"R", "L", "A", "P"}},
		{Axial, Neurological, [4]string{"L", "R", "A", "P"}},
		{Coronal, Radiological, [4]string{"R", "L", "S", "I"}},
		{Coronal, Neurological, [4]string{"L", "R", "S", "I"}},
		{Sagittal, Radiological, [4]string{"A", "P", "S", "I"}},
		{Sagittal, Neurological, [4]string{"A", "P", "S", "I"}},
	}
	for _, c := range cases {
		l, r, tp, b := OrientationLabels(c.p, c.o)
		if got := [4]string{l, r, tp, b}; got != c.want {
			t.Errorf("%v %v: labels %v, want %v", c.p, c.o, got, c.want)
		}
	}
}

// testViews are zooms and pans (including odd sizes and zooming out) for
// the mapping tests.
func testViews(cursor [3]int) []View {
	var vs []View
	for _, p := range Planes {
		for _, o := range []Orientation{Radiological, Neurological} {
			for _, zp := range []struct {
				z   float64
				pan [2]float64
			}{{1, [2]float64{0, 0}}, {2.5, [2]float64{7.3, -4.1}}, {0.6, [2]float64{-12, 3}}, {13, [2]float64{1.7, 2.9}}} {
				vs = append(vs, View{Plane: p, Orientation: o, Cursor: cursor, Zoom: zp.z, Pan: zp.pan})
			}
		}
	}
	return vs
}

// TestMappingRoundTrip maps every voxel of the shown slice to the screen and
// back, and continuous points back and forth, for zoomed and panned views of
// grids with different axis codes.
func TestMappingRoundTrip(t *testing.T) {
	for _, codes := range testCodes {
		g := codedGrid(t, codes, testBox)
		cursor := [3]int{g.Dims[0] / 3, g.Dims[1] / 2, g.Dims[2] - 2}
		for _, v := range testViews(cursor) {
			m := NewMapping(g, v, 317, 211)
			h, vv, n := m.Axes()
			if m.Slice() != cursor[n] {
				t.Fatalf("%s %v: slice %d, want cursor's %d", codes, v.Plane, m.Slice(), cursor[n])
			}
			for a := 0; a < g.Dims[h]; a++ {
				for b := 0; b < g.Dims[vv]; b++ {
					var vox [3]int
					vox[h], vox[vv], vox[n] = a, b, cursor[n]
					x, y := m.VoxelToScreen([3]float64{float64(vox[0]), float64(vox[1]), float64(vox[2])})
					got, inside := m.ScreenToVoxel(x, y)
					if got != vox || !inside {
						t.Fatalf("%s %+v: voxel %v -> screen (%.2f, %.2f) -> %v (inside %v)", codes, v, vox, x, y, got, inside)
					}
					// A continuous point a third of a voxel off centre.
					p := [3]float64{float64(vox[0]) + 0.3, float64(vox[1]) - 0.2, float64(vox[2]) + 0.1}
					p[n] = float64(cursor[n])
					x, y = m.VoxelToScreen(p)
					q := m.ScreenToVoxelF(x, y)
					for k := 0; k < 3; k++ {
						if math.Abs(q[k]-p[k]) > 1e-9 {
							t.Fatalf("%s: point %v -> (%.3f, %.3f) -> %v", codes, p, x, y, q)
						}
					}
				}
			}
			// Far outside the image is reported as outside.
			if _, inside := m.ScreenToVoxel(-1e6, 5); inside {
				t.Errorf("%s: a point far left of the view is inside", codes)
			}
		}
	}
}

// TestScreenToVoxelScale checks the free functions at two screen scales: a
// Fyne view of W x H units and its W*s x H*s pixel raster agree on the voxel
// under the same physical point.
func TestScreenToVoxelScale(t *testing.T) {
	g := codedGrid(t, "LPS", testBox)
	v := View{Plane: Coronal, Cursor: [3]int{5, 6, 7}, Zoom: 1.7, Pan: [2]float64{3, -2}}
	for _, p := range [][2]float64{{10.2, 20.7}, {150, 90}, {299.5, 199.5}} {
		a, ina := ScreenToVoxel(v, g, 300, 200, p)
		b, inb := ScreenToVoxel(v, g, 600, 400, [2]float64{p[0] * 2, p[1] * 2})
		if a != b || ina != inb {
			t.Errorf("point %v: %v %v at scale 1, %v %v at scale 2", p, a, ina, b, inb)
		}
		s := VoxelToScreen(v, g, 300, 200, [3]float64{float64(a[0]), float64(a[1]), float64(a[2])})
		if back, _ := ScreenToVoxel(v, g, 300, 200, s); back != a {
			t.Errorf("voxel %v -> %v -> %v", a, s, back)
		}
	}
}

func TestZoomAtKeepsPointFixed(t *testing.T) {
	g := codedGrid(t, "AIL", testBox)
	for _, v := range testViews([3]int{3, 4, 5}) {
		const w, h = 400.0, 300.0
		x, y := 123.4, 87.6
		before := NewMapping(g, v, w, h).ScreenToVoxelF(x, y)
		for _, f := range []float64{1.2, 1 / 1.2, 3} {
			nv := ZoomAt(v, g, w, h, x, y, f)
			after := NewMapping(g, nv, w, h).ScreenToVoxelF(x, y)
			for k := 0; k < 3; k++ {
				if math.Abs(after[k]-before[k]) > 1e-9 {
					t.Fatalf("%+v zoom x%.2f: point under (%.1f, %.1f) moved from %v to %v", v, f, x, y, before, after)
				}
			}
			if nv.Zoom < MinZoom || nv.Zoom > MaxZoom {
				t.Fatalf("zoom %g outside limits", nv.Zoom)
			}
		}
	}
}

func TestPanByAndCentreOn(t *testing.T) {
	g := codedGrid(t, "LPS", testBox)
	for _, v := range testViews([3]int{3, 4, 5}) {
		const w, h = 300.0, 280.0
		p := [3]float64{4, 9, 5}
		x0, y0 := NewMapping(g, v, w, h).VoxelToScreen(p)
		nv := PanBy(v, g, w, h, 17.5, -8.25)
		x1, y1 := NewMapping(g, nv, w, h).VoxelToScreen(p)
		if math.Abs(x1-x0-17.5) > 1e-9 || math.Abs(y1-y0+8.25) > 1e-9 {
			t.Fatalf("%+v: pan moved a point by (%.3f, %.3f), want (17.5, -8.25)", v, x1-x0, y1-y0)
		}
		cv := CentreOn(v, g, w, h, [3]int{4, 9, 5})
		x2, y2 := NewMapping(g, cv, w, h).VoxelToScreen(p)
		if math.Abs(x2-w/2) > 1e-9 || math.Abs(y2-h/2) > 1e-9 {
			t.Fatalf("CentreOn put the voxel at (%.3f, %.3f)", x2, y2)
		}
	}
}

// TestStepSlice: a positive step moves superior, anterior or to the right
// in world terms, whatever the storage order, and stops at the edges.
func TestStepSlice(t *testing.T) {
	normals := map[Plane]int{Axial: 2, Coronal: 1, Sagittal: 0}
	for _, codes := range testCodes {
		g := codedGrid(t, codes, testBox)
		for _, p := range Planes {
			v := View{Plane: p, Cursor: [3]int{g.Dims[0] / 2, g.Dims[1] / 2, g.Dims[2] / 2}}
			before := g.VoxelToWorld(toF(v.Cursor))
			after := g.VoxelToWorld(toF(StepSlice(v, g, 2).Cursor))
			w := normals[p]
			if want := 2 * testBox.sp[w]; math.Abs(after[w]-before[w]-want) > 1e-9 {
				t.Errorf("%s %v: +2 slices moved %.2f mm along world axis %d, want %.2f", codes, p, after[w]-before[w], w, want)
			}
			for k := 0; k < 3; k++ {
				if k != w && math.Abs(after[k]-before[k]) > 1e-9 {
					t.Errorf("%s %v: stepping moved the cursor within the plane", codes, p)
				}
			}
			far := StepSlice(v, g, 1000).Cursor
			n := NormalAxis(g, p)
			if far[n] != 0 && far[n] != g.Dims[n]-1 {
				t.Errorf("%s %v: a long step left the grid's edge: %v", codes, p, far)
			}
		}
	}
}

func toF(v [3]int) [3]float64 { return [3]float64{float64(v[0]), float64(v[1]), float64(v[2])} }

func TestObliquity(t *testing.T) {
	for _, codes := range testCodes {
		if o := Obliquity(codedGrid(t, codes, testBox)); o > 1e-9 {
			t.Errorf("%s: axis-aligned grid has obliquity %g", codes, o)
		}
	}
	g := codedGrid(t, "LPS", testBox)
	tilt := volume.RigidTransform([3]float64{0, 12 * math.Pi / 180, 0}, [3]float64{}, [3]float64{})
	g.Affine = tilt.Mul(g.Affine)
	if o := Obliquity(g); math.Abs(o-12) > 1e-6 {
		t.Errorf("grid tilted 12 degrees about y: obliquity %g", o)
	}
	// A tilted grid is still shown the right way up: the marker test's
	// half-planes hold.
	vol := volume.New(g)
	c := [3]int{g.Dims[0] / 2, g.Dims[1] / 2, g.Dims[2] / 2}
	marker := c
	marker[0] += 8 // LPS: axis 0 runs to patient left
	vol.Set(marker[0], marker[1], marker[2], 1000)
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	Render(img, vol, nil, View{Plane: Axial, Cursor: marker, Zoom: 1, WL: FromRange(0, 1000), Interp: Nearest})
	if x, _, n := brightCentroid(img, 128); n == 0 || x <= 100 {
		t.Errorf("tilted LPS grid: patient-left marker at x %.0f (%d pixels), want the right half", x, n)
	}
}

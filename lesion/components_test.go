package lesion

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"metascope/volume"
)

func TestComponentsTouchingLesions(t *testing.T) {
	// Three pairs of 2x2x2 cubes: touching by a face, by an edge only, by
	// a corner only. Each connectivity joins a different number of them.
	l := volume.NewLabel(grid(20, 8, 8))
	box(l, [3]int{0, 0, 0}, [3]int{1, 1, 1}, 1) // face pair
	box(l, [3]int{2, 0, 0}, [3]int{3, 1, 1}, 1)
	box(l, [3]int{6, 0, 0}, [3]int{7, 1, 1}, 1) // edge pair: offset (1,1,0)
	box(l, [3]int{8, 2, 0}, [3]int{9, 3, 1}, 1)
	box(l, [3]int{12, 0, 0}, [3]int{13, 1, 1}, 1) // corner pair: offset (1,1,1)
	box(l, [3]int{14, 2, 2}, [3]int{15, 3, 3}, 1)
	for _, tc := range []struct {
		conn Connectivity
		want int
	}{{Conn26, 3}, {Conn18, 4}, {Conn6, 5}} {
		_, comps := Components(l, tc.conn)
		if len(comps) != tc.want {
			t.Errorf("conn %v: %d components, want %d", tc.conn, len(comps), tc.want)
		}
	}
	// Conn6: the face pair is one 32-voxel lesion, the others 8 each.
	_, comps := Components(l, Conn6)
	var sizes []int
	for _, c := range comps {
		sizes = append(sizes, c.Voxels)
	}
	if want := []int{16, 8, 8, 8, 8}; !slices.Equal(sizes, want) {
		t.Errorf("conn 6 sizes %v, want %v", sizes, want)
	}
}

func TestComponentsStatsKnown(t *testing.T) {
	l := volume.NewLabel(grid(10, 10, 10))
	box(l, [3]int{1, 2, 3}, [3]int{3, 2, 4}, 2) // 3x1x2 = 6 voxels, value 2
	l.Set(9, 9, 9, 1)                           // a single voxel in the far corner
	prob := volume.New(l.Grid)
	for i := range prob.Data {
		prob.Data[i] = float32(i%7) / 8
	}
	labels, comps := ComponentsWithProb(l, prob, Conn26)
	if len(comps) != 2 {
		t.Fatalf("%d components, want 2", len(comps))
	}
	c := comps[0]
	if c.ID != 1 || c.Voxels != 6 || c.BBoxMin != [3]int{1, 2, 3} || c.BBoxMax != [3]int{3, 2, 4} {
		t.Errorf("component 1 = %+v", c)
	}
	if c.CentroidVoxel != [3]float64{2, 2, 3.5} || c.CentroidRAS != [3]float64{2, 2, 3.5} {
		t.Errorf("centroid %v / %v, want (2, 2, 3.5)", c.CentroidVoxel, c.CentroidRAS)
	}
	if math.Abs(c.VolumeCM3-0.006) > 1e-15 {
		t.Errorf("volume %v cm3, want 0.006", c.VolumeCM3)
	}
	var mx, sum float64
	for idx, id := range labels {
		if id == 1 {
			p := float64(prob.Data[idx])
			mx = math.Max(mx, p)
			sum += p
		}
	}
	if c.MaxProb != mx || math.Abs(c.MeanProb-sum/6) > 1e-12 {
		t.Errorf("prob max %v mean %v, want %v %v", c.MaxProb, c.MeanProb, mx, sum/6)
	}
	if comps[1].Voxels != 1 || comps[1].BBoxMin != [3]int{9, 9, 9} {
		t.Errorf("component 2 = %+v", comps[1])
	}
	if _, cs := Components(l, Conn26); !math.IsNaN(cs[0].MaxProb) || !math.IsNaN(cs[0].MeanProb) {
		t.Errorf("without a probability map MaxProb/MeanProb = %v/%v, want NaN", cs[0].MaxProb, cs[0].MeanProb)
	}
}

func TestComponentsBorder(t *testing.T) {
	// Odd dims (not a multiple of the 8-voxel word) and lesions on every
	// face: the last voxel of a row and the first of the next row are
	// neighbours in memory but not in space.
	nx, ny, nz := 13, 5, 4
	l := volume.NewLabel(grid(nx, ny, nz))
	l.Set(nx-1, 0, 0, 1) // end of row 0
	l.Set(0, 1, 0, 1)    // start of row 1: not a neighbour of (12,0,0)
	l.Set(nx-1, ny-1, 0, 1)
	l.Set(0, 0, 1, 1) // start of slice 1: not a neighbour of (12,4,0)
	for i := 0; i < nx; i++ {
		l.Set(i, ny-1, nz-1, 1) // a full row on the last slice
	}
	l.Set(nx-1, ny-2, nz-1, 1) // joins the full row by a face
	for _, conn := range []Connectivity{Conn6, Conn18, Conn26} {
		labels, comps := Components(l, conn)
		slow, n := slowLabels(l, conn)
		if !slices.Equal(labels, slow) {
			t.Errorf("conn %v: labels differ from flood fill", conn)
		}
		want := 5
		if conn == Conn26 || conn == Conn18 {
			want = 4 // (0,1,0) and (0,0,1) share an edge
		}
		if len(comps) != n || len(comps) != want {
			t.Errorf("conn %v: %d components (flood fill %d), want %d", conn, len(comps), n, want)
		}
		last := comps[len(comps)-1]
		if last.Voxels != nx+1 || last.BBoxMax != [3]int{nx - 1, ny - 1, nz - 1} {
			t.Errorf("conn %v: border row component %+v", conn, last)
		}
	}
}

func TestComponentsAnisotropic(t *testing.T) {
	// 0.5 x 0.8 x 3 mm voxels, rotated and shifted: 1.2 mm3 per voxel.
	rot := volume.RigidTransform([3]float64{0.3, -0.2, 0.5}, [3]float64{10, -20, 5}, [3]float64{})
	aff := rot.Mul(volume.Diagonal([3]float64{0.5, 0.8, 3}, [3]float64{}))
	g := volume.Grid{Dims: [3]int{12, 9, 7}, Affine: aff}
	l := volume.NewLabel(g)
	box(l, [3]int{2, 2, 2}, [3]int{6, 3, 2}, 1) // 10 voxels = 0.012 cm3
	l.Set(10, 7, 5, 1)                          // 3 voxels = 0.0036 cm3: kept at 0.003
	l.Set(10, 7, 6, 1)
	l.Set(10, 8, 6, 1)
	l.Set(0, 8, 0, 1) // 2 voxels = 0.0024 cm3: removed at 0.003
	l.Set(1, 8, 0, 1)
	_, comps := Components(l, Conn26)
	if len(comps) != 3 {
		t.Fatalf("%d components, want 3", len(comps))
	}
	// Raster order: the 2-voxel lesion (slice 0) is first, the box second.
	for c, want := range []float64{0.0024, 0.012, 0.0036} {
		if math.Abs(comps[c].VolumeCM3-want) > 1e-12 {
			t.Errorf("component %d: %v cm3, want %v", c+1, comps[c].VolumeCM3, want)
		}
	}
	wantRAS := aff.Apply([3]float64{4, 2.5, 2})
	if dist(comps[1].CentroidRAS, wantRAS) > 1e-9 {
		t.Errorf("centroid RAS %v, want %v", comps[1].CentroidRAS, wantRAS)
	}
	out, removed := RemoveSmall(l, StudyMinCM3, Conn26)
	if removed != 1 || out.Count() != 13 || out.At(0, 8, 0) != 0 || out.At(10, 7, 5) != 1 {
		t.Errorf("RemoveSmall: removed %d, %d voxels left; want 1 removed, 13 left", removed, out.Count())
	}
}

func TestRemoveSmallStudyRule(t *testing.T) {
	// At 1 mm, 0.003 cm3 is exactly 3 voxels: 3 are kept, 2 removed.
	l := volume.NewLabel(grid(10, 10, 10))
	box(l, [3]int{0, 0, 0}, [3]int{2, 0, 0}, 7) // 3 voxels, value 7 kept as is
	box(l, [3]int{5, 5, 5}, [3]int{6, 5, 5}, 1) // 2 voxels
	out, removed := RemoveSmall(l, StudyMinCM3, Conn26)
	if removed != 1 || out.Count() != 3 || out.At(1, 0, 0) != 7 {
		t.Errorf("removed %d, kept %d voxels (value %d); want 1, 3, 7", removed, out.Count(), out.At(1, 0, 0))
	}
	if l.Count() != 5 {
		t.Errorf("input modified")
	}
	if _, removed := RemoveSmall(l, 0, Conn26); removed != 0 {
		t.Errorf("min 0 removed %d", removed)
	}
}

func TestComponentsEmptyAndFull(t *testing.T) {
	l := volume.NewLabel(grid(9, 3, 2))
	labels, comps := Components(l, Conn26)
	if len(comps) != 0 || slices.ContainsFunc(labels, func(x int32) bool { return x != 0 }) {
		t.Errorf("empty map: %d components", len(comps))
	}
	for i := range l.Data {
		l.Data[i] = 1
	}
	for _, conn := range []Connectivity{Conn6, Conn18, Conn26} {
		if _, comps := Components(l, conn); len(comps) != 1 || comps[0].Voxels != 54 {
			t.Errorf("full map conn %v: %+v", conn, comps)
		}
	}
}

// TestComponentsMatchFloodFill compares the run-based labelling with the
// flood fill on realistic lesion maps and on dense random speckle, voxel
// for voxel, statistics included.
func TestComponentsMatchFloodFill(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 6 {
		dims := [3]int{17 + rng.IntN(40), 9 + rng.IntN(30), 5 + rng.IntN(20)}
		g := volume.Grid{Dims: dims, Affine: volume.Diagonal([3]float64{0.9, 1.1, 2.5}, [3]float64{-40, 12, 3})}
		l := volume.NewLabel(g)
		blobs(l, rng, 4+rng.IntN(10), 1, 6)
		speckle(l, rng, []float64{0.001, 0.05, 0.3, 0.6}[trial%4])
		prob := volume.New(g)
		for i := range prob.Data {
			prob.Data[i] = rng.Float32()
		}
		for _, conn := range []Connectivity{Conn6, Conn18, Conn26} {
			labels, comps := ComponentsWithProb(l, prob, conn)
			slow, n := slowLabels(l, conn)
			if !slices.Equal(labels, slow) {
				t.Fatalf("trial %d conn %v: labels differ from flood fill", trial, conn)
			}
			want := slowStats(l, slow, n, prob)
			if len(comps) != len(want) {
				t.Fatalf("trial %d conn %v: %d components, flood fill %d", trial, conn, len(comps), len(want))
			}
			for c := range comps {
				if !componentsClose(comps[c], want[c]) {
					t.Fatalf("trial %d conn %v: component %d\n fast %+v\n slow %+v", trial, conn, c+1, comps[c], want[c])
				}
			}
		}
	}
}

func componentsClose(a, b Component) bool {
	close := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y)) }
	if a.ID != b.ID || a.Voxels != b.Voxels || a.BBoxMin != b.BBoxMin || a.BBoxMax != b.BBoxMax ||
		!close(a.VolumeCM3, b.VolumeCM3) || !close(a.MaxProb, b.MaxProb) || !close(a.MeanProb, b.MeanProb) {
		return false
	}
	for i := range 3 {
		if !close(a.CentroidVoxel[i], b.CentroidVoxel[i]) || !close(a.CentroidRAS[i], b.CentroidRAS[i]) {
			return false
		}
	}
	return true
}

func TestParseConnectivity(t *testing.T) {
	for _, c := range []Connectivity{Conn6, Conn18, Conn26} {
		got, err := ParseConnectivity(c.String())
		if err != nil || got != c {
			t.Errorf("ParseConnectivity(%q) = %v, %v", c.String(), got, err)
		}
	}
	if _, err := ParseConnectivity("8"); err == nil {
		t.Error("ParseConnectivity(8) accepted")
	}
}

// benchLabel is a realistic full-size lesion map: 256x256x180 at 1 mm,
// 30 metastases of 1-12 mm radius and sparse noise.
func benchLabel() *volume.Label {
	l := volume.NewLabel(grid(256, 256, 180))
	rng := rand.New(rand.NewPCG(7, 7))
	blobs(l, rng, 30, 1, 12)
	speckle(l, rng, 0.0002)
	return l
}

func BenchmarkComponents(b *testing.B) {
	l := benchLabel()
	b.ResetTimer()
	for b.Loop() {
		Components(l, Conn26)
	}
	b.ReportMetric(float64(len(l.Data))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mvoxels/s")
}

// BenchmarkComponentsDense labels a brain-mask-sized map with 20 % speckle
// inside a 7x10x14 cm ellipsoid: many runs, many unions.
func BenchmarkComponentsDense(b *testing.B) {
	l := denseLabel()
	b.ResetTimer()
	for b.Loop() {
		Components(l, Conn26)
	}
	b.ReportMetric(float64(len(l.Data))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mvoxels/s")
}

func denseLabel() *volume.Label {
	l := volume.NewLabel(grid(256, 256, 180))
	rng := rand.New(rand.NewPCG(3, 3))
	for k := 0; k < 180; k++ {
		for j := 0; j < 256; j++ {
			for i := 0; i < 256; i++ {
				x, y, z := float64(i-128)/70, float64(j-128)/100, float64(k-90)/70
				if x*x+y*y+z*z < 1 && rng.Float64() < 0.2 {
					l.Set(i, j, k, 1)
				}
			}
		}
	}
	return l
}

// BenchmarkFloodFill runs the slow reference on the same maps, for
// comparison.
func BenchmarkFloodFill(b *testing.B) {
	for _, bc := range []struct {
		name string
		l    *volume.Label
	}{{"lesions", benchLabel()}, {"dense", denseLabel()}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				slowLabels(bc.l, Conn26)
			}
			b.ReportMetric(float64(len(bc.l.Data))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mvoxels/s")
		})
	}
}

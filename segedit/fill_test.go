package segedit

import (
	"math"
	"testing"

	"metascope/volume"
)

func isoGrid(dims [3]int) volume.Grid {
	return volume.Grid{Dims: dims, Affine: volume.Identity()}
}

// paintWhere sets value on every voxel for which in(p) holds.
func paintWhere(l *volume.Label, value uint8, in func(p [3]float64) bool) int {
	n := 0
	for idx := range l.Data {
		i, j, k := l.Coords(idx)
		if in([3]float64{float64(i), float64(j), float64(k)}) {
			l.Data[idx] = value
			n++
		}
	}
	return n
}

func dist(p [3]float64, c [3]float64) float64 {
	return math.Sqrt((p[0]-c[0])*(p[0]-c[0]) + (p[1]-c[1])*(p[1]-c[1]) + (p[2]-c[2])*(p[2]-c[2]))
}

func TestFloodFill2DStaysInOutlineAnd3DLeaks(t *testing.T) {
	g := isoGrid([3]int{24, 24, 6})
	l := volume.NewLabel(g)
	c := [3]float64{12, 12, 2}
	paintWhere(l, 1, func(p [3]float64) bool {
		d := math.Hypot(p[0]-c[0], p[1]-c[1])
		return p[2] == 2 && d >= 4 && d <= 5.5
	})
	seed := [3]int{12, 12, 2}
	m, err := FloodFill(l, seed, FloodOptions{Plane: Axial, Mode: ModeSet, Value: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := modifierSet(g, m)
	for idx := range got {
		i, j, k := g.Coords(idx)
		want := k == 2 && math.Hypot(float64(i)-c[0], float64(j)-c[1]) < 4
		if got[idx] != want {
			t.Fatalf("2D fill: voxel (%d,%d,%d) selected %v, want %v", i, j, k, got[idx], want)
		}
	}
	// In 3D the outline is open above and below: the fill takes the whole
	// background.
	m3, err := FloodFill(l, seed, FloodOptions{ThreeD: true, Mode: ModeSet, Value: 1})
	if err != nil {
		t.Fatal(err)
	}
	if m3.Count() != g.Len()-l.Count() {
		t.Fatalf("3D fill selected %d voxels, want all %d background voxels", m3.Count(), g.Len()-l.Count())
	}
	// Inside a closed shell the 3D fill takes exactly the interior.
	s := volume.NewLabel(g)
	sc := [3]float64{12, 12, 2.5}
	inner := func(p [3]float64) bool {
		return math.Abs(p[0]-sc[0]) < 5 && math.Abs(p[1]-sc[1]) < 5 && math.Abs(p[2]-sc[2]) < 2
	}
	paintWhere(s, 2, func(p [3]float64) bool {
		return !inner(p) && math.Abs(p[0]-sc[0]) < 7 && math.Abs(p[1]-sc[1]) < 7 && math.Abs(p[2]-sc[2]) < 3
	})
	m3, _ = FloodFill(s, [3]int{12, 12, 2}, FloodOptions{ThreeD: true, Mode: ModeSet, Value: 1})
	for idx, on := range modifierSet(g, m3) {
		i, j, k := g.Coords(idx)
		if on != inner([3]float64{float64(i), float64(j), float64(k)}) {
			t.Fatalf("3D fill in a shell: voxel (%d,%d,%d) selected %v", i, j, k, on)
		}
	}
	if _, err := FloodFill(l, [3]int{30, 0, 0}, FloodOptions{ThreeD: true, Mode: ModeSet, Value: 1}); err == nil {
		t.Fatal("seed outside the grid accepted")
	}
}

// Flood fill by intensity on the real MNI head selects exactly the
// face-connected in-range region around the seed: every voxel in range, no
// in-range neighbour left out, and in 2D nothing off the seed's slice.
func TestFloodFillIntensityOnMNI(t *testing.T) {
	img := mniHead(t)
	l := volume.NewLabel(img.Grid)
	seed := [3]int{91, 130, 100}
	x := img.At(seed[0], seed[1], seed[2])
	r := IntensityRange{Image: img, Lo: x * 0.9, Hi: x * 1.1}
	for _, threeD := range []bool{false, true} {
		m, err := FloodFill(l, seed, FloodOptions{ThreeD: threeD, Plane: Coronal, Range: &r, Mode: ModeSet, Value: 1})
		if err != nil {
			t.Fatal(err)
		}
		sel := modifierSet(img.Grid, m)
		n := Coronal.NormalAxis(img.Grid)
		count := 0
		for idx, on := range sel {
			if !on {
				continue
			}
			count++
			if !r.contains(idx) {
				t.Fatalf("selected voxel out of range")
			}
			i, j, k := img.Coords(idx)
			p := [3]int{i, j, k}
			if !threeD && p[n] != seed[n] {
				t.Fatalf("2D fill left the seed's slice: %v", p)
			}
			for a := range 3 {
				if !threeD && a == n {
					continue
				}
				for _, s := range []int{-1, 1} {
					q := p
					q[a] += s
					if inGrid(img.Grid, q) {
						qi := img.Index(q[0], q[1], q[2])
						if r.contains(qi) && !sel[qi] {
							t.Fatalf("in-range neighbour %v of selected %v left out", q, p)
						}
					}
				}
			}
		}
		if !sel[img.Index(seed[0], seed[1], seed[2])] || count < 50 {
			t.Fatalf("3D=%v: %d voxels selected, seed included %v", threeD, count, sel[img.Index(seed[0], seed[1], seed[2])])
		}
		t.Logf("3D=%v: %d voxels", threeD, count)
	}
}

func TestDeleteComponentIs26Connected(t *testing.T) {
	g := isoGrid([3]int{16, 16, 16})
	l := volume.NewLabel(g)
	cube := func(v uint8, lo, hi [3]int) {
		for k := lo[2]; k < hi[2]; k++ {
			for j := lo[1]; j < hi[1]; j++ {
				for i := lo[0]; i < hi[0]; i++ {
					l.Set(i, j, k, v)
				}
			}
		}
	}
	cube(1, [3]int{2, 2, 2}, [3]int{5, 5, 5})
	l.Set(5, 5, 5, 1)                               // touches the cube only at a corner: same lesion
	cube(1, [3]int{10, 10, 10}, [3]int{13, 13, 13}) // another lesion
	l.Set(5, 3, 3, 2)                               // another label touching the cube
	m, err := DeleteComponent(l, [3]int{3, 3, 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(l, m); err != nil {
		t.Fatal(err)
	}
	if l.At(3, 3, 3) != 0 || l.At(5, 5, 5) != 0 {
		t.Fatal("clicked lesion (with its corner voxel) not removed")
	}
	if l.At(11, 11, 11) != 1 || l.At(5, 3, 3) != 2 {
		t.Fatal("other lesion or other label removed")
	}
	if l.Count() != 27+1 {
		t.Fatalf("%d voxels left, want 28", l.Count())
	}
	if m, _ := DeleteComponent(l, [3]int{0, 0, 0}); m.Count() != 0 {
		t.Fatal("click on background selected voxels")
	}
}

func TestFillHoles2DAnd3D(t *testing.T) {
	g := isoGrid([3]int{20, 20, 20})
	c := [3]float64{10, 10, 10}
	// A closed spherical shell with a voxel of another label inside.
	shell := volume.NewLabel(g)
	paintWhere(shell, 1, func(p [3]float64) bool { d := dist(p, c); return d >= 4 && d <= 6 })
	shell.Set(10, 10, 10, 2)
	m, err := FillHoles(shell, FillHolesOptions{Value: 1, ThreeD: true})
	if err != nil {
		t.Fatal(err)
	}
	Apply(shell, m)
	for idx, v := range shell.Data {
		i, j, k := g.Coords(idx)
		d := dist([3]float64{float64(i), float64(j), float64(k)}, c)
		want := uint8(0)
		if d <= 6 {
			want = 1
		}
		if i == 10 && j == 10 && k == 10 {
			want = 2
		}
		if v != want {
			t.Fatalf("3D fill holes: voxel (%d,%d,%d) at %.2f is %d, want %d", i, j, k, d, v, want)
		}
	}
	// A tube along k, open at both ends: each axial slice has a hole, the
	// volume has none, and coronal slices see two walls, no hole.
	tube := func() *volume.Label {
		l := volume.NewLabel(g)
		paintWhere(l, 3, func(p [3]float64) bool {
			d := math.Hypot(p[0]-c[0], p[1]-c[1])
			return p[2] >= 4 && p[2] <= 15 && d >= 3 && d <= 5
		})
		return l
	}
	tb := tube()
	if m, _ := FillHoles(tb, FillHolesOptions{Value: 3, ThreeD: true}); m.Count() != 0 {
		t.Fatalf("3D fill holes filled %d voxels of an open tube", m.Count())
	}
	if m, _ := FillHoles(tb, FillHolesOptions{Value: 3, Plane: Coronal}); m.Count() != 0 {
		t.Fatalf("coronal fill holes filled %d voxels of a tube along k", m.Count())
	}
	m, _ = FillHoles(tb, FillHolesOptions{Value: 3, Plane: Axial})
	Apply(tb, m)
	for idx, v := range tb.Data {
		i, j, k := g.Coords(idx)
		d := math.Hypot(float64(i)-c[0], float64(j)-c[1])
		want := k >= 4 && k <= 15 && d <= 5
		if (v == 3) != want {
			t.Fatalf("axial fill holes: voxel (%d,%d,%d) is %d", i, j, k, v)
		}
	}
	if _, err := FillHoles(tb, FillHolesOptions{Value: 0, ThreeD: true}); err == nil {
		t.Fatal("value 0 accepted")
	}
}

func TestAcceptCandidate(t *testing.T) {
	g := isoGrid([3]int{16, 16, 8})
	cand := volume.NewLabel(g)
	a := paintWhere(cand, 1, func(p [3]float64) bool { return dist(p, [3]float64{4, 4, 4}) <= 2 })
	b := paintWhere(cand, 1, func(p [3]float64) bool { return dist(p, [3]float64{11, 11, 4}) <= 2.5 })
	l := volume.NewLabel(g)
	l.Set(4, 4, 4, 2) // the reader's own label inside candidate A
	m, err := AcceptCandidateAt(g, cand, [3]int{11, 11, 4}, ModeAdd, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := Apply(l, m)
	if d.Changed() != b || l.At(4, 4, 5) != 0 {
		t.Fatalf("accepting B changed %d voxels (want %d) or touched A", d.Changed(), b)
	}
	m, _ = AcceptCandidate(g, cand, ModeAdd, 1)
	d, _ = Apply(l, m)
	if d.Changed() != a-1 || l.At(4, 4, 4) != 2 {
		t.Fatalf("accepting all changed %d voxels, want %d, reader's voxel kept: %v", d.Changed(), a-1, l.At(4, 4, 4) == 2)
	}
	other := volume.NewLabel(isoGrid([3]int{8, 8, 8}))
	if _, err := AcceptCandidate(g, other, ModeAdd, 1); err == nil {
		t.Fatal("candidate on another grid accepted")
	}
}

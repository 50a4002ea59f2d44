package segedit

import (
	"math"
	"testing"

	"metascope/volume"
)

// Two concentric circles, radius 3 mm and 9 mm, outlined six slices apart:
// shape-based interpolation fills each slice between with a disc whose
// radius goes linearly from one to the other (within a voxel), and touches
// nothing else.
func TestInterpolateCirclesGivesIntermediateDiscs(t *testing.T) {
	g := volume.Grid{Dims: [3]int{48, 44, 16}, Affine: volume.Diagonal([3]float64{0.9, 1.1, 2.5}, [3]float64{})}
	l := volume.NewLabel(g)
	c := g.VoxelToWorld([3]float64{24, 22, 0})
	inDisc := func(i, j int, r float64) bool {
		p := g.VoxelToWorld([3]float64{float64(i), float64(j), 0})
		return math.Hypot(p[0]-c[0], p[1]-c[1]) <= r
	}
	const k0, k1, r0, r1 = 3, 9, 3.0, 9.0
	for j := range g.Dims[1] {
		for i := range g.Dims[0] {
			if inDisc(i, j, r0) {
				l.Set(i, j, k0, 1)
			}
			if inDisc(i, j, r1) {
				l.Set(i, j, k1, 1)
			}
		}
	}
	before := l.Clone()
	m, err := InterpolateSlices(l, InterpolateOptions{Value: 1, Plane: Axial})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(l, m); err != nil {
		t.Fatal(err)
	}
	for k := range g.Dims[2] {
		t0 := float64(k-k0) / float64(k1-k0)
		rt := r0 + t0*(r1-r0)
		n := 0
		for j := range g.Dims[1] {
			for i := range g.Dims[0] {
				v := l.At(i, j, k)
				if k == k0 || k == k1 || k < k0 || k > k1 {
					if v != before.At(i, j, k) {
						t.Fatalf("slice %d outside the gaps changed at (%d,%d)", k, i, j)
					}
					continue
				}
				if v != 0 {
					n++
				}
				if inDisc(i, j, rt-1.1) && v != 1 {
					t.Fatalf("slice %d (radius %.1f mm): voxel (%d,%d) well inside is empty", k, rt, i, j)
				}
				if !inDisc(i, j, rt+1.1) && v != 0 {
					t.Fatalf("slice %d (radius %.1f mm): voxel (%d,%d) well outside is filled", k, rt, i, j)
				}
			}
		}
		if k > k0 && k < k1 {
			area := float64(n) * 0.9 * 1.1
			want := math.Pi * rt * rt
			if math.Abs(area-want) > 0.25*want {
				t.Errorf("slice %d: area %.1f mm2, disc of radius %.1f has %.1f", k, area, rt, want)
			}
		}
	}
}

// Interpolation follows a moving shape (overlapping between key slices, as
// a lesion outlined on nearby slices does; shape-based interpolation cannot
// bridge shapes that do not overlap) and works along any plane's normal
// (here sagittal, on a permuted affine), and Region limits which key slices
// count.
func TestInterpolateSagittalMovingSquare(t *testing.T) {
	// Axes: i is A, j is S, k is R: sagittal slices are k.
	aff := volume.Affine{{0, 0, 1, 0}, {1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 0, 1}}
	g := volume.Grid{Dims: [3]int{30, 30, 20}, Affine: aff}
	if Sagittal.NormalAxis(g) != 2 {
		t.Fatalf("sagittal normal is axis %d", Sagittal.NormalAxis(g))
	}
	l := volume.NewLabel(g)
	square := func(k, x0 int) {
		for j := 10; j < 16; j++ {
			for i := x0; i < x0+8; i++ {
				l.Set(i, j, k, 1)
			}
		}
	}
	square(2, 4)
	square(10, 10) // moved 6 voxels along i over 8 slices
	square(18, 4)
	m, err := InterpolateSlices(l, InterpolateOptions{Value: 1, Plane: Sagittal, Region: &Box{Max: [3]int{30, 30, 13}}})
	if err != nil {
		t.Fatal(err)
	}
	Apply(l, m)
	for k := 3; k < 10; k++ {
		shift := 4 + 6*float64(k-2)/8
		n := 0
		var ci float64
		for j := range 30 {
			for i := range 30 {
				if l.At(i, j, k) != 0 {
					n++
					ci += float64(i)
				}
			}
		}
		if n == 0 {
			t.Fatalf("slice %d empty", k)
		}
		ci /= float64(n)
		if math.Abs(ci-(shift+3.5)) > 0.75 {
			t.Errorf("slice %d: square centred at i=%.1f, want %.1f", k, ci, shift+3.5)
		}
	}
	for k := 11; k < 18; k++ {
		for idx := range 30 * 30 {
			if l.Data[k*900+idx] != 0 {
				t.Fatalf("slice %d beyond the Region was filled", k)
			}
		}
	}
}

func TestSignedDistanceMatchesBruteForce(t *testing.T) {
	nu, nv, su, sv := 13, 9, 0.7, 1.9
	mask := make([]bool, nu*nv)
	for _, p := range [][2]int{{2, 2}, {3, 2}, {10, 7}, {6, 4}, {6, 5}} {
		mask[p[0]+nu*p[1]] = true
	}
	got := signedDistance(mask, nu, nv, su, sv)
	for b := range nv {
		for a := range nu {
			best := math.Inf(1)
			for y := range nv {
				for x := range nu {
					if mask[x+nu*y] != mask[a+nu*b] {
						best = math.Min(best, math.Hypot(float64(x-a)*su, float64(y-b)*sv))
					}
				}
			}
			if mask[a+nu*b] {
				best = -best
			}
			if math.Abs(got[a+nu*b]-best) > 1e-9 {
				t.Fatalf("(%d,%d): %g, want %g", a, b, got[a+nu*b], best)
			}
		}
	}
}

// Another lesion outlined on a slice between a lesion's key slices breaks
// whole-grid interpolation of that lesion; a Region around the lesion being
// drawn keeps the other one out.
func TestInterpolateRegionIgnoresOtherLesions(t *testing.T) {
	g := isoGrid([3]int{32, 32, 10})
	l := volume.NewLabel(g)
	sq := func(k, i0, j0 int) {
		for j := j0; j < j0+6; j++ {
			for i := i0; i < i0+6; i++ {
				l.Set(i, j, k, 1)
			}
		}
	}
	sq(2, 4, 4)
	sq(6, 4, 4)
	sq(4, 22, 22) // lesion B, on a slice inside A's gap
	whole, _ := InterpolateSlices(l, InterpolateOptions{Value: 1, Plane: Axial})
	aBox := Box{Min: [3]int{0, 0, 0}, Max: [3]int{16, 16, 10}}
	local, err := InterpolateSlices(l, InterpolateOptions{Value: 1, Plane: Axial, Region: &aBox})
	if err != nil {
		t.Fatal(err)
	}
	if got := local.Count(); got != 3*36 {
		t.Fatalf("region interpolation filled %d voxels, want A's 3 slices of 36", got)
	}
	for idx, on := range modifierSet(g, local) {
		i, j, k := g.Coords(idx)
		if on != (k >= 3 && k <= 5 && i >= 4 && i < 10 && j >= 4 && j < 10) {
			t.Fatalf("region interpolation: voxel (%d,%d,%d) selected %v", i, j, k, on)
		}
	}
	if whole.Count() >= local.Count() {
		t.Fatalf("whole-grid interpolation filled %d voxels; the test expects lesion B to break it", whole.Count())
	}
}

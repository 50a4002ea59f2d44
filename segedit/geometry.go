package segedit

import (
	"fmt"
	"math"
	"strings"

	"metascope/volume"
)

// Box is an axis-aligned block of voxels [Min, Max) in voxel indices.
type Box struct {
	Min, Max [3]int
}

// Size is the extent along each axis (0 for an empty box).
func (b Box) Size() [3]int {
	var s [3]int
	for a := range 3 {
		s[a] = max(0, b.Max[a]-b.Min[a])
	}
	return s
}

// Len is the number of voxels in the box.
func (b Box) Len() int {
	s := b.Size()
	return s[0] * s[1] * s[2]
}

// Empty reports whether the box holds no voxel.
func (b Box) Empty() bool { return b.Len() == 0 }

// Contains reports whether voxel p is in the box.
func (b Box) Contains(p [3]int) bool {
	for a := range 3 {
		if p[a] < b.Min[a] || p[a] >= b.Max[a] {
			return false
		}
	}
	return true
}

// Intersect is the common part of two boxes (possibly empty).
func (b Box) Intersect(o Box) Box {
	var r Box
	for a := range 3 {
		r.Min[a] = max(b.Min[a], o.Min[a])
		r.Max[a] = max(r.Min[a], min(b.Max[a], o.Max[a]))
	}
	return r
}

// Union is the smallest box holding both (an empty box contributes nothing).
func (b Box) Union(o Box) Box {
	if b.Empty() {
		return o
	}
	if o.Empty() {
		return b
	}
	var r Box
	for a := range 3 {
		r.Min[a] = min(b.Min[a], o.Min[a])
		r.Max[a] = max(b.Max[a], o.Max[a])
	}
	return r
}

// index is the offset of voxel (i, j, k) in a dense mask over the box.
func (b Box) index(i, j, k int) int {
	s := b.Size()
	return (i - b.Min[0]) + s[0]*((j-b.Min[1])+s[1]*(k-b.Min[2]))
}

// GridBox is the box covering a whole grid.
func GridBox(g volume.Grid) Box { return Box{Max: g.Dims} }

// Plane names a 2D view: the voxel slice whose normal is the voxel axis
// closest to the world axis of that view (S for axial, A for coronal, R for
// sagittal), as read from the affine's axis codes. It is segedit's own small
// type; the app translates the viewer's orientation into it.
type Plane int

const (
	Axial Plane = iota
	Coronal
	Sagittal
)

func (p Plane) String() string {
	switch p {
	case Axial:
		return "axial"
	case Coronal:
		return "coronal"
	case Sagittal:
		return "sagittal"
	}
	return fmt.Sprintf("plane(%d)", int(p))
}

// Valid reports whether p is one of the three planes.
func (p Plane) Valid() bool { return p >= Axial && p <= Sagittal }

// NormalAxis is the voxel axis (0, 1 or 2) perpendicular to the plane on grid
// g: the one whose axis code is S/I (axial), A/P (coronal) or R/L (sagittal).
func (p Plane) NormalAxis(g volume.Grid) int {
	want := map[Plane]string{Axial: "SI", Coronal: "AP", Sagittal: "RL"}[p]
	codes := g.Affine.AxisCodes()
	for a := range 3 {
		if strings.IndexByte(want, codes[a]) >= 0 {
			return a
		}
	}
	return 2 // unreachable for a valid affine: AxisCodes is a permutation
}

// metric is the squared-distance form of a grid: |A d|^2 = d' G d for a
// voxel offset d, in mm^2, valid for oblique and sheared affines.
type metric [3][3]float64

func gridMetric(g volume.Grid) metric {
	var m metric
	for r := range 3 {
		for c := range 3 {
			for k := range 3 {
				m[r][c] += g.Affine[k][r] * g.Affine[k][c]
			}
		}
	}
	return m
}

func (m *metric) norm2(d [3]float64) float64 {
	var s float64
	for r := range 3 {
		for c := range 3 {
			s += d[r] * m[r][c] * d[c]
		}
	}
	return s
}

func (m *metric) dot(a, b [3]float64) float64 {
	var s float64
	for r := range 3 {
		for c := range 3 {
			s += a[r] * m[r][c] * b[c]
		}
	}
	return s
}

// reach is, for each voxel axis, how many voxels a sphere of radius r mm can
// extend along it: r times the norm of row a of the inverse 3x3 (the width
// of the ellipsoid r |A d| <= r along axis a).
func reach(g volume.Grid, r float64) ([3]int, error) {
	inv, err := g.Affine.Inverse()
	if err != nil {
		return [3]int{}, err
	}
	var out [3]int
	for a := range 3 {
		n := math.Sqrt(inv[a][0]*inv[a][0] + inv[a][1]*inv[a][1] + inv[a][2]*inv[a][2])
		out[a] = int(math.Floor(r*n + 1e-9))
	}
	return out, nil
}

func inGrid(g volume.Grid, p [3]int) bool { return g.Contains(p[0], p[1], p[2]) }

func toF(p [3]int) [3]float64 { return [3]float64{float64(p[0]), float64(p[1]), float64(p[2])} }

// Package volume is Metascope's image model: a grid of voxels with a
// voxel-to-world affine in RAS+ millimetres (the NIfTI sform convention), float
// images and uint8 label maps on such grids, resampling between grids, and
// NIfTI and DICOM input and output.
//
// As in nibabel, the affine is the single source of truth for geometry:
// spacing, direction and orientation codes are derived from it and never
// stored twice. Geometry functions are pure and return new values.
package volume

import (
	"fmt"
	"math"
)

// Affine is a 4x4 homogeneous matrix, row-major, mapping voxel indices
// (i, j, k, 1) to world coordinates (x, y, z, 1) in RAS+ millimetres.
type Affine [4][4]float64

// Identity returns the identity affine (1 mm voxels aligned with RAS).
func Identity() Affine {
	return Affine{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}
}

// Diagonal returns an axis-aligned affine with the given spacing and origin
// (the world position of voxel 0,0,0).
func Diagonal(spacing, origin [3]float64) Affine {
	return Affine{
		{spacing[0], 0, 0, origin[0]},
		{0, spacing[1], 0, origin[1]},
		{0, 0, spacing[2], origin[2]},
		{0, 0, 0, 1},
	}
}

// Apply maps a point through the affine.
func (a Affine) Apply(p [3]float64) [3]float64 {
	var r [3]float64
	for row := 0; row < 3; row++ {
		r[row] = a[row][0]*p[0] + a[row][1]*p[1] + a[row][2]*p[2] + a[row][3]
	}
	return r
}

// ApplyVector maps a direction (no translation) through the affine.
func (a Affine) ApplyVector(v [3]float64) [3]float64 {
	var r [3]float64
	for row := 0; row < 3; row++ {
		r[row] = a[row][0]*v[0] + a[row][1]*v[1] + a[row][2]*v[2]
	}
	return r
}

// Mul returns a*b (apply b first, then a).
func (a Affine) Mul(b Affine) Affine {
	var r Affine
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			var s float64
			for k := 0; k < 4; k++ {
				s += a[i][k] * b[k][j]
			}
			r[i][j] = s
		}
	}
	return r
}

// Det3 is the determinant of the upper-left 3x3 block.
func (a Affine) Det3() float64 {
	return a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) -
		a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) +
		a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
}

// Inverse returns the inverse of an affine whose last row is (0 0 0 1).
func (a Affine) Inverse() (Affine, error) {
	d := a.Det3()
	if d == 0 || math.IsNaN(d) || math.IsInf(d, 0) {
		return Affine{}, fmt.Errorf("affine is singular (determinant %g)", d)
	}
	var r Affine
	r[0][0] = (a[1][1]*a[2][2] - a[1][2]*a[2][1]) / d
	r[0][1] = (a[0][2]*a[2][1] - a[0][1]*a[2][2]) / d
	r[0][2] = (a[0][1]*a[1][2] - a[0][2]*a[1][1]) / d
	r[1][0] = (a[1][2]*a[2][0] - a[1][0]*a[2][2]) / d
	r[1][1] = (a[0][0]*a[2][2] - a[0][2]*a[2][0]) / d
	r[1][2] = (a[0][2]*a[1][0] - a[0][0]*a[1][2]) / d
	r[2][0] = (a[1][0]*a[2][1] - a[1][1]*a[2][0]) / d
	r[2][1] = (a[0][1]*a[2][0] - a[0][0]*a[2][1]) / d
	r[2][2] = (a[0][0]*a[1][1] - a[0][1]*a[1][0]) / d
	for i := 0; i < 3; i++ {
		r[i][3] = -(r[i][0]*a[0][3] + r[i][1]*a[1][3] + r[i][2]*a[2][3])
	}
	r[3] = [4]float64{0, 0, 0, 1}
	return r, nil
}

// Spacing is the length in mm of each voxel axis (the norms of the first
// three columns).
func (a Affine) Spacing() [3]float64 {
	var s [3]float64
	for c := 0; c < 3; c++ {
		s[c] = math.Sqrt(a[0][c]*a[0][c] + a[1][c]*a[1][c] + a[2][c]*a[2][c])
	}
	return s
}

// Direction returns the unit world direction of each voxel axis: column c of
// the result (Direction()[row][c]) is the direction of axis c.
func (a Affine) Direction() [3][3]float64 {
	s := a.Spacing()
	var d [3][3]float64
	for c := 0; c < 3; c++ {
		for r := 0; r < 3; r++ {
			if s[c] > 0 {
				d[r][c] = a[r][c] / s[c]
			}
		}
	}
	return d
}

// Origin is the world position of voxel (0, 0, 0).
func (a Affine) Origin() [3]float64 { return [3]float64{a[0][3], a[1][3], a[2][3]} }

// IsFinite reports whether every element is a finite number.
func (a Affine) IsFinite() bool {
	for i := range a {
		for j := range a[i] {
			if math.IsNaN(a[i][j]) || math.IsInf(a[i][j], 0) {
				return false
			}
		}
	}
	return true
}

// AlmostEqual reports whether every element differs by at most tol.
func (a Affine) AlmostEqual(b Affine, tol float64) bool {
	for i := range a {
		for j := range a[i] {
			if math.Abs(a[i][j]-b[i][j]) > tol {
				return false
			}
		}
	}
	return true
}

// AxisCodes returns, for each voxel axis, the world direction it points to
// most closely, as nibabel's aff2axcodes does: "RAS" for a canonical affine,
// "LPS" for DICOM's usual storage. Each world axis is used once.
func (a Affine) AxisCodes() string {
	perm, sign := a.closestAxes()
	pos := [3]byte{'R', 'A', 'S'}
	neg := [3]byte{'L', 'P', 'I'}
	out := make([]byte, 3)
	for c := 0; c < 3; c++ {
		if sign[c] > 0 {
			out[c] = pos[perm[c]]
		} else {
			out[c] = neg[perm[c]]
		}
	}
	return string(out)
}

// closestAxes assigns each voxel axis c the world axis perm[c] it is most
// aligned with, and the sign of that alignment; the assignment is a
// permutation chosen greedily by the largest absolute direction cosine.
func (a Affine) closestAxes() (perm [3]int, sign [3]int) {
	d := a.Direction()
	usedRow := [3]bool{}
	usedCol := [3]bool{}
	for n := 0; n < 3; n++ {
		best, br, bc := -1.0, 0, 0
		for r := 0; r < 3; r++ {
			if usedRow[r] {
				continue
			}
			for c := 0; c < 3; c++ {
				if usedCol[c] {
					continue
				}
				if v := math.Abs(d[r][c]); v > best {
					best, br, bc = v, r, c
				}
			}
		}
		usedRow[br], usedCol[bc] = true, true
		perm[bc] = br
		if d[br][bc] < 0 {
			sign[bc] = -1
		} else {
			sign[bc] = 1
		}
	}
	return perm, sign
}

// RigidTransform builds a world-space rigid transform from rotations (radians,
// about the x, y, z axes, applied in that order) and a translation in mm,
// rotating about centre.
func RigidTransform(rot [3]float64, trans [3]float64, centre [3]float64) Affine {
	cx, sx := math.Cos(rot[0]), math.Sin(rot[0])
	cy, sy := math.Cos(rot[1]), math.Sin(rot[1])
	cz, sz := math.Cos(rot[2]), math.Sin(rot[2])
	rx := Affine{{1, 0, 0, 0}, {0, cx, -sx, 0}, {0, sx, cx, 0}, {0, 0, 0, 1}}
	ry := Affine{{cy, 0, sy, 0}, {0, 1, 0, 0}, {-sy, 0, cy, 0}, {0, 0, 0, 1}}
	rz := Affine{{cz, -sz, 0, 0}, {sz, cz, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}
	r := rz.Mul(ry).Mul(rx)
	// p' = R (p - c) + c + t
	rc := r.ApplyVector(centre)
	for i := 0; i < 3; i++ {
		r[i][3] = centre[i] - rc[i] + trans[i]
	}
	return r
}

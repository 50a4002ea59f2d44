package register

import (
	"math"

	"metascope/volume"
)

// Rigid is a 6-degree-of-freedom transform in world millimetres:
// p' = R (p - Centre) + Centre + Translation, with R = Rz Ry Rx built from
// Rotation (radians about x, y, z; the convention of volume.RigidTransform).
// It maps reference (fixed) world points to moving-image world points.
type Rigid struct {
	Rotation    [3]float64 `json:"rotation_rad"`
	Translation [3]float64 `json:"translation_mm"`
	Centre      [3]float64 `json:"centre_mm"`
}

// Matrix is the 4x4 affine of the transform.
func (r Rigid) Matrix() volume.Affine {
	return volume.RigidTransform(r.Rotation, r.Translation, r.Centre)
}

// rotation returns R and its derivatives with respect to the three angles.
func rotation(rot [3]float64) (r [3][3]float64, d [3][3][3]float64) {
	cx, sx := math.Cos(rot[0]), math.Sin(rot[0])
	cy, sy := math.Cos(rot[1]), math.Sin(rot[1])
	cz, sz := math.Cos(rot[2]), math.Sin(rot[2])
	rx := [3][3]float64{{1, 0, 0}, {0, cx, -sx}, {0, sx, cx}}
	ry := [3][3]float64{{cy, 0, sy}, {0, 1, 0}, {-sy, 0, cy}}
	rz := [3][3]float64{{cz, -sz, 0}, {sz, cz, 0}, {0, 0, 1}}
	drx := [3][3]float64{{0, 0, 0}, {0, -sx, -cx}, {0, cx, -sx}}
	dry := [3][3]float64{{-sy, 0, cy}, {0, 0, 0}, {-cy, 0, -sy}}
	drz := [3][3]float64{{-sz, -cz, 0}, {cz, -sz, 0}, {0, 0, 0}}
	r = mul3(rz, mul3(ry, rx))
	d[0] = mul3(rz, mul3(ry, drx))
	d[1] = mul3(rz, mul3(dry, rx))
	d[2] = mul3(drz, mul3(ry, rx))
	return r, d
}

func mul3(a, b [3][3]float64) [3][3]float64 {
	var c [3][3]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			c[i][j] = a[i][0]*b[0][j] + a[i][1]*b[1][j] + a[i][2]*b[2][j]
		}
	}
	return c
}

// MeanDisplacement is the mean distance in mm between where a and b send
// the given points: how far apart two registrations put the brain.
func MeanDisplacement(a, b volume.Affine, points [][3]float64) float64 {
	if len(points) == 0 {
		return 0
	}
	var s float64
	for _, p := range points {
		pa, pb := a.Apply(p), b.Apply(p)
		s += math.Sqrt((pa[0]-pb[0])*(pa[0]-pb[0]) + (pa[1]-pb[1])*(pa[1]-pb[1]) + (pa[2]-pb[2])*(pa[2]-pb[2]))
	}
	return s / float64(len(points))
}

// RotationAngleDeg is the angle of the rotation part of a*b^-1 in degrees
// (0 when the two transforms rotate alike).
func RotationAngleDeg(a, b volume.Affine) float64 {
	bi, err := b.Inverse()
	if err != nil {
		return math.NaN()
	}
	m := a.Mul(bi)
	tr := m[0][0] + m[1][1] + m[2][2]
	c := math.Max(-1, math.Min(1, (tr-1)/2))
	return math.Acos(c) * 180 / math.Pi
}

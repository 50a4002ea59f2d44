package nifti

import (
	"fmt"
	"math"

	"metascope/volume"
)

// Affine sources, in the order of precedence the NIfTI standard and nibabel
// apply.
const (
	SourceSform  = "sform"
	SourceQform  = "qform"
	SourcePixdim = "pixdim"
)

// bestAffine returns the voxel-to-world affine of a header: the sform when
// sform_code > 0, else the qform when qform_code > 0, else the pixdim
// diagonal (NIfTI "method 1": x = pixdim[1]*i, no origin; nibabel instead
// centres and flips x for such files, which only matters for files that
// declare no orientation at all). NIfTI world space is already RAS+.
func (h *rawHeader) bestAffine() (volume.Affine, string, error) {
	var a volume.Affine
	var src string
	switch {
	case h.sformCode > 0:
		a, src = h.sformAffine(), SourceSform
	case h.qformCode > 0:
		a, src = h.qformAffine(), SourceQform
	default:
		a, src = h.pixdimAffine(), SourcePixdim
	}
	if !a.IsFinite() {
		return a, src, fmt.Errorf("%s affine has non-finite elements", src)
	}
	if d := a.Det3(); d == 0 || math.Abs(d) < 1e-12 {
		return a, src, fmt.Errorf("%s affine is singular (determinant %g)", src, d)
	}
	return a, src, nil
}

func (h *rawHeader) sformAffine() volume.Affine {
	var a volume.Affine
	for r := 0; r < 3; r++ {
		a[r] = h.srow[r]
	}
	a[3] = [4]float64{0, 0, 0, 1}
	return a
}

// zoom returns |pixdim[i]|, or 1 where it is zero or not finite (as
// niftilib does, so a broken pixdim never makes a singular affine).
func (h *rawHeader) zoom(i int) float64 {
	z := h.pixdim[i]
	if z == 0 || math.IsNaN(z) || math.IsInf(z, 0) {
		return 1
	}
	return math.Abs(z)
}

func (h *rawHeader) pixdimAffine() volume.Affine {
	return volume.Diagonal([3]float64{h.zoom(1), h.zoom(2), h.zoom(3)}, [3]float64{})
}

// qformAffine implements the quaternion formula of the NIfTI-1 standard
// (nifti1.h, "METHOD 2"): R from (a, b, c, d) with a = sqrt(1-b²-c²-d²),
// the third column scaled by qfac = pixdim[0] (-1 or 1), columns scaled by
// pixdim[1..3], translation qoffset.
func (h *rawHeader) qformAffine() volume.Affine {
	qfac := 1.0
	if h.pixdim[0] < 0 {
		qfac = -1
	}
	r := quaternToRotation(h.quatern[0], h.quatern[1], h.quatern[2])
	z := [3]float64{h.zoom(1), h.zoom(2), h.zoom(3) * qfac}
	var a volume.Affine
	for row := 0; row < 3; row++ {
		for c := 0; c < 3; c++ {
			a[row][c] = r[row][c] * z[c]
		}
		a[row][3] = h.qoffset[row]
	}
	a[3] = [4]float64{0, 0, 0, 1}
	return a
}

// quaternToRotation is nifti_quatern_to_mat44's rotation part.
func quaternToRotation(b, c, d float64) [3][3]float64 {
	a := 1 - (b*b + c*c + d*d)
	if a < 1e-7 {
		// Special case from the standard: a 180-degree rotation, with
		// (b, c, d) renormalised.
		n := math.Sqrt(b*b + c*c + d*d)
		if n > 0 {
			b, c, d = b/n, c/n, d/n
		}
		a = 0
	} else {
		a = math.Sqrt(a)
	}
	return [3][3]float64{
		{a*a + b*b - c*c - d*d, 2 * (b*c - a*d), 2 * (b*d + a*c)},
		{2 * (b*c + a*d), a*a + c*c - b*b - d*d, 2 * (c*d - a*b)},
		{2 * (b*d - a*c), 2 * (c*d + a*b), a*a + d*d - c*c - b*b},
	}
}

// qform is the quaternion representation of an affine for writing.
type qform struct {
	b, c, d    float64
	qfac       float64
	pixdim     [3]float64
	offset     [3]float64
	orthogonal bool // false when the affine has shear the qform cannot hold
}

// affineToQform follows nifti_mat44_to_quatern: column lengths give pixdim,
// the normalised columns are made exactly orthogonal (polar decomposition),
// a negative determinant becomes qfac = -1 with the third column negated, and
// the rotation becomes a unit quaternion with a >= 0.
func affineToQform(m volume.Affine) qform {
	q := qform{qfac: 1, offset: [3]float64{m[0][3], m[1][3], m[2][3]}}
	var r [3][3]float64
	for c := 0; c < 3; c++ {
		n := math.Sqrt(m[0][c]*m[0][c] + m[1][c]*m[1][c] + m[2][c]*m[2][c])
		if n == 0 {
			n = 1
			r[c][c] = 1
		} else {
			for row := 0; row < 3; row++ {
				r[row][c] = m[row][c] / n
			}
		}
		q.pixdim[c] = n
	}
	orth := polar(r)
	q.orthogonal = true
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			if math.Abs(orth[i][j]-r[i][j]) > 1e-6 {
				q.orthogonal = false
			}
		}
	}
	r = orth
	if det3(r) < 0 {
		q.qfac = -1
		for row := 0; row < 3; row++ {
			r[row][2] = -r[row][2]
		}
	}
	r11, r12, r13 := r[0][0], r[0][1], r[0][2]
	r21, r22, r23 := r[1][0], r[1][1], r[1][2]
	r31, r32, r33 := r[2][0], r[2][1], r[2][2]
	var a, b, c, d float64
	a = r11 + r22 + r33 + 1
	if a > 0.5 {
		a = 0.5 * math.Sqrt(a)
		b = 0.25 * (r32 - r23) / a
		c = 0.25 * (r13 - r31) / a
		d = 0.25 * (r21 - r12) / a
	} else {
		xd := 1 + r11 - (r22 + r33)
		yd := 1 + r22 - (r11 + r33)
		zd := 1 + r33 - (r11 + r22)
		switch {
		case xd > 1:
			b = 0.5 * math.Sqrt(xd)
			c = 0.25 * (r12 + r21) / b
			d = 0.25 * (r13 + r31) / b
			a = 0.25 * (r32 - r23) / b
		case yd > 1:
			c = 0.5 * math.Sqrt(yd)
			b = 0.25 * (r12 + r21) / c
			d = 0.25 * (r23 + r32) / c
			a = 0.25 * (r13 - r31) / c
		default:
			d = 0.5 * math.Sqrt(zd)
			b = 0.25 * (r13 + r31) / d
			c = 0.25 * (r23 + r32) / d
			a = 0.25 * (r21 - r12) / d
		}
		if a < 0 {
			b, c, d = -b, -c, -d
		}
	}
	q.b, q.c, q.d = b, c, d
	return q
}

func det3(m [3][3]float64) float64 {
	return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
}

// polar returns the orthogonal factor of m by Newton iteration
// Q <- (Q + Q^-T)/2, which converges quadratically for non-singular m.
func polar(m [3][3]float64) [3][3]float64 {
	q := m
	for it := 0; it < 50; it++ {
		d := det3(q)
		if d == 0 || math.IsNaN(d) {
			return m
		}
		// inverse transpose = cofactor matrix / det
		var it3 [3][3]float64
		it3[0][0] = (q[1][1]*q[2][2] - q[1][2]*q[2][1]) / d
		it3[0][1] = (q[1][2]*q[2][0] - q[1][0]*q[2][2]) / d
		it3[0][2] = (q[1][0]*q[2][1] - q[1][1]*q[2][0]) / d
		it3[1][0] = (q[0][2]*q[2][1] - q[0][1]*q[2][2]) / d
		it3[1][1] = (q[0][0]*q[2][2] - q[0][2]*q[2][0]) / d
		it3[1][2] = (q[0][1]*q[2][0] - q[0][0]*q[2][1]) / d
		it3[2][0] = (q[0][1]*q[1][2] - q[0][2]*q[1][1]) / d
		it3[2][1] = (q[0][2]*q[1][0] - q[0][0]*q[1][2]) / d
		it3[2][2] = (q[0][0]*q[1][1] - q[0][1]*q[1][0]) / d
		diff := 0.0
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				n := 0.5 * (q[i][j] + it3[i][j])
				diff += math.Abs(n - q[i][j])
				q[i][j] = n
			}
		}
		if diff < 1e-15 {
			break
		}
	}
	return q
}

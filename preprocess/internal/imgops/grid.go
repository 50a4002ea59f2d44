package imgops

import (
	"errors"
	"math"

	"metascope/volume"
)

// ShrinkGrid is the grid of Shrink's output: voxel i' sits at the centre of
// input block i'*f .. i'*f+f-1.
func ShrinkGrid(g volume.Grid, f [3]int, dims [3]int) volume.Grid {
	m := volume.Identity()
	for a := 0; a < 3; a++ {
		m[a][a] = float64(f[a])
		m[a][3] = float64(f[a]-1) / 2
	}
	return volume.Grid{Dims: dims, Affine: g.Affine.Mul(m)}
}

// ShrinkVolume block-averages v by f (see Shrink).
func ShrinkVolume(v *volume.Volume, f [3]int) *volume.Volume {
	d, nd := Shrink(v.Data, v.Dims, f)
	return &volume.Volume{Grid: ShrinkGrid(v.Grid, f, nd), Data: d}
}

// FactorsFor returns per-axis integer shrink factors that bring a grid's
// spacing closest to target mm without going below its own spacing (a
// 5 mm slice axis is never shrunk to reach 4 mm).
func FactorsFor(spacing [3]float64, target float64) [3]int {
	var f [3]int
	for a := 0; a < 3; a++ {
		f[a] = max(1, int(math.Round(target/spacing[a])))
	}
	return f
}

// MaskToBool converts a label map to a boolean mask (non-zero is true).
func MaskToBool(l *volume.Label) []bool {
	m := make([]bool, len(l.Data))
	for i, x := range l.Data {
		m[i] = x != 0
	}
	return m
}

// BoolToLabel converts a boolean mask on g to a label map (1 inside).
func BoolToLabel(m []bool, g volume.Grid) *volume.Label {
	l := &volume.Label{Grid: g, Data: make([]uint8, len(m))}
	for i, x := range m {
		if x {
			l.Data[i] = 1
		}
	}
	return l
}

// HeadMask is a rough foreground mask: intensities above the Otsu threshold
// of the image (computed between 0 and the 99.5th percentile, so bright
// outliers do not move it), largest connected component, holes filled
// slice by slice and in 3D. It is what bias correction and registration use
// before a brain mask exists.
func HeadMask(v *volume.Volume) ([]bool, error) {
	ps, err := Percentiles(v.Data, nil, []float64{0.5, 99.5}, 200000)
	if err != nil {
		return nil, err
	}
	lo, hi := ps[0], ps[1]
	if !(hi > lo) {
		return nil, ErrConstant
	}
	th := Otsu(v.Data, nil, lo, hi, 256)
	m := make([]bool, len(v.Data))
	for i, x := range v.Data {
		m[i] = float64(x) > th
	}
	m = Largest(m, v.Dims)
	// Fill holes slice by slice, axially (dark CSF and bone reach the edge
	// of the field of view through the foramen magnum, so in 3D they are
	// not holes) and along the slice axis of thick-slice images.
	for _, a := range fillAxes(v.Grid) {
		m = FillHolesSlices(m, v.Dims, a)
	}
	m = FillHoles(m, v.Dims)
	return m, nil
}

// ErrConstant is returned for an image without contrast.
var ErrConstant = errors.New("image is constant (no contrast to work with)")

// fillAxes returns the voxel axis closest to world S-I and, if different,
// the coarsest (slice) axis.
func fillAxes(g volume.Grid) []int {
	d := g.Affine.Direction()
	axial, best := 2, -1.0
	for c := 0; c < 3; c++ {
		if v := math.Abs(d[2][c]); v > best {
			axial, best = c, v
		}
	}
	sp := g.Spacing()
	thick := 0
	for a := 1; a < 3; a++ {
		if sp[a] > sp[thick] {
			thick = a
		}
	}
	if sp[thick] > 1.2*min(sp[0], sp[1], sp[2]) && thick != axial {
		return []int{axial, thick}
	}
	return []int{axial}
}

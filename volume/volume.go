package volume

import (
	"fmt"
	"math"
)

// MaxVoxels bounds the size of any grid Metascope will allocate (2^31 voxels,
// 8 GiB of float32). Headers claiming more are refused before allocation.
const MaxVoxels = 1 << 31

// Grid is the geometry shared by images and label maps: dimensions and the
// voxel-to-world affine. Index i varies fastest in memory.
type Grid struct {
	Dims   [3]int
	Affine Affine
}

// Validate reports whether the grid can hold data: positive dimensions, a
// bounded voxel count, and a finite, invertible affine.
func (g Grid) Validate() error {
	n := 1
	for a, d := range g.Dims {
		if d <= 0 {
			return fmt.Errorf("grid dimension %d is %d; must be positive", a, d)
		}
		if n > MaxVoxels/d {
			return fmt.Errorf("grid %v has more than %d voxels", g.Dims, MaxVoxels)
		}
		n *= d
	}
	if !g.Affine.IsFinite() {
		return fmt.Errorf("grid affine has non-finite elements")
	}
	if _, err := g.Affine.Inverse(); err != nil {
		return fmt.Errorf("grid affine: %w", err)
	}
	return nil
}

// Len is the number of voxels.
func (g Grid) Len() int { return g.Dims[0] * g.Dims[1] * g.Dims[2] }

// Index is the linear offset of voxel (i, j, k).
func (g Grid) Index(i, j, k int) int { return i + g.Dims[0]*(j+g.Dims[1]*k) }

// Coords inverts Index.
func (g Grid) Coords(idx int) (i, j, k int) {
	i = idx % g.Dims[0]
	idx /= g.Dims[0]
	j = idx % g.Dims[1]
	k = idx / g.Dims[1]
	return
}

// Contains reports whether (i, j, k) is inside the grid.
func (g Grid) Contains(i, j, k int) bool {
	return i >= 0 && j >= 0 && k >= 0 && i < g.Dims[0] && j < g.Dims[1] && k < g.Dims[2]
}

// Spacing is the voxel size in mm along each axis, derived from the affine.
func (g Grid) Spacing() [3]float64 { return g.Affine.Spacing() }

// VoxelVolumeMM3 is the volume of one voxel in mm3 (|det| of the affine).
func (g Grid) VoxelVolumeMM3() float64 { return math.Abs(g.Affine.Det3()) }

// VoxelToWorld maps continuous voxel coordinates to RAS mm.
func (g Grid) VoxelToWorld(v [3]float64) [3]float64 { return g.Affine.Apply(v) }

// WorldToVoxel maps RAS mm to continuous voxel coordinates.
func (g Grid) WorldToVoxel(p [3]float64) ([3]float64, error) {
	inv, err := g.Affine.Inverse()
	if err != nil {
		return [3]float64{}, err
	}
	return inv.Apply(p), nil
}

// SameGeometry reports whether two grids have the same dims and affines equal
// within tol mm.
func (g Grid) SameGeometry(o Grid, tol float64) bool {
	return g.Dims == o.Dims && g.Affine.AlmostEqual(o.Affine, tol)
}

// Volume is a scalar image: float32 intensities on a grid.
type Volume struct {
	Grid
	Data []float32
}

// New allocates a zero volume on g. It panics only on a grid that fails
// Validate; callers building grids from untrusted input validate first.
func New(g Grid) *Volume {
	if err := g.Validate(); err != nil {
		panic("volume.New: " + err.Error())
	}
	return &Volume{Grid: g, Data: make([]float32, g.Len())}
}

// At returns the voxel at (i, j, k), which must be inside the grid.
func (v *Volume) At(i, j, k int) float32 { return v.Data[v.Index(i, j, k)] }

// Set stores x at (i, j, k).
func (v *Volume) Set(i, j, k int, x float32) { v.Data[v.Index(i, j, k)] = x }

// Clone returns a deep copy.
func (v *Volume) Clone() *Volume {
	return &Volume{Grid: v.Grid, Data: append([]float32(nil), v.Data...)}
}

// Range returns the minimum and maximum finite values (0, 0 when none).
func (v *Volume) Range() (lo, hi float32) {
	first := true
	for _, x := range v.Data {
		if x != x || math.IsInf(float64(x), 0) {
			continue
		}
		if first {
			lo, hi, first = x, x, false
			continue
		}
		if x < lo {
			lo = x
		}
		if x > hi {
			hi = x
		}
	}
	return lo, hi
}

// Label is a label map: uint8 values on a grid (0 is background).
type Label struct {
	Grid
	Data []uint8
}

// NewLabel allocates an empty label map on g (see New for validation).
func NewLabel(g Grid) *Label {
	if err := g.Validate(); err != nil {
		panic("volume.NewLabel: " + err.Error())
	}
	return &Label{Grid: g, Data: make([]uint8, g.Len())}
}

// At returns the label at (i, j, k).
func (l *Label) At(i, j, k int) uint8 { return l.Data[l.Index(i, j, k)] }

// Set stores x at (i, j, k).
func (l *Label) Set(i, j, k int, x uint8) { l.Data[l.Index(i, j, k)] = x }

// Clone returns a deep copy.
func (l *Label) Clone() *Label {
	return &Label{Grid: l.Grid, Data: append([]uint8(nil), l.Data...)}
}

// Count is the number of non-zero voxels.
func (l *Label) Count() int {
	n := 0
	for _, x := range l.Data {
		if x != 0 {
			n++
		}
	}
	return n
}

// VolumeCM3 is the volume of the non-zero voxels in cm3, from the affine.
func (l *Label) VolumeCM3() float64 {
	return float64(l.Count()) * l.VoxelVolumeMM3() / 1000
}

// ToVolume converts a label map to a float image (for resampling or display).
func (l *Label) ToVolume() *Volume {
	v := &Volume{Grid: l.Grid, Data: make([]float32, len(l.Data))}
	for i, x := range l.Data {
		v.Data[i] = float32(x)
	}
	return v
}

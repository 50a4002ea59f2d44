// Package viewer turns volumes and view state into pixels, and provides the
// Fyne widgets that show them.
//
// The core is pure: Render fills an *image.RGBA from a volume, its overlays
// and a View (plane, orientation, cursor, zoom, pan, window/level), and the
// Mapping between screen and voxel coordinates is a plain value. The
// SliceView widget only holds an image, asks for it to be refilled, and
// translates mouse events into calls on a Handler the application provides;
// it never changes a volume or a view itself.
//
// Display orientation follows the anatomical conventions whatever the axis
// codes of the grid: each plane is shown with screen axes mapped to world
// directions through the affine (axial: anterior at the top; coronal and
// sagittal: superior at the top; sagittal: anterior on the left), patient
// left on screen right in the radiological convention. Voxels are stepped
// along the grid axes closest to those directions (as ITK-SNAP does), so no
// slice is ever resampled, and screen pixels are sized from the voxel spacing
// so that anisotropic voxels keep their true aspect ratio.
package viewer

import (
	"fmt"
	"math"

	"metascope/volume"
)

// Plane is one of the three orthogonal slice planes.
type Plane int

const (
	Axial    Plane = iota // perpendicular to inferior-superior
	Coronal               // perpendicular to posterior-anterior
	Sagittal              // perpendicular to left-right
)

// Planes lists the three planes in display order.
var Planes = [3]Plane{Axial, Coronal, Sagittal}

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

// Orientation is the left-right display convention for axial and coronal
// slices.
type Orientation int

const (
	// Radiological shows the patient as if facing them: patient left on
	// screen right. The default in radiology.
	Radiological Orientation = iota
	// Neurological shows patient left on screen left.
	Neurological
)

func (o Orientation) String() string {
	switch o {
	case Radiological:
		return "radiological"
	case Neurological:
		return "neurological"
	}
	return fmt.Sprintf("orientation(%d)", int(o))
}

// Interpolation selects how image intensities are read between voxel
// centres on screen. Label overlays are always shown voxel by voxel.
type Interpolation int

const (
	// Linear interpolates bilinearly within the slice: smooth when zoomed,
	// and kind to thick-slice sequences seen side-on.
	Linear Interpolation = iota
	// Nearest shows each voxel as a block, as when judging voxel edges.
	Nearest
)

func (i Interpolation) String() string {
	switch i {
	case Linear:
		return "linear"
	case Nearest:
		return "nearest"
	}
	return fmt.Sprintf("interpolation(%d)", int(i))
}

// screenAxes gives, for a plane and orientation, the world axis (0 = x/R,
// 1 = y/A, 2 = z/S) and world sign pointing to screen right and screen
// down, and the world axis normal to the plane.
func screenAxes(p Plane, o Orientation) (hWorld, hSign, vWorld, vSign, nWorld int) {
	lr := -1 // radiological: screen right is patient left (-x in RAS)
	if o == Neurological {
		lr = 1
	}
	switch p {
	case Coronal:
		return 0, lr, 2, -1, 1
	case Sagittal:
		// Anterior on the left (as ITK-SNAP and Slicer): screen right is posterior.
		return 1, -1, 2, -1, 0
	default: // Axial: anterior at the top, so screen down is posterior.
		return 0, lr, 1, -1, 2
	}
}

// gridAxes returns, for each world axis, the voxel axis closest to it and
// whether that voxel axis points along (+1) or against (-1) the world axis.
func gridAxes(g volume.Grid) (voxOfWorld [3]int, sign [3]int) {
	codes := g.Affine.AxisCodes()
	for c := 0; c < 3; c++ {
		w, s := 0, 1
		switch codes[c] {
		case 'R':
			w, s = 0, 1
		case 'L':
			w, s = 0, -1
		case 'A':
			w, s = 1, 1
		case 'P':
			w, s = 1, -1
		case 'S':
			w, s = 2, 1
		case 'I':
			w, s = 2, -1
		}
		voxOfWorld[w] = c
		sign[w] = s
	}
	return voxOfWorld, sign
}

// axisLetter is the anatomical letter of a world direction.
func axisLetter(world, sign int) string {
	pos := [3]string{"R", "A", "S"}
	neg := [3]string{"L", "P", "I"}
	if sign > 0 {
		return pos[world]
	}
	return neg[world]
}

// OrientationLabels returns the anatomical letters to show at the left,
// right, top and bottom edges of a view (for example R, L, A, P for an
// axial view in the radiological convention).
func OrientationLabels(p Plane, o Orientation) (left, right, top, bottom string) {
	hw, hs, vw, vs, _ := screenAxes(p, o)
	return axisLetter(hw, -hs), axisLetter(hw, hs), axisLetter(vw, -vs), axisLetter(vw, vs)
}

// NormalAxis is the voxel axis of g perpendicular to the plane p: the
// cursor's index along it selects the slice.
func NormalAxis(g volume.Grid, p Plane) int {
	vox, _ := gridAxes(g)
	_, _, _, _, nw := screenAxes(p, Radiological)
	return vox[nw]
}

// Mapping relates continuous screen coordinates of a view (origin at the
// top-left corner, x right, y down, in any unit: pixels or Fyne units) to
// voxel coordinates of the reference grid. Voxel centres are at integer
// coordinates, so voxel i covers [i-0.5, i+0.5). Build one with NewMapping;
// it is a small value, cheap to rebuild for every event or frame.
type Mapping struct {
	grid         volume.Grid
	h, v, n      int     // voxel axes shown along screen x, screen y, and through the slice
	hFlip, vFlip bool    // the voxel index decreases toward screen right / down
	nh, nv       int     // voxels along h and v
	uh, uv       float64 // screen units per voxel step along h and v
	x0, y0       float64 // screen position of the image's top-left corner
	slice        int     // voxel index along n
}

// NewMapping builds the mapping for view v of grid g shown in a w x h screen
// area. The slice is the cursor's index along the plane normal, clamped to
// the grid. A non-positive, infinite or NaN zoom counts as 1 (the slice fits
// the view).
func NewMapping(g volume.Grid, v View, w, h float64) Mapping {
	vox, sign := gridAxes(g)
	hw, hs, vw, vs, nw := screenAxes(v.Plane, v.Orientation)
	sp := g.Spacing()
	m := Mapping{
		grid:  g,
		h:     vox[hw],
		v:     vox[vw],
		n:     vox[nw],
		hFlip: sign[hw]*hs < 0,
		vFlip: sign[vw]*vs < 0,
	}
	m.nh, m.nv = g.Dims[m.h], g.Dims[m.v]
	sh, sv := sp[m.h], sp[m.v]
	if !(sh > 0) || math.IsInf(sh, 0) {
		sh = 1
	}
	if !(sv > 0) || math.IsInf(sv, 0) {
		sv = 1
	}
	fw, fh := float64(m.nh)*sh, float64(m.nv)*sv // field of view in mm
	scale := 1.0
	if w > 0 && h > 0 {
		scale = math.Min(w/fw, h/fh)
	}
	zoom := v.Zoom
	if !(zoom > 0) || math.IsInf(zoom, 0) {
		zoom = 1
	}
	scale *= zoom
	m.uh, m.uv = sh*scale, sv*scale
	m.x0 = w/2 + (v.Pan[0]-fw/2)*scale
	m.y0 = h/2 + (v.Pan[1]-fh/2)*scale
	m.slice = clamp(v.Cursor[m.n], 0, g.Dims[m.n]-1)
	return m
}

// Axes returns the voxel axes shown horizontally, vertically and through the
// slice.
func (m Mapping) Axes() (h, v, n int) { return m.h, m.v, m.n }

// Slice is the index of the shown slice along the normal axis.
func (m Mapping) Slice() int { return m.slice }

// PixelsPerMM is the screen scale: screen units per millimetre.
func (m Mapping) PixelsPerMM() float64 {
	sp := m.grid.Spacing()
	if sp[m.h] > 0 {
		return m.uh / sp[m.h]
	}
	return m.uh
}

// toScreenOrder converts a continuous voxel coordinate along an axis of n
// voxels into a continuous position in screen order (0 at the image's left
// or top edge, n at the other edge).
func toScreenOrder(c float64, n int, flip bool) float64 {
	if flip {
		return float64(n) - 0.5 - c
	}
	return c + 0.5
}

// ScreenToVoxelF maps a screen point to continuous voxel coordinates on the
// shown slice.
func (m Mapping) ScreenToVoxelF(x, y float64) [3]float64 {
	var p [3]float64
	th := (x - m.x0) / m.uh
	tv := (y - m.y0) / m.uv
	// toScreenOrder is its own inverse up to the half-voxel shift.
	if m.hFlip {
		p[m.h] = float64(m.nh) - 0.5 - th
	} else {
		p[m.h] = th - 0.5
	}
	if m.vFlip {
		p[m.v] = float64(m.nv) - 0.5 - tv
	} else {
		p[m.v] = tv - 0.5
	}
	p[m.n] = float64(m.slice)
	return p
}

// ScreenToVoxel maps a screen point to the voxel under it on the shown slice
// and reports whether that voxel is inside the grid.
func (m Mapping) ScreenToVoxel(x, y float64) ([3]int, bool) {
	th := math.Floor((x - m.x0) / m.uh)
	tv := math.Floor((y - m.y0) / m.uv)
	inside := th >= 0 && tv >= 0 && th < float64(m.nh) && tv < float64(m.nv)
	// Keep far-away points representable without overflow.
	th = math.Max(math.Min(th, 1<<30), -(1 << 30))
	tv = math.Max(math.Min(tv, 1<<30), -(1 << 30))
	var vox [3]int
	ih, iv := int(th), int(tv)
	if m.hFlip {
		ih = m.nh - 1 - ih
	}
	if m.vFlip {
		iv = m.nv - 1 - iv
	}
	vox[m.h], vox[m.v], vox[m.n] = ih, iv, m.slice
	return vox, inside
}

// VoxelToScreen maps continuous voxel coordinates (the component along the
// slice normal is ignored) to the screen point where that position is drawn;
// for an integer voxel this is the centre of its block.
func (m Mapping) VoxelToScreen(p [3]float64) (x, y float64) {
	x = m.x0 + toScreenOrder(p[m.h], m.nh, m.hFlip)*m.uh
	y = m.y0 + toScreenOrder(p[m.v], m.nv, m.vFlip)*m.uv
	return x, y
}

// ScreenToVoxel maps screen point p of a view of size (w, h) to the voxel
// under it (see Mapping.ScreenToVoxel).
func ScreenToVoxel(v View, g volume.Grid, w, h float64, p [2]float64) ([3]int, bool) {
	return NewMapping(g, v, w, h).ScreenToVoxel(p[0], p[1])
}

// VoxelToScreen maps voxel coordinates to the screen point of a view of size
// (w, h) (see Mapping.VoxelToScreen).
func VoxelToScreen(v View, g volume.Grid, w, h float64, p [3]float64) [2]float64 {
	x, y := NewMapping(g, v, w, h).VoxelToScreen(p)
	return [2]float64{x, y}
}

func clamp(x, lo, hi int) int {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

// Obliquity is the largest angle, in degrees, between a voxel axis of g and
// the world axis it is displayed along. Views show the grid's own voxel
// planes (no reslicing), so an oblique acquisition appears tilted by this
// much; an application may say so above some tolerance, as ITK-SNAP does.
func Obliquity(g volume.Grid) float64 {
	d := g.Affine.Direction()
	vox, _ := gridAxes(g)
	worst := 0.0
	for w := 0; w < 3; w++ {
		c := math.Min(1, math.Abs(d[w][vox[w]]))
		worst = math.Max(worst, math.Acos(c)*180/math.Pi)
	}
	return worst
}

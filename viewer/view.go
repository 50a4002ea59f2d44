package viewer

import (
	"image/color"
	"math"

	"metascope/volume"
)

// View is the state of one slice view: which plane, how it is oriented, where
// the linked cursor is, how it is zoomed, panned and windowed. It is a plain
// value owned by the application; the helpers below return changed copies.
type View struct {
	Plane       Plane
	Orientation Orientation
	// Cursor is the linked crosshair position, a voxel of the reference grid.
	// Its index along the plane normal selects the slice.
	Cursor [3]int
	// Zoom is the magnification relative to fitting the slice in the view
	// (1 = fit, 2 = twice as large).
	Zoom float64
	// Pan shifts the image on screen, in millimetres of the slice plane
	// (x to the right, y down), so that it survives a resize of the view.
	Pan    [2]float64
	WL     WindowLevel
	Interp Interpolation
	// Crosshair draws the linked cursor.
	Crosshair Crosshair
	// Brush outlines a paint tool's footprint (SliceView sets it under the
	// pointer while painting).
	Brush BrushPreview
}

// BrushPreview is the outline of a round brush on the slice.
type BrushPreview struct {
	Visible bool
	// Centre in continuous voxel coordinates; the component along the slice
	// normal is ignored.
	Centre   [3]float64
	RadiusMM float64
	Color    color.NRGBA
}

// Crosshair is how the linked cursor is drawn.
type Crosshair struct {
	Visible bool
	Color   color.NRGBA
	// Gap leaves this many screen pixels clear on each side of the cursor so
	// that the voxel under it stays visible.
	Gap int
}

// DefaultCrosshair is a light blue cross with a small gap, visible on any grey
// level and distinct from the usual label colours.
var DefaultCrosshair = Crosshair{Visible: true, Color: color.NRGBA{R: 80, G: 160, B: 255, A: 255}, Gap: 4}

// DefaultView returns a radiological view of plane p at the centre of g,
// fitted to the view, with the given window and the default crosshair.
func DefaultView(p Plane, g volume.Grid, wl WindowLevel) View {
	return View{
		Plane:     p,
		Cursor:    [3]int{g.Dims[0] / 2, g.Dims[1] / 2, g.Dims[2] / 2},
		Zoom:      1,
		WL:        wl,
		Crosshair: DefaultCrosshair,
	}
}

// StepSlice moves the cursor by delta slices along the plane normal, towards
// superior (axial), anterior (coronal) or patient right (sagittal) for a
// positive delta whatever the grid's storage order, stopping at the grid's
// edges.
func StepSlice(v View, g volume.Grid, delta int) View {
	vox, sign := gridAxes(g)
	_, _, _, _, nw := screenAxes(v.Plane, v.Orientation)
	ax := vox[nw]
	v.Cursor[ax] = clamp(v.Cursor[ax]+delta*sign[nw], 0, g.Dims[ax]-1)
	return v
}

// ZoomAt multiplies the zoom by factor while keeping the image point under
// screen position (x, y) of a w x h view fixed, as a mouse-wheel zoom should.
// The zoom is kept within [MinZoom, MaxZoom].
func ZoomAt(v View, g volume.Grid, w, h, x, y, factor float64) View {
	if !(factor > 0) || math.IsInf(factor, 0) {
		return v
	}
	m := NewMapping(g, v, w, h)
	ppm := m.PixelsPerMM()
	zoom := v.Zoom
	if !(zoom > 0) || math.IsInf(zoom, 0) {
		zoom = 1
	}
	nz := math.Max(MinZoom, math.Min(MaxZoom, zoom*factor))
	nppm := ppm * nz / zoom
	// Screen x = w/2 + (u - fw/2 + pan)*ppm for a plane point u; keep x fixed.
	v.Pan[0] = (x-w/2)/nppm - ((x-w/2)/ppm - v.Pan[0])
	v.Pan[1] = (y-h/2)/nppm - ((y-h/2)/ppm - v.Pan[1])
	v.Zoom = nz
	return v
}

// Zoom limits for ZoomAt.
const (
	MinZoom = 0.25
	MaxZoom = 64
)

// PanBy moves the image by (dx, dy) screen units in a w x h view.
func PanBy(v View, g volume.Grid, w, h, dx, dy float64) View {
	ppm := NewMapping(g, v, w, h).PixelsPerMM()
	if ppm > 0 {
		v.Pan[0] += dx / ppm
		v.Pan[1] += dy / ppm
	}
	return v
}

// CentreOn pans the view so that voxel p is at the centre of a w x h view,
// for jumping to a lesion; zoom and cursor are unchanged.
func CentreOn(v View, g volume.Grid, w, h float64, p [3]int) View {
	m := NewMapping(g, v, w, h)
	x, y := m.VoxelToScreen([3]float64{float64(p[0]), float64(p[1]), float64(p[2])})
	return PanBy(v, g, w, h, w/2-x, h/2-y)
}

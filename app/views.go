package app

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"metascope/segedit"
	"metascope/viewer"
	"metascope/volume"
)

// Layout is an arrangement of slice views in the centre of the window.
type Layout int

const (
	// LayoutSequences shows the four sequences side by side in the active
	// plane.
	LayoutSequences Layout = iota
	// LayoutPlanes shows the active sequence in axial, coronal and sagittal.
	LayoutPlanes
	// LayoutAll shows all four sequences in all three planes.
	LayoutAll
	// LayoutSingle shows the active sequence in the active plane, large.
	LayoutSingle
)

// Layouts lists the layouts in the order the layout key cycles them.
var Layouts = []Layout{LayoutSequences, LayoutPlanes, LayoutAll, LayoutSingle}

func (l Layout) String() string {
	switch l {
	case LayoutSequences:
		return "4 seq × 1 plane"
	case LayoutPlanes:
		return "1 seq × 3 planes"
	case LayoutAll:
		return "4 seq × 3 planes"
	case LayoutSingle:
		return "1 view"
	}
	return "layout?"
}

// Short is the layout's toolbar label, with its key.
func (l Layout) Short() string {
	switch l {
	case LayoutSequences:
		return "4×1 (5)"
	case LayoutPlanes:
		return "1×3 (6)"
	case LayoutAll:
		return "4×3 (7)"
	case LayoutSingle:
		return "1×1 (8)"
	}
	return "?"
}

// slot is one of the twelve slice views (a sequence in a plane). Views
// exist for the life of the window; a layout chooses which are shown.
type slot struct {
	seq   volume.Sequence
	plane viewer.Plane
	sv    *viewer.SliceView
	shown bool
}

func (w *Workstation) buildSlots() {
	for _, s := range volume.Sequences {
		for _, p := range viewer.Planes {
			sl := &slot{seq: s, plane: p}
			sl.sv = viewer.NewSliceView(viewHandler{w})
			w.slots[s][p] = sl
			w.bySV[sl.sv] = sl
		}
	}
}

// visibleSlots lists the views the layout shows, in grid order.
func (w *Workstation) visibleSlots() []*slot {
	var out []*slot
	switch w.layout {
	case LayoutSequences:
		for _, s := range volume.Sequences {
			out = append(out, w.slots[s][w.activePlane])
		}
	case LayoutPlanes:
		for _, p := range viewer.Planes {
			out = append(out, w.slots[w.activeSeq][p])
		}
	case LayoutAll:
		// Rows are planes, columns sequences: a row compares the four
		// sequences at the same place.
		for _, p := range viewer.Planes {
			for _, s := range volume.Sequences {
				out = append(out, w.slots[s][p])
			}
		}
	case LayoutSingle:
		out = append(out, w.slots[w.activeSeq][w.activePlane])
	}
	return out
}

// SetLayout switches the arrangement of views.
func (w *Workstation) SetLayout(l Layout) {
	w.layout = l
	w.arrange()
	for k, b := range w.ui.layoutButtons {
		if k == l {
			b.Importance = widget.HighImportance
		} else {
			b.Importance = widget.MediumImportance
		}
		b.Refresh()
	}
}

// arrange rebuilds the centre grid for the layout and active sequence or
// plane, and redraws the views it shows.
func (w *Workstation) arrange() {
	vis := w.visibleSlots()
	for _, s := range volume.Sequences {
		for _, p := range viewer.Planes {
			w.slots[s][p].shown = false
		}
	}
	objs := make([]fyne.CanvasObject, 0, len(vis)+1)
	for _, sl := range vis {
		sl.shown = true
		objs = append(objs, sl.sv)
	}
	cols := 2
	switch w.layout {
	case LayoutAll:
		cols = 4
	case LayoutSingle:
		cols = 1
	case LayoutPlanes:
		// The fourth cell of the 2 x 2 grid says what is shown, as
		// ITK-SNAP's fourth pane does.
		objs = append(objs, container.NewStack(canvas.NewRectangle(color.Black), container.NewPadded(w.ui.infoText)))
	}
	grid := container.NewGridWithColumns(cols, objs...)
	w.ui.centre.Objects = []fyne.CanvasObject{grid}
	w.ui.centre.Refresh()
	w.updateInfo()
	w.redraw()
}

// SetActiveSequence chooses the sequence of the single-sequence layouts.
func (w *Workstation) SetActiveSequence(s volume.Sequence) {
	w.activeSeq = s
	w.arrange()
}

// SetActivePlane chooses the plane of the one-plane layouts.
func (w *Workstation) SetActivePlane(p viewer.Plane) {
	w.activePlane = p
	w.arrange()
}

// overlays lists the open case's layers for rendering.
func (w *Workstation) overlays() []viewer.Overlay {
	if w.cd == nil {
		return nil
	}
	out := make([]viewer.Overlay, 0, len(w.cd.layers)+1)
	for _, l := range w.cd.layers {
		out = append(out, l.overlay())
	}
	if m := w.rangePreview(); m != nil {
		// What the threshold brush may paint, outlined as in ITK-SNAP's
		// threshold preview.
		out = append(out, viewer.Overlay{Name: "in range", Label: m, Color: viewer.LayerColors[5],
			Opacity: 0.8, Visible: true, Outline: true})
	}
	return out
}

// rangePreview is the mask of voxels inside the threshold range while a
// range-limited tool is in use (nil otherwise). It is recomputed only when
// the range, its sequence or the case changes.
func (w *Workstation) rangePreview() *volume.Label {
	e := w.editor
	if w.cd == nil || !e.ThresholdOn || (e.Tool != segedit.ToolBrush && e.Tool != segedit.ToolFill) {
		return nil
	}
	key := rangeKey{cd: w.cd, seq: e.ThresholdSeq, lo: e.ThresholdLo, hi: e.ThresholdHi}
	if w.preview.mask != nil && w.preview.key == key {
		return w.preview.mask
	}
	img := w.cd.images[e.ThresholdSeq]
	m := volume.NewLabel(w.cd.grid)
	for i, x := range img.Data {
		if x >= e.ThresholdLo && x <= e.ThresholdHi {
			m.Data[i] = 1
		}
	}
	w.preview.key, w.preview.mask = key, m
	return m
}

// rangeKey identifies a computed threshold preview.
type rangeKey struct {
	cd     *caseData
	seq    volume.Sequence
	lo, hi float32
}

// viewOf is the view state of a slot: the shared cursor and orientation,
// the plane's zoom and pan, the sequence's window.
func (w *Workstation) viewOf(sl *slot) viewer.View {
	return viewer.View{
		Plane: sl.plane, Orientation: w.orient, Cursor: w.cursor,
		Zoom: w.zoom[sl.plane], Pan: w.pan[sl.plane], WL: w.wl[sl.seq],
		Interp: viewer.Linear, Crosshair: viewer.DefaultCrosshair,
	}
}

// redraw gives every shown view its current scene (and so redraws it).
// Edits change the label in place, so this is also how an edit appears at
// once in every view.
func (w *Workstation) redraw() {
	if w.cd == nil {
		return
	}
	ovs := w.overlays()
	for _, s := range volume.Sequences {
		for _, p := range viewer.Planes {
			sl := w.slots[s][p]
			if !sl.shown {
				continue
			}
			sl.sv.SetScene(viewer.Scene{
				Volume: w.cd.images[s], Overlays: ovs, View: w.viewOf(sl),
				Title: s.Title() + " " + p.String(),
			})
		}
	}
}

// redrawWhere refreshes only the shown views for which keep is true.
func (w *Workstation) redrawWhere(keep func(*slot) bool) {
	if w.cd == nil {
		return
	}
	for _, s := range volume.Sequences {
		for _, p := range viewer.Planes {
			if sl := w.slots[s][p]; sl.shown && keep(sl) {
				sl.sv.SetView(w.viewOf(sl))
			}
		}
	}
}

// clearViews empties every view while a case loads.
func (w *Workstation) clearViews() {
	for _, s := range volume.Sequences {
		for _, p := range viewer.Planes {
			w.slots[s][p].sv.SetScene(viewer.Scene{Title: s.Title() + " " + p.String(), View: viewer.View{Plane: p, Orientation: w.orient}})
		}
	}
	w.lesions = nil
	if w.ui.lesionList != nil {
		w.ui.lesionList.Refresh()
	}
	w.refreshUndo()
}

// SetCursor moves the linked crosshair of every view.
func (w *Workstation) SetCursor(v [3]int) {
	if w.cd == nil {
		return
	}
	g := w.cd.grid
	for a := 0; a < 3; a++ {
		v[a] = min(max(v[a], 0), g.Dims[a]-1)
	}
	w.cursor = v
	w.redrawWhere(func(*slot) bool { return true })
	w.updateStatus(v)
}

// Cursor is the linked crosshair position.
func (w *Workstation) Cursor() [3]int { return w.cursor }

// StepSlice moves the cursor delta slices along the normal of plane p.
func (w *Workstation) StepSlice(p viewer.Plane, delta int) {
	if w.cd == nil {
		return
	}
	v := w.viewOf(w.slots[w.activeSeq][p])
	v = viewer.StepSlice(v, w.cd.grid, delta)
	w.SetCursor(v.Cursor)
}

// ToggleOrientation switches between radiological and neurological display.
func (w *Workstation) ToggleOrientation() {
	if w.orient == viewer.Radiological {
		w.orient = viewer.Neurological
	} else {
		w.orient = viewer.Radiological
	}
	w.redraw()
	w.updateInfo()
}

// ResetZoom fits every view again.
func (w *Workstation) ResetZoom() {
	w.zoom = [3]float64{1, 1, 1}
	w.pan = [3][2]float64{}
	w.redraw()
}

// CyclePreset applies the next automatic window preset to the active
// sequence (auto, full, contrast, enhancing).
func (w *Workstation) CyclePreset() {
	if w.cd == nil {
		return
	}
	s := w.activeSeq
	w.preset[s] = (w.preset[s] + 1) % len(viewer.Presets)
	w.SetPreset(s, viewer.Presets[w.preset[s]])
}

// SetPreset applies a window preset to one sequence.
func (w *Workstation) SetPreset(s volume.Sequence, p viewer.Preset) {
	if w.cd == nil {
		return
	}
	for i, q := range viewer.Presets {
		if q == p {
			w.preset[s] = i
		}
	}
	w.wl[s] = w.cd.hist[s].Window(p)
	w.redrawWhere(func(sl *slot) bool { return sl.seq == s })
	w.updateInfo()
}

// viewHandler receives the slice views' events.
type viewHandler struct{ w *Workstation }

func (h viewHandler) OnCursor(src *viewer.SliceView, voxel [3]int) {
	h.w.SetCursor(voxel)
}

func (h viewHandler) OnStroke(src *viewer.SliceView, e viewer.StrokeEvent) {
	h.w.stroke(e)
}

func (h viewHandler) OnHover(src *viewer.SliceView, voxel [3]int, inside bool) {
	w := h.w
	if sl, ok := w.bySV[src]; ok && inside {
		w.hovered = sl
	}
	if inside {
		w.updateStatus(voxel)
	} else {
		w.updateStatus(w.cursor)
	}
}

func (h viewHandler) OnSlice(src *viewer.SliceView, delta int) {
	w := h.w
	if sl, ok := w.bySV[src]; ok {
		w.StepSlice(sl.plane, delta)
	}
}

func (h viewHandler) OnWindowLevel(src *viewer.SliceView, wl viewer.WindowLevel) {
	w := h.w
	if sl, ok := w.bySV[src]; ok {
		w.wl[sl.seq] = wl
		w.redrawWhere(func(o *slot) bool { return o.seq == sl.seq })
		w.updateInfo()
	}
}

func (h viewHandler) OnZoomPan(src *viewer.SliceView, zoom float64, pan [2]float64) {
	w := h.w
	if sl, ok := w.bySV[src]; ok {
		// Zoom and pan are shared by the views of one plane, so that the
		// four sequences stay comparable side by side.
		w.zoom[sl.plane], w.pan[sl.plane] = zoom, pan
		w.redrawWhere(func(o *slot) bool { return o.plane == sl.plane })
	}
}

// updateStatus shows what is under voxel v in the status bar.
func (w *Workstation) updateStatus(v [3]int) {
	if w.cd == nil {
		return
	}
	imgs := make([]viewer.NamedVolume, 0, 4)
	for _, s := range volume.Sequences {
		imgs = append(imgs, viewer.NamedVolume{Name: s.Title(), Vol: w.cd.images[s]})
	}
	var ovs []viewer.Overlay
	for _, l := range w.cd.layers {
		if l.visible {
			ovs = append(ovs, l.overlay())
		}
	}
	w.ui.status.SetText(viewer.StatusText(w.cd.grid, v, imgs, ovs))
}

// AutoWindowAll gives every sequence its automatic window again.
func (w *Workstation) AutoWindowAll() {
	for _, s := range volume.Sequences {
		w.SetPreset(s, viewer.PresetAuto)
	}
}

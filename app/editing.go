package app

import (
	"fmt"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"metascope/lesion"
	"metascope/segedit"
	"metascope/viewer"
)

// segToolKey is a toolbar tool: segedit's tools plus the threshold brush,
// which is the brush with the intensity range switched on.
type segToolKey int

const (
	keyNavigate segToolKey = iota
	keyBrush
	keyEraser
	keyThreshold
	keyFill
	keyDelete
)

var toolKeys = []segToolKey{keyNavigate, keyBrush, keyEraser, keyThreshold, keyFill, keyDelete}

// Long is the tool's name in menus and the shortcut help.
func (k segToolKey) Long() string {
	return [...]string{"Navigate (move the crosshair)", "Brush", "Eraser", "Threshold brush (intensity range)",
		"Flood fill", "Delete lesion (click it)"}[k]
}

func (k segToolKey) String() string {
	return [...]string{"Navigate", "Brush", "Eraser", "Threshold", "Fill", "Delete"}[k]
}

// currentTool is the toolbar tool that the editor state amounts to.
func (w *Workstation) currentTool() segToolKey {
	switch w.editor.Tool {
	case segedit.ToolBrush:
		if w.editor.ThresholdOn {
			return keyThreshold
		}
		return keyBrush
	case segedit.ToolEraser:
		return keyEraser
	case segedit.ToolFill:
		return keyFill
	case segedit.ToolDeleteComponent:
		return keyDelete
	}
	return keyNavigate
}

// SetTool chooses what the left button does.
func (w *Workstation) SetTool(k segToolKey) {
	switch k {
	case keyNavigate:
		w.editor.Tool = segedit.ToolNavigate
	case keyBrush:
		w.editor.Tool, w.editor.ThresholdOn = segedit.ToolBrush, false
	case keyThreshold:
		w.editor.Tool, w.editor.ThresholdOn = segedit.ToolBrush, true
	case keyEraser:
		w.editor.Tool = segedit.ToolEraser
	case keyFill:
		w.editor.Tool = segedit.ToolFill
	case keyDelete:
		w.editor.Tool = segedit.ToolDeleteComponent
	}
	w.applyTool()
	w.refreshTools()
	w.redraw() // the threshold preview comes and goes with the tool
}

// applyTool tells every view what the left button does and how large the
// brush outline is.
func (w *Workstation) applyTool() {
	if w.editor.Tool != segedit.ToolNavigate && w.editLocked() {
		// Submitted labels are read-only: only the crosshair moves.
		w.editor.Tool = segedit.ToolNavigate
	}
	t := viewer.ToolPaint
	if w.editor.Tool == segedit.ToolNavigate {
		t = viewer.ToolNavigate
	}
	radius := 0.0
	col := viewer.LayerColors[0]
	switch w.editor.Tool {
	case segedit.ToolBrush:
		radius = math.Max(w.editor.BrushRadiusMM, 0.5)
	case segedit.ToolEraser:
		radius = math.Max(w.editor.BrushRadiusMM, 0.5)
		col = viewer.LayerColors[5]
	}
	for _, row := range w.slots {
		for _, sl := range row {
			sl.sv.SetTool(t)
			sl.sv.SetBrush(radius, col)
		}
	}
	locked := w.editBlocked() != nil
	for k, b := range w.ui.toolButtons {
		if k == w.currentTool() {
			b.Importance = widget.HighImportance
		} else {
			b.Importance = widget.MediumImportance
		}
		if locked && k != keyNavigate {
			b.Disable()
		} else {
			b.Enable()
		}
		b.Refresh()
	}
}

// segPlane is segedit's name for a viewer plane (both number them axial,
// coronal, sagittal and find the normal axis from the axis codes).
func (w *Workstation) segPlane(p viewer.Plane) segedit.Plane { return segedit.Plane(p) }

// stroke turns a view's stroke event into an edit with the current tool.
func (w *Workstation) stroke(e viewer.StrokeEvent) {
	if w.cd == nil || w.cd.session == nil {
		return
	}
	if e.Phase == viewer.StrokeBegin && w.editLocked() {
		return // editLocked said why in the status bar
	}
	sess := w.cd.session
	plane := w.segPlane(e.Plane)
	switch w.editor.Tool {
	case segedit.ToolBrush, segedit.ToolEraser:
		switch e.Phase {
		case viewer.StrokeBegin:
			if !e.Inside {
				return // a press beside the image paints nothing
			}
			o, err := w.editor.BrushOptions(plane, w.cd.images)
			if err != nil {
				w.showError(err)
				return
			}
			if err := sess.BeginStroke(e.Voxel, o); err != nil {
				w.showError(err)
				return
			}
		case viewer.StrokeMove:
			if !sess.StrokeActive() {
				return
			}
			if err := sess.StrokeTo(e.Voxel); err != nil {
				// Not a dialog per mouse move: the stroke goes on.
				fyne.LogError("stroke", err)
			}
		case viewer.StrokeEnd:
			if !sess.StrokeActive() {
				return
			}
			if e.Voxel != [3]int{} || e.Inside {
				_ = sess.StrokeTo(e.Voxel)
			}
			if err := sess.EndStroke(); err != nil {
				w.showError(err)
			}
			w.edited()
			return
		}
		w.redraw()
	case segedit.ToolFill, segedit.ToolDeleteComponent:
		if e.Phase != viewer.StrokeBegin || !e.Inside {
			return
		}
		var m segedit.Modifier
		var err error
		if w.editor.Tool == segedit.ToolFill {
			var o segedit.FloodOptions
			if o, err = w.editor.FloodOptions(plane, w.cd.images); err == nil {
				m, err = segedit.FloodFill(sess.Label(), e.Voxel, o)
			}
		} else {
			m, err = segedit.DeleteComponent(sess.Label(), e.Voxel)
		}
		w.applyModifier(m, err)
	}
}

// applyModifier runs a one-shot edit through the session.
func (w *Workstation) applyModifier(m segedit.Modifier, err error) {
	if err != nil {
		w.showError(err)
		return
	}
	if w.editLocked() {
		return
	}
	if _, err := w.cd.session.Apply(m); err != nil {
		w.showError(err)
	}
	w.edited()
}

// edited runs after every committed edit: status, lesion table, views,
// and the resume file.
func (w *Workstation) edited() {
	w.markInProgress()
	w.recordResume()
	w.refreshLesions()
	w.redraw()
	w.updateStatus(w.cursor)
	w.refreshUndo()
	w.refreshReviewRows()
}

// Undo reverses the reader's latest edit.
func (w *Workstation) Undo() {
	if w.cd == nil || w.editLocked() {
		return
	}
	if _, err := w.cd.session.Undo(); err != nil {
		w.showError(err)
	}
	w.edited()
}

// Redo reapplies the latest undone edit.
func (w *Workstation) Redo() {
	if w.cd == nil || w.editLocked() {
		return
	}
	if _, err := w.cd.session.Redo(); err != nil {
		w.showError(err)
	}
	w.edited()
}

// FillHoles fills the holes of the painted label on every slice of the
// active plane (or in 3D with the 3D fill option).
func (w *Workstation) FillHoles() {
	if w.cd == nil {
		return
	}
	m, err := segedit.FillHoles(w.cd.session.Label(), segedit.FillHolesOptions{
		Value: w.editor.LabelValue, ThreeD: w.editor.Fill3D, Plane: w.segPlane(w.activePlane),
	})
	w.applyModifier(m, err)
}

// Interpolate fills the slices between outlined slices of the active plane
// by shape-based interpolation. With the cursor on a lesion, only that
// lesion's neighbourhood is interpolated.
func (w *Workstation) Interpolate() {
	if w.cd == nil {
		return
	}
	o := segedit.InterpolateOptions{Value: w.editor.LabelValue, Plane: w.segPlane(w.activePlane)}
	if box, ok := w.lesionBoxAtCursor(); ok {
		o.Region = &box
	}
	m, err := segedit.InterpolateSlices(w.cd.session.Label(), o)
	w.applyModifier(m, err)
}

// lesionBoxAtCursor is a box around the reader's lesion under the cursor,
// stretched through the whole grid along the active plane's normal (so that
// the gaps between its key slices are inside) and padded in plane.
func (w *Workstation) lesionBoxAtCursor() (segedit.Box, bool) {
	l := w.cd.session.Label()
	c := w.cursor
	if l.At(c[0], c[1], c[2]) == 0 {
		return segedit.Box{}, false
	}
	labels, comps := lesion.Components(l, lesion.Conn26)
	id := labels[l.Index(c[0], c[1], c[2])]
	if id <= 0 || int(id) > len(comps) {
		return segedit.Box{}, false
	}
	comp := comps[id-1]
	n := viewer.NormalAxis(w.cd.grid, w.activePlane)
	var b segedit.Box
	for a := 0; a < 3; a++ {
		b.Min[a] = max(comp.BBoxMin[a]-3, 0)
		b.Max[a] = min(comp.BBoxMax[a]+4, w.cd.grid.Dims[a])
	}
	b.Min[n], b.Max[n] = 0, w.cd.grid.Dims[n]
	return b, true
}

// AcceptCandidate copies the AI candidate lesion under the cursor (or, with
// all, every candidate) into the reader's labels, keeping what the reader
// drew.
func (w *Workstation) AcceptCandidate(all bool) {
	if w.cd == nil {
		return
	}
	for _, l := range w.cd.layers {
		if l.kind != layerAILabel || !l.visible {
			continue
		}
		var m segedit.Modifier
		var err error
		if all {
			m, err = segedit.AcceptCandidate(w.cd.grid, l.label, segedit.ModeAdd, w.editor.LabelValue)
		} else {
			m, err = segedit.AcceptCandidateAt(w.cd.grid, l.label, w.cursor, segedit.ModeAdd, w.editor.LabelValue)
		}
		if err == nil && m.Count() == 0 {
			continue
		}
		w.applyModifier(m, err)
		return
	}
	w.showError(fmt.Errorf("no visible AI candidate %s", map[bool]string{true: "in this case", false: "under the cursor"}[all]))
}

// SetBrushRadius sets the brush radius in mm.
func (w *Workstation) SetBrushRadius(mm float64) {
	mm = math.Min(math.Max(mm, 0), 25)
	w.editor.BrushRadiusMM = math.Round(mm*2) / 2
	w.applyTool()
	w.refreshTools()
}

// GrowBrush changes the brush radius by a step that suits its size.
func (w *Workstation) GrowBrush(dir int) {
	step := 0.5
	if w.editor.BrushRadiusMM >= 5 {
		step = 1
	}
	w.SetBrushRadius(w.editor.BrushRadiusMM + float64(dir)*step)
}

// ToggleBrush3D switches between a 2D disc and a 3D sphere.
func (w *Workstation) ToggleBrush3D() {
	w.editor.Brush3D = !w.editor.Brush3D
	w.refreshTools()
}

// defaultRangeLow is the percentile of the threshold sequence's histogram
// where a new threshold range starts (it runs to the maximum): on a T1c,
// the brightest 5 % holds enhancing rims and vessels, not white matter noise.
const defaultRangeLow = 0.95

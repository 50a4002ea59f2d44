package viewer

import (
	"image"
	"image/color"
	"math"
	"runtime"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"metascope/volume"
)

// Tool is what a left-button press does in a slice view.
type Tool int

const (
	// ToolNavigate moves the linked cursor to the voxel clicked (and follows
	// a drag).
	ToolNavigate Tool = iota
	// ToolPaint turns a press, drag and release into a stroke for the
	// application's current editing tool (brush, eraser, fill...).
	ToolPaint
)

// StrokePhase is the stage of a painting stroke.
type StrokePhase int

const (
	StrokeBegin StrokePhase = iota
	StrokeMove
	StrokeEnd
)

func (p StrokePhase) String() string {
	switch p {
	case StrokeBegin:
		return "begin"
	case StrokeMove:
		return "move"
	case StrokeEnd:
		return "end"
	}
	return "phase?"
}

// StrokeEvent is one step of a painting stroke, in reference-grid voxels on
// the view's slice. One stroke is Begin, any number of Moves (one per voxel
// the pointer enters) and End; an editor paints the segment From -> Point of
// each event so that fast drags leave no gaps, and commits one undo step at
// End.
type StrokeEvent struct {
	Phase StrokePhase
	// Voxel is the voxel under the pointer; Inside reports whether it is in
	// the grid (a stroke may leave the image and come back).
	Voxel  [3]int
	Inside bool
	// Point is the pointer position in continuous voxel coordinates (voxel
	// centres at integers); From is the previous event's Point (equal to
	// Point at Begin).
	Point, From [3]float64
	Plane       Plane
	// Axis is the voxel axis normal to the slice and Slice the slice index
	// along it: a 2D brush paints only voxels with that index.
	Axis, Slice int
	Modifier    fyne.KeyModifier
}

// Handler receives what the user does in a slice view. The view never
// changes its own scene: the application decides (for example moving the
// cursor of every linked view) and calls SetScene. src is the view the event
// came from.
type Handler interface {
	// OnCursor: a left click or drag with ToolNavigate on voxel.
	OnCursor(src *SliceView, voxel [3]int)
	// OnStroke: a left press, drag and release with ToolPaint.
	OnStroke(src *SliceView, e StrokeEvent)
	// OnHover: the pointer is over voxel (inside false: outside the image,
	// or it left the view), for the status bar.
	OnHover(src *SliceView, voxel [3]int, inside bool)
	// OnSlice: the wheel (or a key) asks to move delta slices; see StepSlice.
	OnSlice(src *SliceView, delta int)
	// OnWindowLevel: a right-button drag proposes a new window/level.
	OnWindowLevel(src *SliceView, wl WindowLevel)
	// OnZoomPan: ctrl+wheel zoom or middle-button pan proposes new values.
	OnZoomPan(src *SliceView, zoom float64, pan [2]float64)
}

// HandlerFuncs is a Handler built from optional functions; nil ones ignore
// their event.
type HandlerFuncs struct {
	Cursor      func(src *SliceView, voxel [3]int)
	Stroke      func(src *SliceView, e StrokeEvent)
	Hover       func(src *SliceView, voxel [3]int, inside bool)
	Slice       func(src *SliceView, delta int)
	WindowLevel func(src *SliceView, wl WindowLevel)
	ZoomPan     func(src *SliceView, zoom float64, pan [2]float64)
}

func (h HandlerFuncs) OnCursor(s *SliceView, v [3]int) {
	if h.Cursor != nil {
		h.Cursor(s, v)
	}
}

func (h HandlerFuncs) OnStroke(s *SliceView, e StrokeEvent) {
	if h.Stroke != nil {
		h.Stroke(s, e)
	}
}

func (h HandlerFuncs) OnHover(s *SliceView, v [3]int, in bool) {
	if h.Hover != nil {
		h.Hover(s, v, in)
	}
}

func (h HandlerFuncs) OnSlice(s *SliceView, d int) {
	if h.Slice != nil {
		h.Slice(s, d)
	}
}

func (h HandlerFuncs) OnWindowLevel(s *SliceView, wl WindowLevel) {
	if h.WindowLevel != nil {
		h.WindowLevel(s, wl)
	}
}

func (h HandlerFuncs) OnZoomPan(s *SliceView, z float64, p [2]float64) {
	if h.ZoomPan != nil {
		h.ZoomPan(s, z, p)
	}
}

// Scene is everything a slice view shows.
type Scene struct {
	Volume   *volume.Volume
	Overlays []Overlay
	View     View
	// Title is drawn in the top-left corner (for example "T1c axial").
	Title string
}

// zoomPerNotch is the ctrl+wheel zoom factor per wheel notch.
const zoomPerNotch = 1.2

// wheelNotch is the scroll delta of one mouse-wheel notch in Fyne's desktop
// driver: 10 units on macOS and 25 elsewhere (its scrollSpeed). Trackpads
// send fractions of a notch, which the view adds up.
func wheelNotch() float32 {
	if runtime.GOOS == "darwin" {
		return 10
	}
	return 25
}

// SliceView is a Fyne widget showing one slice view: the rendered image with
// the crosshair and overlays, orientation letters at its edges and a title.
// Mouse gestures, as in ITK-SNAP and Slicer: the wheel steps slices,
// ctrl+wheel zooms about the pointer, right-drag sets window/level,
// middle-drag pans, and the left button acts with the current Tool.
//
// Its methods must be called on the Fyne UI goroutine (fyne.Do from jobs).
type SliceView struct {
	widget.BaseWidget

	// Modifiers reports the keyboard modifiers held now (for ctrl+wheel,
	// since scroll events carry none). Nil asks the desktop driver.
	Modifiers func() fyne.KeyModifier

	handler  Handler
	tool     Tool
	scene    Scene
	renderer Renderer
	img      *image.RGBA
	raster   *canvas.Raster
	title    *canvas.Text
	letters  [4]*canvas.Text // left, right, top, bottom
	// shadows are black copies of the texts one pixel down and right, so
	// that the labels stay legible over bright images.
	shadows [5]*canvas.Text

	// Brush outline under the pointer while painting.
	brushRadius float64
	brushColor  color.NRGBA
	hovering    bool
	hoverPoint  [3]float64

	// Gesture in progress.
	gesture   gesture
	button    desktop.MouseButton
	modifier  fyne.KeyModifier
	startPos  fyne.Position
	dragSum   fyne.Delta // Dragged deltas since the press
	pos       fyne.Position
	startView View
	lastVoxel [3]int
	lastPoint [3]float64
	scrollAcc float32
}

type gesture int

const (
	gestureNone gesture = iota
	gestureNavigate
	gestureStroke
	gestureWindowLevel
	gesturePan
)

// NewSliceView returns an empty view that reports to h (nil: events are
// ignored).
func NewSliceView(h Handler) *SliceView {
	if h == nil {
		h = HandlerFuncs{}
	}
	s := &SliceView{handler: h}
	s.raster = canvas.NewRaster(s.generate)
	// One screen pixel per rendered pixel: the renderer already interpolates,
	// and smooth rescaling on the CPU would cost a third of the frame rate.
	s.raster.ScaleMode = canvas.ImageScalePixels
	textColor := color.NRGBA{R: 230, G: 230, B: 140, A: 255}
	s.title = canvas.NewText("", textColor)
	s.title.TextStyle = fyne.TextStyle{Bold: true}
	for i := range s.letters {
		s.letters[i] = canvas.NewText("", textColor)
		s.letters[i].TextStyle = fyne.TextStyle{Bold: true}
	}
	for i := range s.shadows {
		s.shadows[i] = canvas.NewText("", color.NRGBA{A: 255})
		s.shadows[i].TextStyle = fyne.TextStyle{Bold: true}
	}
	s.ExtendBaseWidget(s)
	s.updateTexts()
	return s
}

// SetScene replaces what the view shows and schedules a redraw.
func (s *SliceView) SetScene(sc Scene) {
	s.scene = sc
	s.updateTexts()
	s.raster.Refresh()
}

// SetView changes only the view state (cursor, zoom, window...) and
// schedules a redraw.
func (s *SliceView) SetView(v View) {
	s.scene.View = v
	s.updateTexts()
	s.raster.Refresh()
}

// Scene returns what the view shows.
func (s *SliceView) Scene() Scene { return s.scene }

// SetTool sets what the left button does; a gesture in progress finishes
// first.
func (s *SliceView) SetTool(t Tool) {
	s.finish()
	was := s.showsBrush()
	s.tool = t
	if was != s.showsBrush() {
		s.raster.Refresh()
	}
}

// Tool is the current left-button tool.
func (s *SliceView) Tool() Tool { return s.tool }

// SetBrush shows a circle of radius mm in colour c under the pointer while
// the tool is ToolPaint, so that the reader sees what a stroke will cover;
// a radius of 0 shows none.
func (s *SliceView) SetBrush(radiusMM float64, c color.NRGBA) {
	s.brushRadius, s.brushColor = radiusMM, c
	if s.tool == ToolPaint && s.hovering {
		s.raster.Refresh()
	}
}

// showsBrush reports whether the brush outline is drawn.
func (s *SliceView) showsBrush() bool {
	return s.tool == ToolPaint && s.brushRadius > 0 && s.hovering
}

// pointerAt records the pointer for the brush outline and redraws when the
// outline moves.
func (s *SliceView) pointerAt(pt [3]float64, hovering bool) {
	was := s.showsBrush()
	s.hovering, s.hoverPoint = hovering, pt
	if was || s.showsBrush() {
		s.raster.Refresh()
	}
}

// Image is the last rendered frame (nil before the first), for screenshots
// and tests. The view overwrites it on its next redraw.
func (s *SliceView) Image() *image.RGBA { return s.img }

// Mapping is the screen-voxel mapping of the view at its current size, in
// Fyne units; ok is false while there is no volume.
func (s *SliceView) Mapping() (m Mapping, ok bool) {
	if s.scene.Volume == nil {
		return Mapping{}, false
	}
	sz := s.Size()
	return NewMapping(s.scene.Volume.Grid, s.scene.View, float64(sz.Width), float64(sz.Height)), true
}

func (s *SliceView) updateTexts() {
	v := s.scene.View
	l, r, t, b := OrientationLabels(v.Plane, v.Orientation)
	for i, txt := range [4]string{l, r, t, b} {
		if s.letters[i].Text != txt {
			s.letters[i].Text = txt
			s.letters[i].Refresh()
		}
	}
	if s.title.Text != s.scene.Title {
		s.title.Text = s.scene.Title
		s.title.Refresh()
	}
	for i, txt := range s.texts() {
		if s.shadows[i].Text != txt.Text {
			s.shadows[i].Text = txt.Text
			s.shadows[i].Refresh()
		}
	}
}

// texts are the title and the four letters, in the order of shadows.
func (s *SliceView) texts() [5]*canvas.Text {
	return [5]*canvas.Text{s.title, s.letters[0], s.letters[1], s.letters[2], s.letters[3]}
}

// generate is the raster's callback: it refills the view's one image at the
// raster's pixel size (reallocating only when that size changes).
func (s *SliceView) generate(w, h int) image.Image {
	if w < 1 || h < 1 {
		w, h = 1, 1
	}
	if s.img == nil || s.img.Rect.Dx() != w || s.img.Rect.Dy() != h {
		s.img = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	v := s.scene.View
	if s.showsBrush() {
		v.Brush = BrushPreview{Visible: true, Centre: s.hoverPoint, RadiusMM: s.brushRadius, Color: s.brushColor}
	}
	s.renderer.Render(s.img, s.scene.Volume, s.scene.Overlays, v)
	return s.img
}

// CreateRenderer implements fyne.Widget.
func (s *SliceView) CreateRenderer() fyne.WidgetRenderer {
	return &sliceViewRenderer{s: s}
}

// Cursor implements desktop.Cursorable: a crosshair pointer over the image.
func (s *SliceView) Cursor() desktop.Cursor { return desktop.CrosshairCursor }

func (s *SliceView) voxelAt(p fyne.Position) (vox [3]int, pt [3]float64, inside bool, ok bool) {
	m, ok := s.Mapping()
	if !ok {
		return vox, pt, false, false
	}
	vox, inside = m.ScreenToVoxel(float64(p.X), float64(p.Y))
	pt = m.ScreenToVoxelF(float64(p.X), float64(p.Y))
	return vox, pt, inside, true
}

// MouseDown implements desktop.Mouseable: it starts a gesture.
func (s *SliceView) MouseDown(ev *desktop.MouseEvent) {
	if s.gesture != gestureNone {
		s.finish()
	}
	if s.scene.Volume == nil {
		return
	}
	s.begin(ev.Button, ev.Modifier, ev.Position)
}

func (s *SliceView) begin(b desktop.MouseButton, mod fyne.KeyModifier, p fyne.Position) {
	s.button, s.modifier = b, mod
	s.startPos, s.pos = p, p
	s.dragSum = fyne.Delta{}
	s.startView = s.scene.View
	switch b {
	case desktop.MouseButtonPrimary:
		if s.tool == ToolPaint {
			s.gesture = gestureStroke
			vox, pt, inside, _ := s.voxelAt(p)
			s.lastVoxel, s.lastPoint = vox, pt
			s.handler.OnStroke(s, s.strokeEvent(StrokeBegin, vox, pt, pt, inside))
		} else {
			s.gesture = gestureNavigate
			s.lastVoxel = s.scene.View.Cursor
			if vox, _, inside, _ := s.voxelAt(p); inside {
				s.lastVoxel = vox
				s.handler.OnCursor(s, vox)
			}
		}
	case desktop.MouseButtonSecondary:
		s.gesture = gestureWindowLevel
	case desktop.MouseButtonTertiary:
		s.gesture = gesturePan
	default:
		s.gesture = gestureNone
	}
}

func (s *SliceView) strokeEvent(ph StrokePhase, vox [3]int, pt, from [3]float64, inside bool) StrokeEvent {
	m, _ := s.Mapping()
	_, _, n := m.Axes()
	return StrokeEvent{
		Phase: ph, Voxel: vox, Inside: inside, Point: pt, From: from,
		Plane: s.scene.View.Plane, Axis: n, Slice: m.Slice(), Modifier: s.modifier,
	}
}

// move continues the gesture in progress at pointer position p.
func (s *SliceView) move(p fyne.Position) {
	s.pos = p
	vox, pt, inside, ok := s.voxelAt(p)
	if !ok {
		return
	}
	s.pointerAt(pt, true)
	s.handler.OnHover(s, vox, inside)
	sz := s.Size()
	w, h := float64(sz.Width), float64(sz.Height)
	dx, dy := float64(p.X-s.startPos.X), float64(p.Y-s.startPos.Y)
	switch s.gesture {
	case gestureNavigate:
		// Keep following the drag along the image edge when it leaves.
		g := s.scene.Volume.Grid
		for a := 0; a < 3; a++ {
			vox[a] = clamp(vox[a], 0, g.Dims[a]-1)
		}
		if vox != s.lastVoxel {
			s.lastVoxel = vox
			s.handler.OnCursor(s, vox)
		}
	case gestureStroke:
		if vox == s.lastVoxel {
			return
		}
		from := s.lastPoint
		s.lastVoxel, s.lastPoint = vox, pt
		s.handler.OnStroke(s, s.strokeEvent(StrokeMove, vox, pt, from, inside))
	case gestureWindowLevel:
		s.handler.OnWindowLevel(s, AdjustWindowLevel(s.startView.WL, dx, dy))
	case gesturePan:
		nv := PanBy(s.startView, s.scene.Volume.Grid, w, h, dx, dy)
		s.handler.OnZoomPan(s, nv.Zoom, nv.Pan)
	}
}

// finish ends the gesture in progress (idempotent: the desktop driver sends
// MouseUp and then DragEnd for the same release).
func (s *SliceView) finish() {
	if s.gesture == gestureStroke {
		vox, pt, inside, ok := s.voxelAt(s.pos)
		if !ok {
			vox, pt = s.lastVoxel, s.lastPoint
		}
		s.handler.OnStroke(s, s.strokeEvent(StrokeEnd, vox, pt, s.lastPoint, inside))
	}
	s.gesture = gestureNone
	s.button = 0
}

// MouseUp implements desktop.Mouseable.
func (s *SliceView) MouseUp(ev *desktop.MouseEvent) {
	if s.gesture != gestureNone && ev.Button == s.button {
		if s.gesture != gestureStroke {
			s.move(ev.Position)
		}
		s.finish()
	}
}

// MouseIn implements desktop.Hoverable.
func (s *SliceView) MouseIn(ev *desktop.MouseEvent) { s.MouseMoved(ev) }

// MouseMoved implements desktop.Hoverable. Right-button drags arrive here
// (the desktop driver sends Dragged only for other buttons), as do the first
// pixels of a left drag before the driver's drag threshold.
func (s *SliceView) MouseMoved(ev *desktop.MouseEvent) {
	if s.gesture != gestureNone && ev.Button&s.button == 0 {
		// The button was released outside the view: the gesture is over.
		s.finish()
	}
	if s.gesture != gestureNone {
		s.move(ev.Position)
		return
	}
	if vox, pt, inside, ok := s.voxelAt(ev.Position); ok {
		s.pointerAt(pt, true)
		s.handler.OnHover(s, vox, inside)
	}
}

// MouseOut implements desktop.Hoverable.
func (s *SliceView) MouseOut() {
	s.pointerAt(s.hoverPoint, false)
	s.handler.OnHover(s, [3]int{}, false)
}

// Dragged implements fyne.Draggable. The pointer position is the press
// position plus the sum of the drag deltas, which is right both for the
// desktop driver (whose first delta counts from the press, including the
// moves below its drag threshold that arrived as MouseMoved) and for the
// test driver's Drag (whose single event carries the start position and the
// whole delta). A drag with no press before it starts a left-button gesture.
func (s *SliceView) Dragged(ev *fyne.DragEvent) {
	if s.scene.Volume == nil {
		return
	}
	if s.gesture == gestureNone {
		s.begin(desktop.MouseButtonPrimary, 0, ev.Position)
	}
	s.dragSum.DX += ev.Dragged.DX
	s.dragSum.DY += ev.Dragged.DY
	s.move(s.startPos.Add(s.dragSum))
}

// DragEnd implements fyne.Draggable.
func (s *SliceView) DragEnd() {
	if s.gesture == gestureStroke || s.gesture == gestureNavigate || s.gesture == gesturePan {
		s.finish()
	}
}

// Scrolled implements fyne.Scrollable: the wheel steps slices (one per
// notch, up = positive), ctrl+wheel zooms about the pointer.
func (s *SliceView) Scrolled(ev *fyne.ScrollEvent) {
	if s.scene.Volume == nil {
		return
	}
	if s.modifiers()&(fyne.KeyModifierControl|fyne.KeyModifierSuper) != 0 {
		sz := s.Size()
		factor := math.Pow(zoomPerNotch, float64(ev.Scrolled.DY/wheelNotch()))
		nv := ZoomAt(s.scene.View, s.scene.Volume.Grid, float64(sz.Width), float64(sz.Height),
			float64(ev.Position.X), float64(ev.Position.Y), factor)
		s.handler.OnZoomPan(s, nv.Zoom, nv.Pan)
		return
	}
	s.scrollAcc += ev.Scrolled.DY
	steps := int(s.scrollAcc / wheelNotch())
	if steps == 0 {
		return
	}
	s.scrollAcc -= float32(steps) * wheelNotch()
	s.handler.OnSlice(s, steps)
}

func (s *SliceView) modifiers() fyne.KeyModifier {
	if s.Modifiers != nil {
		return s.Modifiers()
	}
	if app := fyne.CurrentApp(); app != nil {
		if d, ok := app.Driver().(desktop.Driver); ok {
			return d.CurrentKeyModifiers()
		}
	}
	return 0
}

// SliceKey maps the slice-stepping keys to a step: up/down arrows one slice,
// page up/down ten. The application calls it from its canvas key handler for
// the view under the pointer (views do not take keyboard focus, so that
// single-key shortcuts keep reaching the application).
func SliceKey(k fyne.KeyName) (delta int, ok bool) {
	switch k {
	case fyne.KeyUp:
		return 1, true
	case fyne.KeyDown:
		return -1, true
	case fyne.KeyPageUp:
		return 10, true
	case fyne.KeyPageDown:
		return -10, true
	}
	return 0, false
}

type sliceViewRenderer struct{ s *SliceView }

func (r *sliceViewRenderer) Layout(size fyne.Size) {
	s := r.s
	s.raster.Move(fyne.NewPos(0, 0))
	s.raster.Resize(size)
	pad := theme.Padding()
	s.title.Move(fyne.NewPos(pad, pad))
	s.title.Resize(s.title.MinSize())
	l, rt, t, b := s.letters[0], s.letters[1], s.letters[2], s.letters[3]
	for _, txt := range s.letters {
		txt.Resize(txt.MinSize())
	}
	l.Move(fyne.NewPos(pad, (size.Height-l.MinSize().Height)/2))
	rt.Move(fyne.NewPos(size.Width-rt.MinSize().Width-pad, (size.Height-rt.MinSize().Height)/2))
	t.Move(fyne.NewPos((size.Width-t.MinSize().Width)/2, pad))
	b.Move(fyne.NewPos((size.Width-b.MinSize().Width)/2, size.Height-b.MinSize().Height-pad))
	for i, txt := range s.texts() {
		s.shadows[i].Resize(txt.Size())
		s.shadows[i].Move(txt.Position().AddXY(1, 1))
	}
}

func (r *sliceViewRenderer) MinSize() fyne.Size { return fyne.NewSize(64, 64) }

func (r *sliceViewRenderer) Refresh() {
	r.s.updateTexts()
	r.Layout(r.s.Size())
	r.s.raster.Refresh()
}

func (r *sliceViewRenderer) Objects() []fyne.CanvasObject {
	s := r.s
	objs := []fyne.CanvasObject{s.raster}
	for _, sh := range s.shadows {
		objs = append(objs, sh)
	}
	for _, txt := range s.texts() {
		objs = append(objs, txt)
	}
	return objs
}

func (r *sliceViewRenderer) Destroy() {}

// Interface checks.
var (
	_ fyne.Widget        = (*SliceView)(nil)
	_ desktop.Mouseable  = (*SliceView)(nil)
	_ desktop.Hoverable  = (*SliceView)(nil)
	_ desktop.Cursorable = (*SliceView)(nil)
	_ fyne.Draggable     = (*SliceView)(nil)
	_ fyne.Scrollable    = (*SliceView)(nil)
	_ Handler            = HandlerFuncs{}
)

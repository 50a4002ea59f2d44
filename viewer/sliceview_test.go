package viewer

import (
	"image"
	"image/color"
	"math"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
)

// recorder is a Handler that keeps every event.
type recorder struct {
	cursors []([3]int)
	strokes []StrokeEvent
	hovers  []([3]int)
	slices  []int
	wls     []WindowLevel
	zooms   []float64
	pans    [][2]float64
}

func (r *recorder) handler() HandlerFuncs {
	return HandlerFuncs{
		Cursor:      func(_ *SliceView, v [3]int) { r.cursors = append(r.cursors, v) },
		Stroke:      func(_ *SliceView, e StrokeEvent) { r.strokes = append(r.strokes, e) },
		Hover:       func(_ *SliceView, v [3]int, in bool) { r.hovers = append(r.hovers, v) },
		Slice:       func(_ *SliceView, d int) { r.slices = append(r.slices, d) },
		WindowLevel: func(_ *SliceView, wl WindowLevel) { r.wls = append(r.wls, wl) },
		ZoomPan: func(_ *SliceView, z float64, p [2]float64) {
			r.zooms = append(r.zooms, z)
			r.pans = append(r.pans, p)
		},
	}
}

// newTestView shows the 20 x 20 x 5 overlay scene (10 units per voxel) in a
// 200 x 200 view on a test window (no X, no GL).
func newTestView(t *testing.T) (*SliceView, *recorder, fyne.Window) {
	test.NewTempApp(t)
	vol, lab, v := overlayScene(t)
	rec := &recorder{}
	sv := NewSliceView(rec.handler())
	sv.SetScene(Scene{Volume: vol, Overlays: []Overlay{{Name: "A", Label: lab, Color: LayerColors[0], Opacity: 1, Visible: true}}, View: v, Title: "T1c axial"})
	w := test.NewTempWindow(t, sv)
	w.SetPadded(false)
	w.Resize(fyne.NewSize(200, 200))
	if sz := sv.Size(); sz.Width != 200 || sz.Height != 200 {
		t.Fatalf("view is %v, want 200 x 200", sz)
	}
	return sv, rec, w
}

func mouse(b desktop.MouseButton, x, y float32) *desktop.MouseEvent {
	ev := &desktop.MouseEvent{Button: b}
	ev.Position = fyne.NewPos(x, y)
	return ev
}

func drag(dx, dy float32) *fyne.DragEvent {
	return &fyne.DragEvent{Dragged: fyne.NewDelta(dx, dy)}
}

// TestStrokeOnRightVoxels: a paint stroke (press, drags, release) produces
// Begin, one Move per voxel entered and End, on the voxels under the
// pointer, on the cursor's slice, each Move starting where the last ended.
func TestStrokeOnRightVoxels(t *testing.T) {
	sv, rec, _ := newTestView(t)
	sv.SetTool(ToolPaint)
	// Radiological axial of a RAS grid: screen x 105 -> voxel i 19-10 = 9,
	// screen y 105 -> j 19-10 = 9; each voxel is 10 units.
	sv.MouseDown(mouse(desktop.MouseButtonPrimary, 105, 105))
	sv.Dragged(drag(4, 0))  // (109, 105): same voxel, no event
	sv.Dragged(drag(16, 0)) // (125, 105): i = 7
	sv.Dragged(drag(0, 30)) // (125, 135): j = 6
	sv.DragEnd()
	sv.MouseUp(mouse(desktop.MouseButtonPrimary, 125, 135))

	want := []struct {
		phase StrokePhase
		vox   [3]int
	}{{StrokeBegin, [3]int{9, 9, 2}}, {StrokeMove, [3]int{7, 9, 2}}, {StrokeMove, [3]int{7, 6, 2}}, {StrokeEnd, [3]int{7, 6, 2}}}
	if len(rec.strokes) != len(want) {
		t.Fatalf("got %d stroke events %+v, want %d", len(rec.strokes), rec.strokes, len(want))
	}
	for i, w := range want {
		e := rec.strokes[i]
		if e.Phase != w.phase || e.Voxel != w.vox || !e.Inside || e.Axis != 2 || e.Slice != 2 || e.Plane != Axial {
			t.Errorf("event %d = %+v, want %v on voxel %v, axis 2 slice 2", i, e, w.phase, w.vox)
		}
		if i > 0 && e.From != rec.strokes[i-1].Point {
			t.Errorf("event %d starts at %v, previous ended at %v", i, e.From, rec.strokes[i-1].Point)
		}
	}
	if p := rec.strokes[1].Point; math.Abs(p[0]-7.0) > 1e-9 || math.Abs(p[1]-9.0) > 1e-9 {
		t.Errorf("point of (125, 105) = %v, want (7.0, 9.0, 2)", p)
	}
	if len(rec.cursors) != 0 {
		t.Errorf("painting moved the cursor: %v", rec.cursors)
	}

	// On a coronal view the stroke is on the cursor's coronal slice (j).
	rec.strokes = nil
	sc := sv.Scene()
	sc.View.Plane = Coronal
	sc.View.Cursor = [3]int{3, 11, 2}
	sv.SetScene(sc)
	sv.MouseDown(mouse(desktop.MouseButtonPrimary, 105, 100))
	sv.MouseUp(mouse(desktop.MouseButtonPrimary, 105, 100))
	if len(rec.strokes) != 2 || rec.strokes[0].Axis != 1 || rec.strokes[0].Slice != 11 || rec.strokes[0].Voxel[1] != 11 {
		t.Fatalf("coronal click: %+v, want a stroke on axis 1, slice 11", rec.strokes)
	}
}

// TestTestDriverDrag: fyne's test.Drag sends one Dragged event with the start
// position and the whole delta, and no press; the view still makes a whole
// stroke of it.
func TestTestDriverDrag(t *testing.T) {
	sv, rec, w := newTestView(t)
	sv.SetTool(ToolPaint)
	test.Drag(w.Canvas(), fyne.NewPos(105, 105), 40, 0)
	if len(rec.strokes) != 3 {
		t.Fatalf("test.Drag gave %d events %+v, want begin, move, end", len(rec.strokes), rec.strokes)
	}
	if rec.strokes[0].Voxel != [3]int{9, 9, 2} || rec.strokes[1].Voxel != [3]int{5, 9, 2} || rec.strokes[2].Phase != StrokeEnd {
		t.Errorf("test.Drag strokes %+v", rec.strokes)
	}
}

func TestNavigateMovesCursor(t *testing.T) {
	sv, rec, _ := newTestView(t)
	sv.MouseDown(mouse(desktop.MouseButtonPrimary, 35, 185))
	sv.MouseUp(mouse(desktop.MouseButtonPrimary, 35, 185))
	// x 35 -> i = 19-3 = 16; y 185 -> j = 19-18 = 1.
	if len(rec.cursors) != 1 || rec.cursors[0] != [3]int{16, 1, 2} {
		t.Fatalf("click: cursor events %v, want [16 1 2]", rec.cursors)
	}
	// A drag beyond the image clamps to its edge.
	sv.MouseDown(mouse(desktop.MouseButtonPrimary, 35, 185))
	sv.Dragged(drag(-100, 0))
	sv.DragEnd()
	if last := rec.cursors[len(rec.cursors)-1]; last != [3]int{19, 1, 2} {
		t.Errorf("drag off the left edge: cursor %v, want [19 1 2]", last)
	}
	if len(rec.strokes) != 0 {
		t.Errorf("navigating painted: %v", rec.strokes)
	}
}

func TestWheelStepsSlices(t *testing.T) {
	sv, rec, w := newTestView(t)
	n := wheelNotch()
	test.Scroll(w.Canvas(), fyne.NewPos(100, 100), 0, n) // one notch up
	test.Scroll(w.Canvas(), fyne.NewPos(100, 100), 0, -2*n)
	// A trackpad's half notches add up to one step.
	sv.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, n/2)})
	sv.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, n/2)})
	if want := []int{1, -2, 1}; len(rec.slices) != 3 || rec.slices[0] != want[0] || rec.slices[1] != want[1] || rec.slices[2] != want[2] {
		t.Fatalf("slice steps %v, want %v", rec.slices, want)
	}
	if len(rec.zooms) != 0 {
		t.Errorf("plain wheel zoomed")
	}
	// The application applies a step with StepSlice: up is superior.
	sc := sv.Scene()
	nv := StepSlice(sc.View, sc.Volume.Grid, rec.slices[0])
	if nv.Cursor[2] != sc.View.Cursor[2]+1 {
		t.Errorf("StepSlice +1 on an RAS grid moved k from %d to %d", sc.View.Cursor[2], nv.Cursor[2])
	}
}

func TestCtrlWheelZoomsAboutPointer(t *testing.T) {
	sv, rec, _ := newTestView(t)
	sv.Modifiers = func() fyne.KeyModifier { return fyne.KeyModifierControl }
	ev := &fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, wheelNotch())}
	ev.Position = fyne.NewPos(60, 140)
	sv.Scrolled(ev)
	if len(rec.zooms) != 1 || math.Abs(rec.zooms[0]-zoomPerNotch) > 1e-9 {
		t.Fatalf("ctrl+wheel: zooms %v, want [%g]", rec.zooms, zoomPerNotch)
	}
	sc := sv.Scene()
	before := NewMapping(sc.Volume.Grid, sc.View, 200, 200).ScreenToVoxelF(60, 140)
	v := sc.View
	v.Zoom, v.Pan = rec.zooms[0], rec.pans[0]
	after := NewMapping(sc.Volume.Grid, v, 200, 200).ScreenToVoxelF(60, 140)
	if math.Abs(before[0]-after[0]) > 1e-9 || math.Abs(before[1]-after[1]) > 1e-9 {
		t.Errorf("the point under the pointer moved from %v to %v", before, after)
	}
	if len(rec.slices) != 0 {
		t.Errorf("ctrl+wheel stepped slices")
	}
}

// TestRightDragWindowLevel: right-button drags arrive as MouseDown and
// MouseMoved (not Dragged); each move proposes a window/level computed from
// the one at the press.
func TestRightDragWindowLevel(t *testing.T) {
	sv, rec, _ := newTestView(t)
	start := sv.Scene().View.WL
	sv.MouseDown(mouse(desktop.MouseButtonSecondary, 50, 50))
	sv.MouseMoved(mouse(desktop.MouseButtonSecondary, 250, 50)) // right 200: window x e
	sv.MouseMoved(mouse(desktop.MouseButtonSecondary, 50, 0))   // back, and up 50
	sv.MouseUp(mouse(desktop.MouseButtonSecondary, 50, 0))
	if len(rec.wls) < 2 {
		t.Fatalf("window/level events %v, want at least 2", rec.wls)
	}
	if got := rec.wls[0]; math.Abs(float64(got.Window)-float64(start.Window)*math.E) > 1e-2 || got.Level != start.Level {
		t.Errorf("drag right 200: %+v, want window %g, level %g", got, float64(start.Window)*math.E, start.Level)
	}
	if got := rec.wls[1]; got.Window != start.Window || got.Level >= start.Level {
		t.Errorf("drag up: %+v, want the start window and a lower level than %g", got, start.Level)
	}
	// After the release, moving only hovers.
	n := len(rec.wls)
	sv.MouseMoved(mouse(0, 80, 80))
	if len(rec.wls) != n {
		t.Errorf("a move after the release changed window/level")
	}
	if last := rec.hovers[len(rec.hovers)-1]; last != [3]int{11, 11, 2} {
		t.Errorf("hover at (80, 80) reports %v, want [11 11 2]", last)
	}
	// A release outside the view (no MouseUp) ends the gesture at the next
	// move without the button.
	sv.MouseDown(mouse(desktop.MouseButtonSecondary, 50, 50))
	sv.MouseMoved(mouse(0, 90, 50))
	if len(rec.wls) != n {
		t.Errorf("a move with the button up continued the window/level drag")
	}
}

func TestMiddleDragPans(t *testing.T) {
	sv, rec, _ := newTestView(t)
	sv.MouseDown(mouse(desktop.MouseButtonTertiary, 100, 100))
	sv.Dragged(drag(30, -20))
	sv.DragEnd()
	sv.MouseUp(mouse(desktop.MouseButtonTertiary, 130, 80))
	if len(rec.pans) == 0 {
		t.Fatal("middle drag did not pan")
	}
	sc := sv.Scene()
	v := sc.View
	v.Pan = rec.pans[len(rec.pans)-1]
	x0, y0 := NewMapping(sc.Volume.Grid, sc.View, 200, 200).VoxelToScreen([3]float64{9, 9, 2})
	x1, y1 := NewMapping(sc.Volume.Grid, v, 200, 200).VoxelToScreen([3]float64{9, 9, 2})
	if math.Abs(x1-x0-30) > 1e-9 || math.Abs(y1-y0+20) > 1e-9 {
		t.Errorf("pan moved the image by (%.2f, %.2f), want (30, -20)", x1-x0, y1-y0)
	}
	if len(rec.strokes) != 0 || len(rec.cursors) != 0 {
		t.Errorf("panning painted or moved the cursor")
	}
}

// TestViewRendersOnCanvas: the test driver's software painter asks the view
// for its image, which is the pure renderer's output.
func TestViewRendersOnCanvas(t *testing.T) {
	sv, _, w := newTestView(t)
	w.Canvas().Capture()
	img := sv.Image()
	if img == nil || img.Rect.Dx() != 200 || img.Rect.Dy() != 200 {
		t.Fatalf("view image %v, want 200 x 200", img)
	}
	sc := sv.Scene()
	want := image.NewRGBA(image.Rect(0, 0, 200, 200))
	Render(want, sc.Volume, sc.Overlays, sc.View)
	if !samePixels(img, want) {
		t.Error("the view's image differs from Render's")
	}
	// The label is drawn in the middle; orientation letters follow the view.
	if c := nrgbaAt(img, 100, 100); c != LayerColors[0] {
		t.Errorf("centre pixel %v, want the label colour", c)
	}
	if sv.letters[0].Text != "R" || sv.letters[1].Text != "L" || sv.letters[2].Text != "A" || sv.letters[3].Text != "P" {
		t.Errorf("letters %q %q %q %q, want R L A P", sv.letters[0].Text, sv.letters[1].Text, sv.letters[2].Text, sv.letters[3].Text)
	}
	v := sc.View
	v.Orientation = Neurological
	sv.SetView(v)
	if sv.letters[0].Text != "L" || sv.letters[1].Text != "R" {
		t.Errorf("neurological letters %q %q, want L R", sv.letters[0].Text, sv.letters[1].Text)
	}
	// An empty view ignores the mouse.
	empty := NewSliceView(nil)
	empty.Resize(fyne.NewSize(50, 50))
	empty.MouseDown(mouse(desktop.MouseButtonPrimary, 10, 10))
	empty.Dragged(drag(5, 5))
	empty.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, wheelNotch())})
}

func TestSliceKey(t *testing.T) {
	for k, want := range map[fyne.KeyName]int{fyne.KeyUp: 1, fyne.KeyDown: -1, fyne.KeyPageUp: 10, fyne.KeyPageDown: -10} {
		if d, ok := SliceKey(k); !ok || d != want {
			t.Errorf("SliceKey(%s) = %d, %v", k, d, ok)
		}
	}
	if _, ok := SliceKey(fyne.KeyA); ok {
		t.Error("A steps slices")
	}
}

// TestBrushFollowsPointer: with the paint tool and a brush size, the view
// outlines the brush under the pointer, and not once the pointer leaves.
func TestBrushFollowsPointer(t *testing.T) {
	sv, _, w := newTestView(t)
	yellow := color.NRGBA{R: 255, G: 255, A: 255}
	sv.SetTool(ToolPaint)
	sv.SetBrush(2, yellow)
	sv.MouseMoved(mouse(0, 40, 40))
	w.Canvas().Capture()
	if n := countColour(sv.Image(), yellow); n < 80 {
		t.Fatalf("brush outline has %d pixels under the pointer", n)
	}
	// The circle is centred on the pointer: 2 mm = 20 pixels to its right.
	if nrgbaAt(sv.Image(), 59, 40) != yellow && nrgbaAt(sv.Image(), 60, 40) != yellow {
		t.Errorf("no brush 20 pixels to the right of the pointer")
	}
	if nrgbaAt(sv.Image(), 40, 40) == yellow || nrgbaAt(sv.Image(), 50, 40) == yellow {
		t.Errorf("brush drawn inside its circle")
	}
	sv.MouseOut()
	w.Canvas().Capture()
	if n := countColour(sv.Image(), yellow); n != 0 {
		t.Errorf("brush still drawn (%d pixels) after the pointer left", n)
	}
	sv.MouseMoved(mouse(0, 40, 40))
	sv.SetTool(ToolNavigate)
	w.Canvas().Capture()
	if n := countColour(sv.Image(), yellow); n != 0 {
		t.Errorf("brush drawn with the navigate tool")
	}
}

// TestDragAfterThresholdMoves mimics the desktop driver: below its drag
// threshold a left drag arrives as MouseMoved, and the first Dragged delta
// then counts from the press, so the pointer is not moved twice.
func TestDragAfterThresholdMoves(t *testing.T) {
	sv, rec, _ := newTestView(t)
	sv.SetTool(ToolPaint)
	sv.MouseDown(mouse(desktop.MouseButtonPrimary, 101, 105))  // voxel i 9
	sv.MouseMoved(mouse(desktop.MouseButtonPrimary, 103, 105)) // below the threshold
	sv.MouseMoved(mouse(desktop.MouseButtonPrimary, 104, 105))
	sv.Dragged(drag(8, 0))  // from the press: (109, 105), still i 9
	sv.Dragged(drag(10, 0)) // (119, 105): i 8
	sv.MouseUp(mouse(desktop.MouseButtonPrimary, 119, 105))
	sv.DragEnd()
	var got [][3]int
	for _, e := range rec.strokes {
		got = append(got, e.Voxel)
	}
	want := [][3]int{{9, 9, 2}, {8, 9, 2}, {8, 9, 2}}
	if len(got) != len(want) {
		t.Fatalf("stroke voxels %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("stroke voxels %v, want %v", got, want)
		}
	}
	if rec.strokes[2].Phase != StrokeEnd {
		t.Errorf("last event %v, want end (once)", rec.strokes[2].Phase)
	}
}

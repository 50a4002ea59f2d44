package viewer_test

import (
	"fmt"

	"metascope/viewer"
	"metascope/volume"
)

// Example_linkedViews shows the wiring an application does: one handler for
// every view, which owns the view states, links the cursor and asks each
// view to redraw. Window, layout and menus are the application's.
func Example_linkedViews() {
	g := volume.Grid{Dims: [3]int{64, 64, 40}, Affine: volume.Diagonal([3]float64{1, 1, 2}, [3]float64{-32, -32, -40})}
	seqs := map[string]*volume.Volume{"T1c": volume.New(g), "FLAIR": volume.New(g)}
	reader := volume.NewLabel(g)

	var views []*viewer.SliceView
	cursor := [3]int{32, 32, 20}
	wl := map[*viewer.SliceView]viewer.WindowLevel{}
	redraw := func() {
		for _, sv := range views {
			sc := sv.Scene()
			sc.View.Cursor = cursor
			sc.View.WL = wl[sv]
			sv.SetScene(sc) // on the UI goroutine (fyne.Do from jobs)
		}
	}
	h := viewer.HandlerFuncs{
		Cursor: func(_ *viewer.SliceView, v [3]int) { cursor = v; redraw() },
		Slice: func(src *viewer.SliceView, d int) {
			cursor = viewer.StepSlice(src.Scene().View, g, d).Cursor
			redraw()
		},
		WindowLevel: func(src *viewer.SliceView, w viewer.WindowLevel) { wl[src] = w; redraw() },
		ZoomPan: func(src *viewer.SliceView, z float64, p [2]float64) {
			sc := src.Scene()
			sc.View.Zoom, sc.View.Pan = z, p
			src.SetScene(sc)
		},
		Stroke: func(src *viewer.SliceView, e viewer.StrokeEvent) {
			// Hand e to the editor (segedit): paint From -> Point on slice
			// e.Slice of axis e.Axis, commit the undo step at StrokeEnd.
		},
		Hover: func(_ *viewer.SliceView, v [3]int, inside bool) {
			if inside {
				_ = viewer.StatusText(g, v, []viewer.NamedVolume{{Name: "T1c", Vol: seqs["T1c"]}}, nil)
			}
		},
	}
	for _, name := range []string{"T1c", "FLAIR"} {
		for _, p := range viewer.Planes {
			sv := viewer.NewSliceView(h)
			wl[sv] = viewer.AutoWindow(seqs[name], nil)
			sv.SetScene(viewer.Scene{
				Volume: seqs[name],
				Overlays: []viewer.Overlay{{Name: "Reader A", Label: reader,
					Color: viewer.LayerColors[0], Opacity: 0.5, Visible: true}},
				View:  viewer.DefaultView(p, g, wl[sv]),
				Title: name + " " + p.String(),
			})
			views = append(views, sv)
		}
	}
	redraw()
	fmt.Println(len(views), "views")
	// Output: 6 views
}

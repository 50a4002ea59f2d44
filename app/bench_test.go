package app

import (
	"context"
	"image"
	"math"
	"math/rand"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"metascope/viewer"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// benchCase imports a synthetic 256 x 256 x 180 case (1 mm, the size the
// design's redraw target names) into a new workspace.
func benchCase(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	ws, err := workspace.Create(filepath.Join(dir, "ws"))
	if err != nil {
		b.Fatal(err)
	}
	g := volume.Grid{Dims: [3]int{256, 256, 180}, Affine: volume.Diagonal([3]float64{1, 1, 1}, [3]float64{-128, -128, -90})}
	rng := rand.New(rand.NewSource(1))
	req := workspace.ImportRequest{Name: "bench", By: "bench", Sources: map[volume.Sequence]workspace.Source{}}
	for _, s := range volume.Sequences {
		v := volume.New(g)
		for k := 0; k < 180; k++ {
			for j := 0; j < 256; j++ {
				for i := 0; i < 256; i++ {
					r := math.Sqrt(sq(float64(i-128)/100) + sq(float64(j-128)/120) + sq(float64(k-90)/80))
					x := 0.0
					if r < 1 {
						x = 400 + 300*math.Cos(8*r+float64(s)) + 30*rng.NormFloat64()
					}
					v.Set(i, j, k, float32(math.Round(math.Max(x, 0))))
				}
			}
		}
		p := filepath.Join(dir, s.String()+".nii.gz")
		if err := nifti.WriteVolumeInt16(p, v); err != nil {
			b.Fatal(err)
		}
		req.Sources[s] = workspace.Source{Path: p}
	}
	if _, err := ws.Import(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	return ws.Dir()
}

// BenchmarkSliceStepRedraw measures the app's path for one wheel notch:
// the cursor moves (StepSlice updates every shown view's scene) and every
// shown view is rendered at its on-screen size in a 1600 x 1000 window, as
// each view's raster does on the next frame. Views render one after the
// other, as Fyne paints them.
func BenchmarkSliceStepRedraw(b *testing.B) {
	dir := benchCase(b)
	ws, err := workspace.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	loaded := make(chan error, 1)
	a := test.NewTempApp(b)
	w, err := NewWorkstation(a, ws, Options{Reader: "bench", onLoaded: func(_ string, err error) { loaded <- err }})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	select {
	case err := <-loaded:
		if err != nil {
			b.Fatal(err)
		}
	case <-time.After(120 * time.Second):
		b.Fatal("case did not load")
	}
	for _, l := range []Layout{LayoutPlanes, LayoutAll} {
		b.Run(map[Layout]string{LayoutPlanes: "3views", LayoutAll: "12views"}[l], func(b *testing.B) {
			w.SetLayout(l)
			shown := w.visibleSlots()
			rs := make([]viewer.Renderer, len(shown))
			imgs := make([]*image.RGBA, len(shown))
			for i, sl := range shown {
				sz := sl.sv.Size()
				imgs[i] = image.NewRGBA(image.Rect(0, 0, int(sz.Width), int(sz.Height)))
			}
			for i, sl := range shown { // warm the renderers' tables
				sc := sl.sv.Scene()
				rs[i].Render(imgs[i], sc.Volume, sc.Overlays, sc.View)
			}
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				d := 1
				if n%40 >= 20 {
					d = -1
				}
				w.StepSlice(viewer.Axial, d)
				for i, sl := range shown {
					sc := sl.sv.Scene()
					rs[i].Render(imgs[i], sc.Volume, sc.Overlays, sc.View)
				}
			}
			b.ReportMetric(float64(b.Elapsed())/1e6/float64(b.N), "ms/frame")
			b.ReportMetric(float64(len(shown)), "views")
		})
	}
}

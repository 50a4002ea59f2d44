package viewer

import (
	"fmt"
	"image"
	"testing"

	"metascope/volume"
)

// benchCase builds a 256 x 256 x 180 case (1 x 1 x 1 mm, LPS storage as from
// DICOM): four sequences with different patterns, a reader's label (a
// block) and a second reader's.
func benchCase(b *testing.B) ([4]*volume.Volume, []Overlay) {
	g := volume.Grid{Dims: [3]int{256, 256, 180}, Affine: volume.Affine{
		{-1, 0, 0, 128}, {0, -1, 0, 128}, {0, 0, 1, -90}, {0, 0, 0, 1}}}
	var seqs [4]*volume.Volume
	for s := range seqs {
		v := volume.New(g)
		for k := 0; k < 180; k++ {
			for j := 0; j < 256; j++ {
				row := v.Data[g.Index(0, j, k):]
				for i := 0; i < 256; i++ {
					row[i] = float32((i*(s+3)+j*7+k*11)%997) + float32(s*100)
				}
			}
		}
		seqs[s] = v
	}
	a, bl := volume.NewLabel(g), volume.NewLabel(g)
	for k := 60; k < 120; k++ {
		for j := 100; j < 160; j++ {
			for i := 90; i < 170; i++ {
				a.Set(i, j, k, 1)
				if i > 110 {
					bl.Set(i, j, k, 1)
				}
			}
		}
	}
	overlays := []Overlay{
		{Name: "reader A", Label: a, Color: LayerColors[0], Opacity: 0.5, Visible: true},
		{Name: "reader B", Label: bl, Color: LayerColors[1], Opacity: 1, Visible: true, Outline: true},
	}
	return seqs, overlays
}

// BenchmarkRedrawAllViews measures what a slice step costs: every one of 12
// views (4 sequences x 3 planes, 384 x 384 pixels each, as in a 1536 x 1152
// view area) redrawn with two label overlays and the crosshair, one after
// the other as the UI thread draws them. The target is under 16 ms/frame.
func BenchmarkRedrawAllViews(b *testing.B) {
	seqs, overlays := benchCase(b)
	const size = 384
	for _, interp := range []Interpolation{Linear, Nearest} {
		b.Run(interp.String(), func(b *testing.B) {
			type view struct {
				img *image.RGBA
				r   Renderer
				vol *volume.Volume
				v   View
			}
			var views []*view
			for _, s := range seqs {
				wl := FromRange(0, 1200)
				for _, p := range Planes {
					v := DefaultView(p, s.Grid, wl)
					v.Interp = interp
					views = append(views, &view{img: image.NewRGBA(image.Rect(0, 0, size, size)), vol: s, v: v})
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for n := 0; n < b.N; n++ {
				// A slice step in the axial view moves the linked cursor.
				for _, vw := range views {
					vw.v.Cursor[2] = 60 + n%60
					vw.r.Render(vw.img, vw.vol, overlays, vw.v)
				}
			}
			cpu := processCPU() - cpu0
			msPerFrame := float64(b.Elapsed().Microseconds()) / 1000 / float64(b.N)
			b.ReportMetric(msPerFrame, "ms/frame")
			// CPU time per frame, summed over threads: the work, whatever
			// else the machine is doing.
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/frame")
			b.ReportMetric(float64(len(views)*size*size)/msPerFrame/1e3, "Mpixels/s")
		})
	}
}

// BenchmarkRenderView is one 512 x 512 view, zoomed, in each plane.
func BenchmarkRenderView(b *testing.B) {
	seqs, overlays := benchCase(b)
	for _, p := range Planes {
		b.Run(p.String(), func(b *testing.B) {
			img := image.NewRGBA(image.Rect(0, 0, 512, 512))
			v := DefaultView(p, seqs[0].Grid, FromRange(0, 1200))
			v.Zoom = 1.5
			var r Renderer
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				r.Render(img, seqs[0], overlays, v)
			}
			b.ReportMetric(float64(b.N*512*512)/b.Elapsed().Seconds()/1e6, "Mpixels/s")
		})
	}
}

// Example of the text the status bar shows.
func ExampleStatusText() {
	g := volume.Grid{Dims: [3]int{4, 4, 4}, Affine: volume.Diagonal([3]float64{1, 1, 2}, [3]float64{-2, -2, -4})}
	t1c := volume.New(g)
	t1c.Set(1, 2, 3, 1420)
	z := volume.New(g)
	z.Set(1, 2, 3, -0.4567)
	lab := volume.NewLabel(g)
	lab.Set(1, 2, 3, 1)
	fmt.Println(StatusText(g, [3]int{1, 2, 3},
		[]NamedVolume{{"T1c", t1c}, {"FLAIR", z}, {"T2", nil}},
		[]Overlay{{Name: "Reader A", Label: lab}}))
	// Output: voxel 1,2,3  RAS -1.0,0.0,2.0 mm  T1c 1420  FLAIR -0.457  T2 -  Reader A 1
}

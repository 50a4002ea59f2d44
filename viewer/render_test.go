package viewer

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"runtime"
	"testing"

	"metascope/volume"
)

// slowRender is the obviously correct renderer the fast one is checked
// against: every pixel asks the Mapping for its voxel, interpolates in
// float64, and blends overlays in floating point.
func slowRender(w, h int, vol *volume.Volume, overlays []Overlay, v View) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	m := NewMapping(vol.Grid, v, float64(w), float64(h))
	ha, va, _ := m.Axes()
	for py := 0; py < h; py++ {
		for px := 0; px < w; px++ {
			x, y := float64(px)+0.5, float64(py)+0.5
			vox, inside := m.ScreenToVoxel(x, y)
			if !inside {
				img.SetRGBA(px, py, color.RGBA{A: 255})
				continue
			}
			val := vol.At(vox[0], vox[1], vox[2])
			if v.Interp == Linear {
				p := m.ScreenToVoxelF(x, y)
				lerp := func(a, b float32, f float64) float64 { return float64(a) + (float64(b)-float64(a))*f }
				ch := math.Max(0, math.Min(float64(vol.Dims[ha]-1), p[ha]))
				cv := math.Max(0, math.Min(float64(vol.Dims[va]-1), p[va]))
				h0, v0 := int(ch), int(cv)
				h1, v1 := min(h0+1, vol.Dims[ha]-1), min(v0+1, vol.Dims[va]-1)
				fh, fv := ch-float64(h0), cv-float64(v0)
				at := func(a, b int) float32 {
					q := vox
					q[ha], q[va] = a, b
					return vol.At(q[0], q[1], q[2])
				}
				top := lerp(at(h0, v0), at(h1, v0), fh)
				bot := lerp(at(h0, v1), at(h1, v1), fh)
				val = float32(top + (bot-top)*fv)
			}
			g := float64(v.WL.Grey(val))
			rgb := [3]float64{g, g, g}
			for _, o := range overlays {
				if !o.Visible || o.Validate(vol.Grid) != nil {
					continue
				}
				var c color.NRGBA
				if o.Prob != nil {
					pv := o.Prob.At(vox[0], vox[1], vox[2])
					if pv <= 0 || pv < o.Threshold {
						continue
					}
					c = o.Colormap.At(math.Round(math.Max(0, math.Min(1, float64(pv)))*255) / 255)
				} else {
					lab := o.Label.At(vox[0], vox[1], vox[2])
					if lab == 0 {
						continue
					}
					if o.Outline {
						same := true
						for _, d := range [][2]float64{{-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
							nb, in := m.ScreenToVoxel(x+d[0], y+d[1])
							var nl uint8
							if in {
								nl = o.Label.At(nb[0], nb[1], nb[2])
							}
							same = same && nl == lab
						}
						if same {
							continue
						}
					}
					c = o.Color
					if int(lab) < len(o.Palette) {
						c = o.Palette[lab]
					}
				}
				a := float64(c.A) / 255 * o.Opacity
				rgb[0] = rgb[0]*(1-a) + float64(c.R)*a
				rgb[1] = rgb[1]*(1-a) + float64(c.G)*a
				rgb[2] = rgb[2]*(1-a) + float64(c.B)*a
			}
			img.SetRGBA(px, py, color.RGBA{R: uint8(rgb[0] + 0.5), G: uint8(rgb[1] + 0.5), B: uint8(rgb[2] + 0.5), A: 255})
		}
	}
	return img
}

// phantomVolume fills grid g with a smooth pattern and returns it with two
// label maps (a sphere and a cube) and a probability map.
func phantomVolume(t testing.TB, g volume.Grid) (*volume.Volume, *volume.Label, *volume.Label, *volume.Volume) {
	vol := volume.New(g)
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			for i := 0; i < g.Dims[0]; i++ {
				p := g.VoxelToWorld([3]float64{float64(i), float64(j), float64(k)})
				vol.Set(i, j, k, float32(500+300*math.Sin(p[0]/4)*math.Cos(p[1]/5)+100*math.Sin(p[2]/3)))
			}
		}
	}
	c := g.VoxelToWorld([3]float64{float64(g.Dims[0]) / 2, float64(g.Dims[1]) / 2, float64(g.Dims[2]) / 2})
	sphere := sphereLabel(g, c, 8, 1)
	cube := volume.NewLabel(g)
	prob := volume.New(g)
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			for i := 0; i < g.Dims[0]; i++ {
				if i > 3 && i < 12 && j > 5 && j < 20 {
					cube.Set(i, j, k, uint8(1+(i+j)%3))
				}
				prob.Set(i, j, k, float32(j)/float32(g.Dims[1]-1))
			}
		}
	}
	return vol, sphere, cube, prob
}

// TestRenderMatchesSlowReference compares the table-driven renderer with
// slowRender for every axis storage, plane, orientation, zoom and pan, with
// filled, outlined, palette and probability overlays, in both
// interpolations. Pixels may differ by one grey level (integer blending).
func TestRenderMatchesSlowReference(t *testing.T) {
	red := LayerColors[0]
	for _, codes := range []string{"RAS", "LPS", "AIL"} {
		g := codedGrid(t, codes, testBox)
		vol, sphere, cube, prob := phantomVolume(t, g)
		overlays := []Overlay{
			{Name: "prob", Prob: prob, Colormap: RedYellow, Threshold: 0.6, Opacity: 0.4, Visible: true},
			{Name: "cube", Label: cube, Color: LayerColors[1], Palette: []color.NRGBA{{}, {}, {R: 10, G: 20, B: 250, A: 200}}, Opacity: 0.5, Visible: true},
			{Name: "sphere", Label: sphere, Color: red, Opacity: 1, Visible: true, Outline: true},
			{Name: "hidden", Label: cube, Color: red, Opacity: 1, Visible: false},
		}
		cursor := voxelOf(t, g, testBox, [3]int{15, 20, 12})
		for _, v := range testViews(cursor) {
			for _, interp := range []Interpolation{Nearest, Linear} {
				v.Interp = interp
				v.WL = FromRange(200, 900)
				name := fmt.Sprintf("%s %v %v zoom %.1f %v", codes, v.Plane, v.Orientation, v.Zoom, interp)
				const w, h = 173, 131
				got := image.NewRGBA(image.Rect(0, 0, w, h))
				var r Renderer
				r.Render(got, vol, overlays, v)
				want := slowRender(w, h, vol, overlays, v)
				if d, x, y := maxDiff(got, want); d > 1 {
					t.Fatalf("%s: pixel (%d, %d) is %v, reference %v", name, x, y, got.RGBAAt(x, y), want.RGBAAt(x, y))
				}
			}
		}
	}
}

func maxDiff(a, b *image.RGBA) (d, x, y int) {
	for py := 0; py < a.Rect.Dy(); py++ {
		for px := 0; px < a.Rect.Dx(); px++ {
			ca, cb := a.RGBAAt(px, py), b.RGBAAt(px, py)
			for _, e := range [4]int{int(ca.R) - int(cb.R), int(ca.G) - int(cb.G), int(ca.B) - int(cb.B), int(ca.A) - int(cb.A)} {
				if e < 0 {
					e = -e
				}
				if e > d {
					d, x, y = e, px, py
				}
			}
		}
	}
	return d, x, y
}

// TestRenderSubImage: rendering into a sub-rectangle of a larger image
// writes exactly that rectangle.
func TestRenderSubImage(t *testing.T) {
	g := codedGrid(t, "RAS", testBox)
	vol, _, _, _ := phantomVolume(t, g)
	v := View{Plane: Axial, Cursor: [3]int{10, 10, 10}, Zoom: 1, WL: FromRange(200, 900)}
	big := image.NewRGBA(image.Rect(0, 0, 200, 150))
	sub := big.SubImage(image.Rect(50, 40, 150, 120)).(*image.RGBA)
	Render(sub, vol, nil, v)
	alone := image.NewRGBA(image.Rect(0, 0, 100, 80))
	Render(alone, vol, nil, v)
	for y := 0; y < 150; y++ {
		for x := 0; x < 200; x++ {
			c := big.RGBAAt(x, y)
			if x >= 50 && x < 150 && y >= 40 && y < 120 {
				if c != alone.RGBAAt(x-50, y-40) {
					t.Fatalf("pixel (%d, %d) of the sub-image differs", x, y)
				}
			} else if c != (color.RGBA{}) {
				t.Fatalf("pixel (%d, %d) outside the sub-image was written", x, y)
			}
		}
	}
}

func TestWindowLevelGrey(t *testing.T) {
	wl := FromRange(100, 1100) // window 1000, level 600
	if wl.Window != 1000 || wl.Level != 600 {
		t.Fatalf("FromRange = %+v", wl)
	}
	cases := []struct {
		x    float32
		want uint8
	}{
		{-5000, 0}, {100, 0}, {101.9, 0}, {102, 1}, {600, 128}, {1100, 255}, {1099, 255}, {1e9, 255},
		{float32(math.NaN()), 0}, {float32(math.Inf(1)), 255}, {float32(math.Inf(-1)), 0},
	}
	for _, c := range cases {
		if got := wl.Grey(c.x); got != c.want {
			t.Errorf("Grey(%g) = %d, want %d", c.x, got, c.want)
		}
	}
	// Linear in between: grey = round((x - lo) * 255 / window).
	for x := float32(100); x <= 1100; x += 7.3 {
		want := uint8(math.Floor(float64(x-100)*255/1000 + 0.5))
		if got := wl.Grey(x); got != want {
			t.Fatalf("Grey(%g) = %d, want %d", x, got, want)
		}
	}
	// A zero window thresholds at the level.
	th := WindowLevel{Window: 0, Level: 50}
	if th.Grey(49) != 0 || th.Grey(51) != 255 {
		t.Errorf("zero window: Grey(49) = %d, Grey(51) = %d", th.Grey(49), th.Grey(51))
	}
	// The rendered image uses the same mapping.
	g := codedGrid(t, "RAS", worldBox{n: [3]int{4, 4, 4}, sp: [3]float64{1, 1, 1}})
	vol := volume.New(g)
	for i := range vol.Data {
		vol.Data[i] = 350
	}
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	Render(img, vol, nil, View{Plane: Axial, Zoom: 1, WL: wl, Interp: Nearest})
	if got, want := img.RGBAAt(4, 4), wl.Grey(350); got != (color.RGBA{R: want, G: want, B: want, A: 255}) {
		t.Errorf("rendered %v, want grey %d", got, want)
	}
}

func TestAdjustWindowLevel(t *testing.T) {
	start := WindowLevel{Window: 400, Level: 300}
	if got := AdjustWindowLevel(start, 0, 0); got != start {
		t.Errorf("no drag changed the window: %+v", got)
	}
	wider := AdjustWindowLevel(start, 200, 0)
	if math.Abs(float64(wider.Window)-400*math.E) > 1e-3 || wider.Level != 300 {
		t.Errorf("dragging right 200: %+v, want window 400e", wider)
	}
	brighter := AdjustWindowLevel(start, 0, -100)
	if brighter.Level != 100 || brighter.Window != 400 {
		t.Errorf("dragging up 100: %+v, want level 100", brighter)
	}
	if n := AdjustWindowLevel(start, -2000, 0); !(n.Window > 0) {
		t.Errorf("a long drag left made the window %g", n.Window)
	}
}

func TestHistogramPercentiles(t *testing.T) {
	g := codedGrid(t, "RAS", worldBox{n: [3]int{10, 10, 20}, sp: [3]float64{1, 1, 1}})
	vol := volume.New(g)
	// Voxels 0..999 hold 1..1000; the other 1000 stay 0 (background).
	for i := 0; i < 1000; i++ {
		vol.Data[i] = float32(i + 1)
	}
	h := NewHistogram(vol, nil)
	if h.Total != 1000 || h.Lo != 1 || h.Hi != 1000 {
		t.Fatalf("histogram counted %d in [%g, %g], want 1000 in [1, 1000]", h.Total, h.Lo, h.Hi)
	}
	for _, q := range []float64{0.01, 0.25, 0.5, 0.995} {
		if got, want := h.Percentile(q), float32(1+999*q); math.Abs(float64(got-want)) > 1.5 {
			t.Errorf("percentile %g = %g, want about %g", q, got, want)
		}
	}
	auto := AutoWindow(vol, nil)
	lo, hi := auto.Range()
	if math.Abs(float64(lo)-11) > 1.5 || math.Abs(float64(hi)-995) > 1.5 {
		t.Errorf("auto window spans [%g, %g], want about [11, 995]", lo, hi)
	}
	// A mask restricts the statistics to the brain.
	mask := volume.NewLabel(g)
	for i := 500; i < 1000; i++ {
		mask.Data[i] = 1
	}
	lo, hi = AutoWindow(vol, mask).Range()
	if math.Abs(float64(lo)-506) > 1.5 || math.Abs(float64(hi)-998) > 1.5 {
		t.Errorf("masked auto window spans [%g, %g], want about [506, 998]", lo, hi)
	}
	full := h.Window(PresetFull)
	if lo, hi := full.Range(); lo != 1 || hi != 1000 {
		t.Errorf("full range preset spans [%g, %g]", lo, hi)
	}
	for _, p := range Presets {
		if w := h.Window(p); !(w.Window > 0) {
			t.Errorf("preset %v gives window %+v", p, w)
		}
	}
	// Empty and constant images still give a usable window.
	if w := AutoWindow(volume.New(g), nil); !(w.Window > 0) {
		t.Errorf("empty image: %+v", w)
	}
	c := volume.New(g)
	for i := range c.Data {
		c.Data[i] = 7
	}
	if w := AutoWindow(c, nil); w.Window != 1 || w.Level != 7 {
		t.Errorf("constant image: %+v", w)
	}
}

// TestAutoWindowMNI checks the automatic window on the real MNI head: it
// must leave the background black, not saturate most of the head, and sit
// inside the data range.
func TestAutoWindowMNI(t *testing.T) {
	vol := mniHead(t)
	wl := AutoWindow(vol, nil)
	lo, hi := wl.Range()
	dmin, dmax := vol.Range()
	if !(lo > dmin && hi < dmax && lo < hi) {
		t.Fatalf("auto window [%g, %g] not inside the data range [%g, %g]", lo, hi, dmin, dmax)
	}
	var white, head int
	for _, x := range vol.Data {
		if x != 0 {
			head++
			if wl.Grey(x) == 255 {
				white++
			}
		}
	}
	if frac := float64(white) / float64(head); frac > 0.01 {
		t.Errorf("%.1f %% of the head is saturated white", 100*frac)
	}
}

// overlayScene is a 20 x 20 x 5 RAS grid of grey 500, windowed to grey 128,
// with a 6 x 6 voxel square label on the middle slice, shown with 10 screen
// pixels per voxel.
func overlayScene(t *testing.T) (*volume.Volume, *volume.Label, View) {
	g := codedGrid(t, "RAS", worldBox{n: [3]int{20, 20, 5}, sp: [3]float64{1, 1, 1}})
	vol := volume.New(g)
	for i := range vol.Data {
		vol.Data[i] = 500
	}
	lab := volume.NewLabel(g)
	for j := 7; j < 13; j++ {
		for i := 7; i < 13; i++ {
			lab.Set(i, j, 2, 1)
		}
	}
	v := View{Plane: Axial, Cursor: [3]int{0, 0, 2}, Zoom: 1, WL: FromRange(0, 1000), Interp: Nearest}
	return vol, lab, v
}

func TestOverlayFilledExactColours(t *testing.T) {
	vol, lab, v := overlayScene(t)
	grey := color.NRGBA{R: 128, G: 128, B: 128, A: 255}
	red := color.NRGBA{R: 255, G: 40, B: 40, A: 255}
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))

	Render(img, vol, []Overlay{{Label: lab, Color: red, Opacity: 1, Visible: true}}, v)
	// Voxel (7..12, 7..12) -> screen columns 70..129 (x flipped: radiological
	// puts i = 12 at column 70) and rows 70..129 (y flipped: anterior up).
	for _, p := range []image.Point{{70, 70}, {100, 100}, {129, 129}} {
		if got := nrgbaAt(img, p.X, p.Y); got != red {
			t.Errorf("filled, opacity 1: pixel %v = %v, want %v", p, got, red)
		}
	}
	for _, p := range []image.Point{{69, 100}, {130, 100}, {100, 69}, {100, 130}, {5, 5}} {
		if got := nrgbaAt(img, p.X, p.Y); got != grey {
			t.Errorf("filled: pixel %v outside the label = %v, want %v", p, got, grey)
		}
	}
	if n := countColour(img, red); n != 60*60 {
		t.Errorf("filled: %d red pixels, want 3600", n)
	}

	// Half opacity: the grey and the colour mixed equally (to within one
	// level of integer rounding).
	Render(img, vol, []Overlay{{Label: lab, Color: red, Opacity: 0.5, Visible: true}}, v)
	got := nrgbaAt(img, 100, 100)
	want := [3]float64{(128 + 255) / 2.0, (128 + 40) / 2.0, (128 + 40) / 2.0}
	for c, g := range [3]uint8{got.R, got.G, got.B} {
		if math.Abs(float64(g)-want[c]) > 1 {
			t.Errorf("opacity 0.5: pixel = %v, want about %v", got, want)
		}
	}
	// The colour's own alpha multiplies the opacity.
	Render(img, vol, []Overlay{{Label: lab, Color: color.NRGBA{R: 255, A: 128}, Opacity: 1, Visible: true}}, v)
	if got := nrgbaAt(img, 100, 100); math.Abs(float64(got.R)-191.5) > 1 || math.Abs(float64(got.G)-64) > 1 {
		t.Errorf("colour alpha 128: pixel = %v, want about (191, 64, 64)", got)
	}

	// Hidden or transparent overlays change nothing.
	for _, o := range []Overlay{
		{Label: lab, Color: red, Opacity: 1, Visible: false},
		{Label: lab, Color: red, Opacity: 0, Visible: true},
	} {
		Render(img, vol, []Overlay{o}, v)
		if n := countColour(img, grey); n != 200*200 {
			t.Errorf("overlay %+v changed %d pixels", o, 200*200-n)
		}
	}

	// Later overlays are drawn on top; a palette colours label values.
	lab2 := lab.Clone()
	for i := range lab2.Data {
		if lab2.Data[i] != 0 {
			lab2.Data[i] = 3
		}
	}
	blue := color.NRGBA{R: 0, G: 0, B: 255, A: 255}
	Render(img, vol, []Overlay{
		{Label: lab, Color: red, Opacity: 1, Visible: true},
		{Label: lab2, Color: red, Palette: []color.NRGBA{{}, {}, {}, blue}, Opacity: 1, Visible: true},
	}, v)
	if got := nrgbaAt(img, 100, 100); got != blue {
		t.Errorf("top overlay with palette: %v, want %v", got, blue)
	}

	// An overlay on another grid is skipped, and Validate says why.
	other := volume.NewLabel(volume.Grid{Dims: [3]int{3, 3, 3}, Affine: volume.Identity()})
	other.Data[13] = 1
	o := Overlay{Name: "reader B", Label: other, Color: red, Opacity: 1, Visible: true}
	Render(img, vol, []Overlay{o}, v)
	if n := countColour(img, grey); n != 200*200 {
		t.Errorf("mismatched overlay drew %d pixels", 200*200-n)
	}
	if err := o.Validate(vol.Grid); err == nil {
		t.Error("Validate accepted an overlay on another grid")
	}
	if err := (Overlay{Label: lab, Opacity: 1.5}).Validate(vol.Grid); err == nil {
		t.Error("Validate accepted opacity 1.5")
	}
	if err := (Overlay{Label: lab, Prob: vol, Opacity: 1}).Validate(vol.Grid); err == nil {
		t.Error("Validate accepted both a label and a probability map")
	}
	if err := (Overlay{Label: lab, Opacity: 1}).Validate(vol.Grid); err != nil {
		t.Errorf("Validate refused a good overlay: %v", err)
	}
}

// TestOverlayOutline: an outlined 6 x 6 voxel square at 10 pixels per voxel
// is a one-pixel ring on the square's edge: 4*60 - 4 pixels, the inside
// keeping the image.
func TestOverlayOutline(t *testing.T) {
	vol, lab, v := overlayScene(t)
	grey := color.NRGBA{R: 128, G: 128, B: 128, A: 255}
	red := color.NRGBA{R: 255, A: 255}
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	Render(img, vol, []Overlay{{Label: lab, Color: red, Opacity: 1, Visible: true, Outline: true}}, v)
	if n := countColour(img, red); n != 4*60-4 {
		t.Errorf("outline has %d pixels, want %d", n, 4*60-4)
	}
	for _, p := range []image.Point{{70, 70}, {70, 100}, {129, 100}, {100, 129}, {129, 129}} {
		if got := nrgbaAt(img, p.X, p.Y); got != red {
			t.Errorf("outline pixel %v = %v, want %v", p, got, red)
		}
	}
	for _, p := range []image.Point{{71, 71}, {100, 100}, {128, 128}, {69, 100}, {130, 100}} {
		if got := nrgbaAt(img, p.X, p.Y); got != grey {
			t.Errorf("pixel %v off the outline = %v, want %v", p, got, grey)
		}
	}
	// A label touching the edge of the image is outlined along that edge
	// too; zoomed in so that the label fills the view, nothing is drawn
	// along the screen's edge.
	full := volume.NewLabel(lab.Grid)
	for i := range full.Data {
		full.Data[i] = 1
	}
	Render(img, vol, []Overlay{{Label: full, Color: red, Opacity: 1, Visible: true, Outline: true}}, v)
	if n := countColour(img, red); n != 4*200-4 {
		t.Errorf("outline of a label filling the image: %d pixels, want %d", n, 4*200-4)
	}
	zv := v
	zv.Zoom = 4
	Render(img, vol, []Overlay{{Label: full, Color: red, Opacity: 1, Visible: true, Outline: true}}, zv)
	if n := countColour(img, red); n != 0 {
		t.Errorf("zoomed into a full label: %d outline pixels at the screen edge", n)
	}
}

func TestProbabilityOverlay(t *testing.T) {
	vol, lab, v := overlayScene(t)
	prob := volume.New(lab.Grid)
	for j := 0; j < 20; j++ {
		for i := 0; i < 20; i++ {
			prob.Set(i, j, 2, float32(i)/19) // 0 at patient right (screen right in radiological)
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	Render(img, vol, []Overlay{{Prob: prob, Colormap: RedYellow, Threshold: 0.5, Opacity: 1, Visible: true}}, v)
	// i = 19 (p = 1) is drawn at screen columns 0..9: yellow.
	if got := nrgbaAt(img, 5, 100); got != (color.NRGBA{R: 255, G: 255, A: 255}) {
		t.Errorf("p = 1: %v, want yellow", got)
	}
	// i = 0 (p = 0, below threshold) at columns 190..199: the image.
	if got := nrgbaAt(img, 195, 100); got != (color.NRGBA{R: 128, G: 128, B: 128, A: 255}) {
		t.Errorf("p = 0 below threshold: %v, want grey", got)
	}
	// i = 10 (p = 0.526) at columns 90..99: red with some green.
	if got := nrgbaAt(img, 95, 100); got.R != 255 || got.B != 0 || math.Abs(float64(got.G)-255*10.0/19) > 1 {
		t.Errorf("p = 0.53: %v, want (255, 134, 0)", got)
	}
	// Without a threshold, zero (background) is still not drawn.
	Render(img, vol, []Overlay{{Prob: prob, Colormap: Jet, Opacity: 1, Visible: true}}, v)
	if got := nrgbaAt(img, 195, 100); got != (color.NRGBA{R: 128, G: 128, B: 128, A: 255}) {
		t.Errorf("p = 0 without threshold: %v, want grey", got)
	}
	if got := nrgbaAt(img, 185, 100); got == (color.NRGBA{R: 128, G: 128, B: 128, A: 255}) {
		t.Errorf("p = 1/19 without threshold not drawn")
	}
	if c := Jet.At(0); c.B < 128 || c.R != 0 {
		t.Errorf("jet at 0 = %v, want blue", c)
	}
	if c := Jet.At(1); c.R < 128 || c.B != 0 {
		t.Errorf("jet at 1 = %v, want red", c)
	}
}

func TestCrosshair(t *testing.T) {
	vol, _, v := overlayScene(t)
	v.Cursor = [3]int{5, 15, 2}
	v.Crosshair = Crosshair{Visible: true, Color: color.NRGBA{G: 255, A: 255}, Gap: 3}
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	Render(img, vol, nil, v)
	// Voxel (5, 15): x flipped -> column block 140..149, centre 145; y
	// flipped -> row block 40..49, centre 45.
	green := color.NRGBA{G: 255, A: 255}
	for y := 0; y < 200; y++ {
		want := y < 42 || y > 48
		if got := nrgbaAt(img, 145, y) == green; got != want {
			t.Fatalf("crosshair column 145, row %d: drawn %v, want %v", y, got, want)
		}
	}
	for x := 0; x < 200; x++ {
		want := x < 142 || x > 148
		if got := nrgbaAt(img, x, 45) == green; got != want {
			t.Fatalf("crosshair row 45, column %d: drawn %v, want %v", x, got, want)
		}
	}
	if n := countColour(img, green); n != 2*(200-7) {
		t.Errorf("crosshair has %d pixels, want %d", n, 2*(200-7))
	}
	// The cursor marks the voxel the mapping reports under that point.
	m := NewMapping(vol.Grid, v, 200, 200)
	if vox, _ := m.ScreenToVoxel(145.5, 45.5); vox != v.Cursor {
		t.Errorf("voxel under the crosshair centre is %v, want %v", vox, v.Cursor)
	}
}

func TestRenderWithoutVolume(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 10, 10))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	Render(img, nil, nil, View{})
	if n := countColour(img, color.NRGBA{A: 255}); n != 100 {
		t.Errorf("no volume: %d of 100 pixels black", n)
	}
	Render(image.NewRGBA(image.Rect(0, 0, 0, 0)), nil, nil, View{}) // must not panic
}

func countColour(img *image.RGBA, c color.NRGBA) int {
	n := 0
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			if nrgbaAt(img, x, y) == c {
				n++
			}
		}
	}
	return n
}

// TestBrushOutline: the brush preview is a one-pixel circle of the radius in
// mm around its centre, round on screen even for anisotropic voxels.
func TestBrushOutline(t *testing.T) {
	vol, _, v := overlayScene(t)
	c := color.NRGBA{R: 255, G: 255, A: 255}
	v.Brush = BrushPreview{Visible: true, Centre: [3]float64{10, 10, 2}, RadiusMM: 3, Color: c}
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	Render(img, vol, nil, v)
	// Voxel 10 is drawn on pixels 90..99 (flipped axes), centre 95; 3 mm is
	// 30 pixels.
	n := 0
	for y := 0; y < 200; y++ {
		for x := 0; x < 200; x++ {
			if nrgbaAt(img, x, y) != c {
				continue
			}
			n++
			if d := math.Hypot(float64(x)+0.5-95, float64(y)+0.5-95); math.Abs(d-30) > 1.5 {
				t.Fatalf("brush pixel (%d, %d) is %.1f from the centre, want 30", x, y, d)
			}
		}
	}
	if n < 150 || n > 260 {
		t.Errorf("brush outline has %d pixels, want about 2*pi*30", n)
	}
	// Anisotropic voxels (1 x 3 mm on screen): still a circle in mm.
	g := codedGrid(t, "RAS", worldBox{n: [3]int{20, 20, 10}, sp: [3]float64{1, 1, 3}})
	cv := View{Plane: Coronal, Cursor: [3]int{10, 10, 5}, Zoom: 1, WL: FromRange(0, 1), Interp: Nearest,
		Brush: BrushPreview{Visible: true, Centre: [3]float64{10, 10, 5}, RadiusMM: 6, Color: c}}
	Render(img, volume.New(g), nil, cv)
	w, h := colourExtent(img, c)
	if math.Abs(float64(w-h)) > 1 {
		t.Errorf("brush on 1 x 3 mm voxels is %d x %d pixels, want a circle", w, h)
	}
}

func colourExtent(img *image.RGBA, c color.NRGBA) (w, h int) {
	minX, minY, maxX, maxY := 1<<30, 1<<30, -1, -1
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			if nrgbaAt(img, x, y) == c {
				minX, maxX = min(minX, x), max(maxX, x)
				minY, maxY = min(minY, y), max(maxY, y)
			}
		}
	}
	if maxX < 0 {
		return 0, 0
	}
	return maxX - minX + 1, maxY - minY + 1
}

// TestRenderParallelRows checks views big enough to be split over several
// workers (each with its own row caches) against the slow reference.
func TestRenderParallelRows(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	g := codedGrid(t, "LPS", testBox)
	vol, sphere, cube, _ := phantomVolume(t, g)
	overlays := []Overlay{
		{Label: cube, Color: LayerColors[1], Opacity: 0.5, Visible: true},
		{Label: sphere, Color: LayerColors[0], Opacity: 1, Visible: true, Outline: true},
	}
	cursor := voxelOf(t, g, testBox, [3]int{15, 20, 12})
	const w, h = 410, 307
	if w*h < minParallelPixels {
		t.Fatal("test view too small to be split")
	}
	var r Renderer
	for _, p := range Planes {
		for _, interp := range []Interpolation{Linear, Nearest} {
			v := View{Plane: p, Cursor: cursor, Zoom: 1.3, Pan: [2]float64{2, -3}, WL: FromRange(200, 900), Interp: interp}
			got := image.NewRGBA(image.Rect(0, 0, w, h))
			r.Render(got, vol, overlays, v)
			want := slowRender(w, h, vol, overlays, v)
			if d, x, y := maxDiff(got, want); d > 1 {
				t.Fatalf("%v %v: pixel (%d, %d) is %v, reference %v", p, interp, x, y, got.RGBAAt(x, y), want.RGBAAt(x, y))
			}
		}
	}
}

// TestRenderSeesEdits: a Renderer reused across frames shows labels painted
// and intensities changed in place between them (its row caches live for
// one frame only).
func TestRenderSeesEdits(t *testing.T) {
	vol, lab, v := overlayScene(t)
	red := color.NRGBA{R: 255, A: 255}
	overlays := []Overlay{{Label: lab, Color: red, Opacity: 1, Visible: true}}
	var r Renderer
	for _, interp := range []Interpolation{Nearest, Linear} {
		v.Interp = interp
		img := image.NewRGBA(image.Rect(0, 0, 200, 200))
		r.Render(img, vol, overlays, v)
		before := countColour(img, red)
		lab.Set(2, 2, 2, 1) // a voxel far from the square: a row that had no labels
		vol.Set(17, 17, 2, 1000)
		r.Render(img, vol, overlays, v)
		if got := countColour(img, red); got != before+100 {
			t.Errorf("%v: %d red pixels after painting one voxel, want %d", interp, got, before+100)
		}
		// Voxel (17, 17) is drawn at pixels 20..29 (both axes flipped).
		// (Linear blends the pixel centre, 0.05 voxel off the voxel's, a
		// little with the grey neighbours.)
		if c := nrgbaAt(img, 25, 25); c.R < 240 || c.G < 240 {
			t.Errorf("%v: brightened voxel drawn %v, want white", interp, c)
		}
		lab.Set(2, 2, 2, 0)
		vol.Set(17, 17, 2, 500)
	}
}

// TestRenderSeesEditsZoomed: zoomed so far that every screen row shows the
// same voxel row, a frame must still not reuse the last frame's rows.
func TestRenderSeesEditsZoomed(t *testing.T) {
	vol, lab, v := overlayScene(t)
	red := color.NRGBA{R: 255, A: 255}
	overlays := []Overlay{{Label: lab, Color: red, Opacity: 1, Visible: true}}
	v = CentreOn(v, vol.Grid, 200, 200, [3]int{3, 3, 2})
	v = ZoomAt(v, vol.Grid, 200, 200, 100, 100, 40) // 400 pixels per voxel
	var r Renderer
	for _, interp := range []Interpolation{Nearest, Linear} {
		v.Interp = interp
		img := image.NewRGBA(image.Rect(0, 0, 200, 200))
		r.Render(img, vol, overlays, v)
		if n := countColour(img, red); n != 0 {
			t.Fatalf("%v: %d red pixels before painting", interp, n)
		}
		lab.Set(3, 3, 2, 1)
		vol.Set(3, 3, 2, 0)
		r.Render(img, vol, overlays, v)
		if n := countColour(img, red); n != 200*200 {
			t.Errorf("%v: %d of %d pixels red after painting the voxel filling the view", interp, n, 200*200)
		}
		lab.Set(3, 3, 2, 0)
		r.Render(img, vol, nil, v)
		if c := nrgbaAt(img, 100, 100); c.R > 10 {
			t.Errorf("%v: voxel set to 0 drawn %v, want black", interp, c)
		}
		vol.Set(3, 3, 2, 500)
	}
}

package viewer

import (
	"flag"
	"image"
	"image/draw"
	"math"
	"testing"

	"metascope/phantom"
	"metascope/volume"
)

var phantomMontage = flag.String("phantom-montage", "", "write the four sequences of a full-size phantom case in three planes to this PNG file, to look at")

// phantomScene generates a case, resamples its four sequences into the T1c
// grid as the application does on load, and puts the cursor at the centre
// of its largest lesion.
func phantomScene(t *testing.T, size phantom.Size, seed int64) (*phantom.Case, [4]*volume.Volume, [3]int) {
	opts := phantom.DefaultOptions(size)
	opts.Seed = seed
	c, err := phantom.Generate(opts)
	if err != nil {
		t.Fatal(err)
	}
	ref := c.Images[volume.T1c].Grid
	var seqs [4]*volume.Volume
	for s, img := range c.Images {
		seqs[s] = volume.ResampleTransformed(img, ref, c.WorldToSequence[s], volume.Linear)
	}
	big := c.Lesions[0]
	for _, l := range c.Lesions {
		if l.VolumeCM3 > big.VolumeCM3 {
			big = l
		}
	}
	p, err := ref.WorldToVoxel(big.CentreRAS)
	if err != nil {
		t.Fatal(err)
	}
	return c, seqs, [3]int{int(math.Round(p[0])), int(math.Round(p[1])), int(math.Round(p[2]))}
}

// TestPhantomLesionUnderCrosshair: on a synthetic case (its sequences
// resampled into the T1c grid), the ground-truth outline of the largest
// lesion is drawn around the cursor in all three planes of the T1c.
func TestPhantomLesionUnderCrosshair(t *testing.T) {
	c, seqs, cursor := phantomScene(t, phantom.Small, 7)
	t1c := seqs[volume.T1c]
	if c.Label.At(cursor[0], cursor[1], cursor[2]) == 0 {
		t.Skip("the largest lesion's centre is not labelled (a ring lesion)")
	}
	wl := AutoWindow(t1c, c.BrainMask)
	red := LayerColors[0]
	overlays := []Overlay{{Name: "truth", Label: c.Label, Color: red, Opacity: 1, Visible: true, Outline: true}}
	for _, p := range Planes {
		v := DefaultView(p, t1c.Grid, wl)
		v.Cursor = cursor
		v.Crosshair.Visible = false
		img := image.NewRGBA(image.Rect(0, 0, 200, 200))
		Render(img, t1c, overlays, v)
		m := NewMapping(t1c.Grid, v, 200, 200)
		cx, cy := m.VoxelToScreen(toF(cursor))
		// The outline surrounds the cursor: red pixels lie on both sides of
		// it horizontally and vertically.
		var left, right, up, down bool
		for y := 0; y < 200; y++ {
			for x := 0; x < 200; x++ {
				if nrgbaAt(img, x, y) != red {
					continue
				}
				near := math.Abs(float64(y)+0.5-cy) < 2
				left = left || (near && float64(x) < cx)
				right = right || (near && float64(x) > cx)
				nearX := math.Abs(float64(x)+0.5-cx) < 2
				up = up || (nearX && float64(y) < cy)
				down = down || (nearX && float64(y) > cy)
			}
		}
		if !(left && right && up && down) {
			t.Errorf("%v: the lesion outline does not surround the cursor (left %v right %v up %v down %v)", p, left, right, up, down)
		}
	}
}

// TestPhantomMontage writes a picture of a full-size case to look at when
// asked for (-phantom-montage file.png): rows are T1, T2, T1c and FLAIR,
// columns the three planes through the largest lesion, truth outlined.
func TestPhantomMontage(t *testing.T) {
	if *phantomMontage == "" {
		t.Skip("no -phantom-montage file given")
	}
	c, seqs, cursor := phantomScene(t, phantom.Full, 11)
	const s = 300
	out := image.NewRGBA(image.Rect(0, 0, 3*s, 4*s))
	overlays := []Overlay{{Name: "truth", Label: c.Label, Color: LayerColors[0], Opacity: 1, Visible: true, Outline: true}}
	var r Renderer
	for row, img := range seqs {
		wl := AutoWindow(img, c.BrainMask)
		for col, p := range Planes {
			v := DefaultView(p, img.Grid, wl)
			v.Cursor = cursor
			tile := out.SubImage(image.Rect(col*s, row*s, (col+1)*s, (row+1)*s)).(*image.RGBA)
			r.Render(tile, img, overlays, v)
		}
	}
	for _, y := range []int{s, 2 * s, 3 * s} {
		draw.Draw(out, image.Rect(0, y, 3*s, y+1), image.White, image.Point{}, draw.Src)
	}
	for _, x := range []int{s, 2 * s} {
		draw.Draw(out, image.Rect(x, 0, x+1, 4*s), image.White, image.Point{}, draw.Src)
	}
	writePNG(t, *phantomMontage, out)
	t.Logf("wrote %s (lesions: %d)", *phantomMontage, len(c.Lesions))
}

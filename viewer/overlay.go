package viewer

import (
	"fmt"
	"image/color"
	"math"

	"metascope/volume"
)

// Overlay is one layer drawn over the image: a label map (a reader's labels,
// the consensus, AI candidates) or a probability map through a colour map.
// Overlays are drawn in order, later ones on top; two label overlays of
// different colours show where readers disagree.
type Overlay struct {
	Name string
	// Label, when set, draws every non-zero voxel in Color, or in
	// Palette[value] for values within the palette.
	Label   *volume.Label
	Palette []color.NRGBA
	// Prob, when set instead of Label, draws values in (0, 1] through
	// Colormap; zero (background) and values below Threshold are not drawn.
	Prob      *volume.Volume
	Colormap  Colormap
	Threshold float32

	Color color.NRGBA
	// Opacity scales the colour's alpha: 0 is invisible, 1 opaque.
	Opacity float64
	Visible bool
	// Outline draws only the boundary of each labelled region, one screen
	// pixel wide at any zoom, so that the image under it stays readable.
	Outline bool
}

// Validate reports whether the overlay can be drawn over an image on grid g:
// exactly one of Label and Prob, on the same dimensions with a data slice of
// the right length, and an opacity in [0, 1]. Render skips overlays that fail
// the size checks rather than reading out of bounds.
func (o Overlay) Validate(g volume.Grid) error {
	name := o.Name
	if name == "" {
		name = "overlay"
	}
	switch {
	case o.Label == nil && o.Prob == nil:
		return fmt.Errorf("%s: neither a label map nor a probability map", name)
	case o.Label != nil && o.Prob != nil:
		return fmt.Errorf("%s: both a label map and a probability map; set one", name)
	case !(o.Opacity >= 0 && o.Opacity <= 1):
		return fmt.Errorf("%s: opacity %g is outside [0, 1]", name, o.Opacity)
	}
	if !o.fits(g) {
		return fmt.Errorf("%s: grid %v does not match the image grid %v (resample it first)", name, o.dims(), g.Dims)
	}
	return nil
}

func (o Overlay) dims() [3]int {
	if o.Label != nil {
		return o.Label.Dims
	}
	if o.Prob != nil {
		return o.Prob.Dims
	}
	return [3]int{}
}

// fits is the cheap check Render makes before reading an overlay's data.
func (o Overlay) fits(g volume.Grid) bool {
	switch {
	case o.Label != nil:
		return o.Label.Dims == g.Dims && len(o.Label.Data) == g.Len()
	case o.Prob != nil:
		return o.Prob.Dims == g.Dims && len(o.Prob.Data) == g.Len()
	}
	return false
}

// Colormap maps a value in [0, 1] to a colour.
type Colormap int

const (
	// RedYellow runs from red at 0 to yellow at 1, as statistical maps are
	// shown in FSL: bright on grey anatomy at every value.
	RedYellow Colormap = iota
	// Jet runs from blue through cyan, green and yellow to red.
	Jet
)

func (c Colormap) String() string {
	switch c {
	case RedYellow:
		return "red-yellow"
	case Jet:
		return "jet"
	}
	return fmt.Sprintf("colormap(%d)", int(c))
}

// At returns the colour of value t (clamped to [0, 1]), opaque.
func (c Colormap) At(t float64) color.NRGBA {
	t = math.Max(0, math.Min(1, t))
	ch := func(x float64) uint8 { return uint8(math.Round(255 * math.Max(0, math.Min(1, x)))) }
	switch c {
	case Jet:
		return color.NRGBA{
			R: ch(1.5 - math.Abs(4*t-3)),
			G: ch(1.5 - math.Abs(4*t-2)),
			B: ch(1.5 - math.Abs(4*t-1)),
			A: 255,
		}
	default: // RedYellow
		return color.NRGBA{R: 255, G: ch(t), B: 0, A: 255}
	}
}

// LayerColors are distinct colours for label layers, in the order an
// application may hand them out (red, green, yellow, blue, magenta, cyan).
var LayerColors = []color.NRGBA{
	{R: 255, G: 40, B: 40, A: 255},
	{R: 40, G: 220, B: 60, A: 255},
	{R: 255, G: 220, B: 0, A: 255},
	{R: 60, G: 120, B: 255, A: 255},
	{R: 255, G: 60, B: 255, A: 255},
	{R: 0, G: 230, B: 230, A: 255},
}

// blendLUT holds, for each label value (or quantised probability), the
// colour premultiplied by its alpha and the remaining weight of the pixel
// below, both on a 0..256 scale: out = (below*keep + add) >> 8. An alpha of
// 256 replaces the pixel exactly.
type blendLUT struct {
	keep [256]uint32
	add  [256][3]uint32
}

func (l *blendLUT) set(i int, c color.NRGBA, opacity float64) {
	a := uint32(math.Round(float64(c.A) / 255 * opacity * 256))
	l.keep[i] = 256 - a
	// The 128 rounds the final shift to nearest instead of truncating, so
	// stacked overlays do not drift darker.
	l.add[i] = [3]uint32{uint32(c.R)*a + 128, uint32(c.G)*a + 128, uint32(c.B)*a + 128}
}

// build fills the table for overlay o; it reports false when nothing of the
// overlay can show (hidden, transparent, or no data).
func (l *blendLUT) build(o *Overlay) bool {
	if !o.Visible || !(o.Opacity > 0) {
		return false
	}
	op := math.Min(o.Opacity, 1)
	switch {
	case o.Label != nil:
		l.keep[0], l.add[0] = 256, [3]uint32{}
		for v := 1; v < 256; v++ {
			c := o.Color
			if v < len(o.Palette) {
				c = o.Palette[v]
			}
			l.set(v, c, op)
		}
	case o.Prob != nil:
		for v := 0; v < 256; v++ {
			l.set(v, o.Colormap.At(float64(v)/255), op)
		}
	default:
		return false
	}
	return true
}

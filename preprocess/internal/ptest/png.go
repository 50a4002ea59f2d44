package ptest

import (
	"image"
	"image/color"
	"image/png"
	"os"

	"metascope/preprocess/internal/imgops"
	"metascope/volume"
)

// SaveOverlay writes a PNG of three orthogonal slices through (ci, cj, ck)
// of v (grey, windowed at the 1st..99th percentile) with mask drawn in
// translucent red and its boundary in yellow, for a person to look at.
func SaveOverlay(path string, v *volume.Volume, mask []bool, centre [3]int) error {
	ps, err := imgops.Percentiles(v.Data, nil, []float64{1, 99.5}, 200000)
	if err != nil {
		return err
	}
	lo, hi := ps[0], ps[1]
	d := v.Dims
	// Panels: axial (i, j at k), coronal (i, k at j), sagittal (j, k at i).
	type panel struct {
		w, h int
		at   func(x, y int) int
	}
	panels := []panel{
		{d[0], d[1], func(x, y int) int { return v.Index(x, d[1]-1-y, centre[2]) }},
		{d[0], d[2], func(x, y int) int { return v.Index(x, centre[1], d[2]-1-y) }},
		{d[1], d[2], func(x, y int) int { return v.Index(centre[0], x, d[2]-1-y) }},
	}
	W, H := 0, 0
	for _, p := range panels {
		W += p.w
		H = max(H, p.h)
	}
	// Small volumes are drawn larger so a person can see them.
	z := max(1, 400/max(H, 1))
	img := image.NewRGBA(image.Rect(0, 0, W*z, H*z))
	ox := 0
	for _, p := range panels {
		for y := 0; y < p.h; y++ {
			for x := 0; x < p.w; x++ {
				idx := p.at(x, y)
				g := (float64(v.Data[idx]) - lo) / (hi - lo)
				g = max(0, min(1, g)) * 255
				c := color.RGBA{uint8(g), uint8(g), uint8(g), 255}
				if mask != nil && mask[idx] {
					edge := false
					for _, q := range [][2]int{{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}} {
						if q[0] < 0 || q[1] < 0 || q[0] >= p.w || q[1] >= p.h || !mask[p.at(q[0], q[1])] {
							edge = true
						}
					}
					if edge {
						c = color.RGBA{255, 230, 0, 255}
					} else {
						c.R = uint8(0.6*float64(c.R) + 0.4*255)
					}
				}
				for yy := 0; yy < z; yy++ {
					for xx := 0; xx < z; xx++ {
						img.Set((ox+x)*z+xx, y*z+yy, c)
					}
				}
			}
		}
		ox += p.w
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

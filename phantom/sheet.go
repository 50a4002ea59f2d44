package phantom

import (
	"image"
	"image/color"
	"math"
	"sort"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"metascope/volume"
)

// SheetPixelMM is the sampling distance of the contact sheet's tiles.
const SheetPixelMM = 1.0

// RenderContactSheet draws the four sequences (rows T1, T2, T1c, FLAIR) in
// three planes (axial, coronal, sagittal) through the centre of the largest
// lesion (or the middle of the T1c when there is none), in radiological
// orientation, with the ground-truth outline in red (drawn just outside the
// label). Every tile samples its
// sequence at the T1c plane's points through the true misalignment, so all
// tiles show the same anatomy and the outline fits all of them.
func RenderContactSheet(c *Case) *image.RGBA {
	g := c.Label.Grid
	centre := g.Affine.Apply([3]float64{float64(g.Dims[0]-1) / 2, float64(g.Dims[1]-1) / 2, float64(g.Dims[2]-1) / 2})
	best := -1.0
	for _, l := range c.Lesions {
		if l.VolumeCM3 > best {
			best, centre = l.VolumeCM3, l.CentreRAS
		}
	}
	return RenderContactSheetAt(c, centre)
}

// RenderContactSheetAt is RenderContactSheet with the three planes through
// the given T1c world point (RAS mm).
func RenderContactSheetAt(c *Case, centre [3]float64) *image.RGBA {
	g := c.Label.Grid
	// Extents of the T1c box in world mm.
	lo := g.Affine.Apply([3]float64{0, 0, 0})
	hi := g.Affine.Apply([3]float64{float64(g.Dims[0] - 1), float64(g.Dims[1] - 1), float64(g.Dims[2] - 1)})
	for a := 0; a < 3; a++ {
		if lo[a] > hi[a] {
			lo[a], hi[a] = hi[a], lo[a]
		}
	}
	n := [3]int{}
	for a := 0; a < 3; a++ {
		n[a] = int((hi[a]-lo[a])/SheetPixelMM) + 1
	}
	// planes: screen column axis, screen row axis, fixed axis; columns run
	// from high to low world x (patient right on screen left) or from
	// anterior to posterior (sagittal); rows from superior/anterior down.
	type plane struct{ col, row, fixed int }
	planes := []plane{{0, 1, 2}, {0, 2, 1}, {1, 2, 0}}
	const margin, header = 4, 14
	tileW := [3]int{n[0], n[0], n[1]}
	tileH := [3]int{n[1], n[2], n[2]}
	width := margin
	for _, w := range tileW {
		width += w + margin
	}
	rowH := max(tileH[0], tileH[1], tileH[2]) + header + margin
	img := image.NewRGBA(image.Rect(0, 0, width, margin+4*rowH))
	for i := range img.Pix {
		img.Pix[i] = 0
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	labelAt := func(p [3]float64) bool {
		v, err := g.WorldToVoxel(p)
		if err != nil {
			return false
		}
		i, j, k := int(math.Floor(v[0]+0.5)), int(math.Floor(v[1]+0.5)), int(math.Floor(v[2]+0.5))
		return g.Contains(i, j, k) && c.Label.Data[g.Index(i, j, k)] != 0
	}
	planeTitles := []string{"axial", "coronal", "sagittal"}
	for row, s := range volume.Sequences {
		im := c.Images[s]
		inv, err := im.Affine.Inverse()
		if err != nil {
			continue
		}
		toVox := inv.Mul(c.WorldToSequence[s])
		// Tiles first, then one window for the row from their values.
		tiles := make([][]float32, 3)
		var vals []float32
		for pi, pl := range planes {
			w, h := tileW[pi], tileH[pi]
			t := make([]float32, w*h)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					var p [3]float64
					p[pl.fixed] = centre[pl.fixed]
					if pl.col == 0 {
						p[0] = hi[0] - float64(x)*SheetPixelMM
					} else {
						p[pl.col] = hi[pl.col] - float64(x)*SheetPixelMM
					}
					p[pl.row] = hi[pl.row] - float64(y)*SheetPixelMM
					v := toVox.Apply(p)
					t[y*w+x] = im.Sample(v[0], v[1], v[2])
				}
			}
			tiles[pi] = t
			vals = append(vals, t...)
		}
		sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
		top := vals[int(float64(len(vals)-1)*0.995)]
		if top <= 0 {
			top = 1
		}
		y0 := margin + row*rowH
		x0 := margin
		for pi, pl := range planes {
			w, h := tileW[pi], tileH[pi]
			drawText(img, x0, y0+11, s.Title()+" "+planeTitles[pi])
			oy := y0 + header
			mask := make([]bool, w*h)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					var p [3]float64
					p[pl.fixed] = centre[pl.fixed]
					p[pl.col] = hi[pl.col] - float64(x)*SheetPixelMM
					p[pl.row] = hi[pl.row] - float64(y)*SheetPixelMM
					mask[y*w+x] = labelAt(p)
					v := tiles[pi][y*w+x] / top * 255
					b := uint8(math.Max(0, math.Min(255, float64(v))))
					img.SetRGBA(x0+x, oy+y, color.RGBA{b, b, b, 255})
				}
			}
			// The outline is drawn just outside the label so that the
			// lesion's own edge (an enhancing rim) stays visible.
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					if mask[y*w+x] {
						continue
					}
					edge := (x > 0 && mask[y*w+x-1]) || (x < w-1 && mask[y*w+x+1]) ||
						(y > 0 && mask[(y-1)*w+x]) || (y < h-1 && mask[(y+1)*w+x])
					if edge {
						img.SetRGBA(x0+x, oy+y, color.RGBA{255, 40, 40, 255})
					}
				}
			}
			x0 += w + margin
		}
	}
	return img
}

func drawText(img *image.RGBA, x, y int, s string) {
	d := &font.Drawer{Dst: img, Src: image.NewUniform(color.RGBA{255, 220, 80, 255}),
		Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

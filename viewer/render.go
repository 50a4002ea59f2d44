package viewer

import (
	"image"
	"math"
	"runtime"
	"sync"

	"metascope/volume"
)

// Render fills dst with view v of vol and its overlays (see Renderer.Render).
// It allocates scratch tables on every call; views that redraw often keep a
// Renderer instead.
func Render(dst *image.RGBA, vol *volume.Volume, overlays []Overlay, v View) {
	var r Renderer
	r.Render(dst, vol, overlays, v)
}

// Renderer draws slice views. It keeps the per-column and per-row lookup
// tables between frames so that a redraw allocates nothing once the view
// size is stable. The zero value is ready to use; a Renderer must not be used
// by two goroutines at once (give each view its own).
type Renderer struct {
	// Nearest-neighbour tables: the data offset of the voxel under each
	// screen column and row (relative to the slice), or -1 outside the
	// image. They have one extra entry on each side of the view so that
	// outlines can look at their off-screen neighbours.
	colN, rowN []int32
	// Bilinear tables: the two voxel offsets to blend and the weight of the
	// second, per column and per row.
	col0, col1, row0, row1 []int32
	colF, rowF             []float32

	luts   []blendLUT
	active []int
}

// minParallelPixels is the view size above which rows are split over CPUs.
const minParallelPixels = 64 * 1024

// Render fills dst (all of dst.Rect) with view v of vol: the slice through
// the cursor in v's plane, windowed to grey, the visible overlays blended on
// top in order, and the crosshair. Pixels outside the image are black. A nil
// vol, or one whose data do not match its grid, gives a black image;
// overlays whose grid does not match vol's are skipped. vol and the overlays
// are only read.
func (r *Renderer) Render(dst *image.RGBA, vol *volume.Volume, overlays []Overlay, v View) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	if w <= 0 || h <= 0 {
		return
	}
	if vol == nil || len(vol.Data) != vol.Len() || vol.Len() == 0 {
		fillBlack(dst)
		return
	}
	m := NewMapping(vol.Grid, v, float64(w), float64(h))
	r.buildTables(m, vol.Dims, w, h)

	r.active = r.active[:0]
	if cap(r.luts) < len(overlays) {
		r.luts = make([]blendLUT, len(overlays))
	}
	r.luts = r.luts[:len(overlays)]
	for i := range overlays {
		if overlays[i].fits(vol.Grid) && r.luts[i].build(&overlays[i]) {
			r.active = append(r.active, i)
		}
	}

	strides := [3]int{1, vol.Dims[0], vol.Dims[0] * vol.Dims[1]}
	sliceOff := m.slice * strides[m.n]
	lo, k := v.WL.coeffs()
	job := rowJob{r: r, dst: dst, data: vol.Data, overlays: overlays, sliceOff: sliceOff, lo: lo, k: k, linear: v.Interp == Linear, w: w}

	workers := runtime.GOMAXPROCS(0)
	if w*h < minParallelPixels || workers < 2 {
		job.rows(0, h)
	} else {
		workers = min(workers, h/16)
		var wg sync.WaitGroup
		chunk := (h + workers - 1) / workers
		for y0 := 0; y0 < h; y0 += chunk {
			wg.Add(1)
			go func(y0, y1 int) {
				defer wg.Done()
				job.rows(y0, y1)
			}(y0, min(y0+chunk, h))
		}
		wg.Wait()
	}
	if v.Crosshair.Visible {
		drawCrosshair(dst, m, v.Cursor, v.Crosshair)
	}
}

// buildTables computes the column and row tables for mapping m. Each entry
// is found from the pixel centre by one multiply-add, so no per-pixel affine
// arithmetic is left for the inner loops.
func (r *Renderer) buildTables(m Mapping, dims [3]int, w, h int) {
	strides := [3]int{1, dims[0], dims[0] * dims[1]}
	r.colN = grow(r.colN, w+2)
	r.rowN = grow(r.rowN, h+2)
	r.col0, r.col1 = grow(r.col0, w), grow(r.col1, w)
	r.row0, r.row1 = grow(r.row0, h), grow(r.row1, h)
	r.colF, r.rowF = growF(r.colF, w), growF(r.rowF, h)
	axisTables(r.colN, r.col0, r.col1, r.colF, m.x0, m.uh, m.nh, m.hFlip, strides[m.h])
	axisTables(r.rowN, r.row0, r.row1, r.rowF, m.y0, m.uv, m.nv, m.vFlip, strides[m.v])
}

// axisTables fills the tables of one screen axis. near has one more entry
// before and after the n screen pixels of the others.
func axisTables(near, i0s, i1s []int32, fs []float32, origin, unit float64, n int, flip bool, stride int) {
	inv := 1 / unit
	toVoxel := func(t int) int32 {
		if flip {
			t = n - 1 - t
		}
		return int32(t * stride)
	}
	for p := range near {
		// Screen-ordered continuous position of this pixel's centre.
		t := (float64(p-1) + 0.5 - origin) * inv
		if t >= 0 && t < float64(n) {
			near[p] = toVoxel(int(t))
		} else {
			near[p] = -1
		}
	}
	for p := range i0s {
		c := (float64(p)+0.5-origin)*inv - 0.5 // voxel centres at integers
		c = math.Max(0, math.Min(float64(n-1), c))
		a := int(c)
		b := min(a+1, n-1)
		i0s[p], i1s[p], fs[p] = toVoxel(a), toVoxel(b), float32(c-float64(a))
	}
}

// rowJob renders rows of one view; several run at once on disjoint rows.
type rowJob struct {
	r        *Renderer
	dst      *image.RGBA
	data     []float32
	overlays []Overlay
	sliceOff int
	lo, k    float32
	linear   bool
	w        int
}

func (j *rowJob) rows(y0, y1 int) {
	r := j.r
	colN := r.colN[1 : j.w+1]
	col0, col1, colF := r.col0[:j.w], r.col1[:j.w], r.colF[:j.w]
	d := j.data
	for y := y0; y < y1; y++ {
		off := j.dst.PixOffset(j.dst.Rect.Min.X, j.dst.Rect.Min.Y+y)
		pix := j.dst.Pix[off : off+4*j.w : off+4*j.w]
		rn := r.rowN[y+1]
		if rn < 0 {
			for i := range pix {
				pix[i] = 0
				if i&3 == 3 {
					pix[i] = 255
				}
			}
			continue
		}
		base := j.sliceOff + int(rn)
		if j.linear {
			b0, b1, fy := j.sliceOff+int(r.row0[y]), j.sliceOff+int(r.row1[y]), r.rowF[y]
			for x, cn := range colN {
				p := pix[4*x : 4*x+4 : 4*x+4]
				if cn < 0 {
					p[0], p[1], p[2], p[3] = 0, 0, 0, 255
					continue
				}
				o0, o1, fx := int(col0[x]), int(col1[x]), colF[x]
				a00, a01 := d[b0+o0], d[b0+o1]
				a10, a11 := d[b1+o0], d[b1+o1]
				top := a00 + (a01-a00)*fx
				bot := a10 + (a11-a10)*fx
				g := greyOf(top+(bot-top)*fy, j.lo, j.k)
				p[0], p[1], p[2], p[3] = g, g, g, 255
			}
		} else {
			for x, cn := range colN {
				p := pix[4*x : 4*x+4 : 4*x+4]
				if cn < 0 {
					p[0], p[1], p[2], p[3] = 0, 0, 0, 255
					continue
				}
				g := greyOf(d[base+int(cn)], j.lo, j.k)
				p[0], p[1], p[2], p[3] = g, g, g, 255
			}
		}
		for _, oi := range r.active {
			j.overlayRow(pix, &j.overlays[oi], &r.luts[oi], base, y)
		}
	}
}

// overlayRow blends one overlay into one row of pixels; base is the data
// offset of the row's voxels.
func (j *rowJob) overlayRow(pix []byte, o *Overlay, lut *blendLUT, base, y int) {
	r := j.r
	colN := r.colN // indexed x+1: entries 0 and w+1 are the off-screen neighbours
	blend := func(x int, i uint8) {
		p := pix[4*x : 4*x+3 : 4*x+3]
		keep, add := lut.keep[i], &lut.add[i]
		p[0] = uint8((uint32(p[0])*keep + add[0]) >> 8)
		p[1] = uint8((uint32(p[1])*keep + add[1]) >> 8)
		p[2] = uint8((uint32(p[2])*keep + add[2]) >> 8)
	}
	if o.Prob != nil {
		pd := o.Prob.Data
		for x := 0; x < j.w; x++ {
			cn := colN[x+1]
			if cn < 0 {
				continue
			}
			pv := pd[base+int(cn)]
			if !(pv >= o.Threshold) || pv != pv {
				continue
			}
			q := pv*255 + 0.5
			var i uint8
			switch {
			case q >= 255:
				i = 255
			case q > 0:
				i = uint8(q)
			}
			blend(x, i)
		}
		return
	}
	ld := o.Label.Data
	if !o.Outline {
		for x := 0; x < j.w; x++ {
			cn := colN[x+1]
			if cn < 0 {
				continue
			}
			if l := ld[base+int(cn)]; l != 0 {
				blend(x, l)
			}
		}
		return
	}
	// Outline: a labelled pixel whose screen neighbour (left, right, above
	// or below) shows a different value, outside the image counting as 0.
	up, down := int(r.rowN[y]), int(r.rowN[y+2])
	at := func(rowOff int, cn int32) uint8 {
		if rowOff < 0 || cn < 0 {
			return 0
		}
		return ld[j.sliceOff+rowOff+int(cn)]
	}
	rowOff := base - j.sliceOff
	for x := 0; x < j.w; x++ {
		cn := colN[x+1]
		if cn < 0 {
			continue
		}
		l := ld[base+int(cn)]
		if l == 0 {
			continue
		}
		if at(rowOff, colN[x]) == l && at(rowOff, colN[x+2]) == l && at(up, cn) == l && at(down, cn) == l {
			continue
		}
		blend(x, l)
	}
}

// drawCrosshair draws the cursor's lines across the whole view, leaving
// c.Gap pixels clear on each side of the cursor.
func drawCrosshair(dst *image.RGBA, m Mapping, cursor [3]int, c Crosshair) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	x, y := m.VoxelToScreen([3]float64{float64(cursor[0]), float64(cursor[1]), float64(cursor[2])})
	cx, cy := math.Floor(x), math.Floor(y)
	if c.Color.A == 0 {
		return
	}
	a := uint32(c.Color.A) + uint32(c.Color.A>>7) // 0..256
	keep := 256 - a
	add := [3]uint32{uint32(c.Color.R)*a + 128, uint32(c.Color.G)*a + 128, uint32(c.Color.B)*a + 128}
	put := func(px, py int) {
		o := dst.PixOffset(dst.Rect.Min.X+px, dst.Rect.Min.Y+py)
		p := dst.Pix[o : o+3 : o+3]
		p[0] = uint8((uint32(p[0])*keep + add[0]) >> 8)
		p[1] = uint8((uint32(p[1])*keep + add[1]) >> 8)
		p[2] = uint8((uint32(p[2])*keep + add[2]) >> 8)
	}
	gap := float64(c.Gap)
	if cx >= 0 && cx < float64(w) {
		for py := 0; py < h; py++ {
			if math.Abs(float64(py)-cy) > gap {
				put(int(cx), py)
			}
		}
	}
	if cy >= 0 && cy < float64(h) {
		for px := 0; px < w; px++ {
			if math.Abs(float64(px)-cx) > gap {
				put(px, int(cy))
			}
		}
	}
}

func fillBlack(dst *image.RGBA) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	for y := 0; y < h; y++ {
		off := dst.PixOffset(dst.Rect.Min.X, dst.Rect.Min.Y+y)
		row := dst.Pix[off : off+4*w]
		for i := range row {
			row[i] = 0
			if i&3 == 3 {
				row[i] = 255
			}
		}
	}
}

func grow(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

func growF(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

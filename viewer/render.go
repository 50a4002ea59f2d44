package viewer

import (
	"encoding/binary"
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
// tables and a row of scratch per CPU between frames, so that a redraw
// allocates nothing but its worker goroutines once the view size is stable.
// The zero value is ready to use; a Renderer must not be used by two
// goroutines at once (give each view its own).
type Renderer struct {
	// Nearest-neighbour tables: the data offset of the voxel under each
	// screen column and row (relative to the slice), or -1 outside the
	// image. They have one extra entry on each side of the view so that
	// outlines can look at their off-screen neighbours.
	colN, rowN []int32
	// colS is the screen-ordered voxel column under each pixel column (-1
	// outside); col0, col1 and colF are the two screen-ordered columns a
	// bilinear sample blends and the weight of the second.
	colS, col0, col1 []int32
	colF             []float32
	// row0, row1 and rowF are the data offsets of the two voxel rows a
	// bilinear sample blends and the weight of the second.
	row0, row1 []int32
	rowF       []float32
	// colOff is the data offset of each screen-ordered voxel column.
	colOff []int32
	// Row scratch, one per worker.
	scratch []rowScratch

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
	cmin, cmax := r.buildTables(m, vol.Dims, w, h)

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

	workers := runtime.GOMAXPROCS(0)
	if w*h < minParallelPixels {
		workers = 1
	}
	workers = max(1, min(workers, h/16))
	for len(r.scratch) < workers {
		r.scratch = append(r.scratch, rowScratch{})
	}
	for i := 0; i < workers; i++ {
		sc := &r.scratch[i]
		for len(sc.labelTag) < len(overlays) {
			sc.labelTag, sc.labelAny = append(sc.labelTag, -1), append(sc.labelAny, false)
		}
		sc.reset(m.nh)
	}

	strides := [3]int{1, vol.Dims[0], vol.Dims[0] * vol.Dims[1]}
	lo, k := v.WL.coeffs()
	job := rowJob{
		r: r, dst: dst, data: vol.Data, overlays: overlays,
		sliceOff: m.slice * strides[m.n], lo: lo, k: k, linear: v.Interp == Linear,
		w: w, cmin: cmin, cmax: cmax,
	}
	if workers == 1 {
		job.rows(0, h, 0)
	} else {
		var wg sync.WaitGroup
		chunk := (h + workers - 1) / workers
		for i := 0; i < workers; i++ {
			y0, y1 := i*chunk, min((i+1)*chunk, h)
			if y0 >= y1 {
				continue
			}
			wg.Add(1)
			go func(y0, y1, i int) {
				defer wg.Done()
				job.rows(y0, y1, i)
			}(y0, y1, i)
		}
		wg.Wait()
	}
	if v.Crosshair.Visible {
		drawCrosshair(dst, m, v.Cursor, v.Crosshair)
	}
	if v.Brush.Visible {
		drawBrush(dst, m, v.Brush)
	}
}

// drawBrush outlines the brush as a circle of its radius in mm: the screen
// is isotropic in mm, so the circle is round whatever the voxel spacing.
func drawBrush(dst *image.RGBA, m Mapping, b BrushPreview) {
	if !(b.RadiusMM > 0) || b.Color.A == 0 {
		return
	}
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	cx, cy := m.VoxelToScreen(b.Centre)
	rad := b.RadiusMM * m.PixelsPerMM()
	if math.IsNaN(rad) || rad > 4*float64(w+h) {
		return
	}
	a := uint32(b.Color.A) + uint32(b.Color.A>>7)
	keep := 256 - a
	add := [3]uint32{uint32(b.Color.R)*a + 128, uint32(b.Color.G)*a + 128, uint32(b.Color.B)*a + 128}
	// Step along the circle finely enough to touch every pixel once; a
	// pixel met twice in a row is not blended twice.
	steps := int(2*math.Pi*rad) + 8
	lastX, lastY := math.MinInt, math.MinInt
	firstX, firstY := math.MinInt, math.MinInt
	for i := 0; i < steps; i++ {
		th := 2 * math.Pi * float64(i) / float64(steps)
		px := int(math.Floor(cx + rad*math.Cos(th)))
		py := int(math.Floor(cy + rad*math.Sin(th)))
		if (px == lastX && py == lastY) || (px == firstX && py == firstY) {
			continue
		}
		if i == 0 {
			firstX, firstY = px, py
		}
		lastX, lastY = px, py
		if px < 0 || py < 0 || px >= w || py >= h {
			continue
		}
		o := dst.PixOffset(dst.Rect.Min.X+px, dst.Rect.Min.Y+py)
		p := dst.Pix[o : o+3 : o+3]
		p[0] = uint8((uint32(p[0])*keep + add[0]) >> 8)
		p[1] = uint8((uint32(p[1])*keep + add[1]) >> 8)
		p[2] = uint8((uint32(p[2])*keep + add[2]) >> 8)
	}
}

// buildTables computes the column and row tables for mapping m, and the
// range of screen-ordered voxel columns any pixel reads. Each entry is found
// from the pixel centre by one multiply-add, so no per-pixel affine
// arithmetic is left for the inner loops.
func (r *Renderer) buildTables(m Mapping, dims [3]int, w, h int) (cmin, cmax int) {
	strides := [3]int{1, dims[0], dims[0] * dims[1]}
	sh, sv := strides[m.h], strides[m.v]
	r.colN, r.rowN = grow(r.colN, w+2), grow(r.rowN, h+2)
	r.colS, r.col0, r.col1 = grow(r.colS, w), grow(r.col0, w), grow(r.col1, w)
	r.row0, r.row1 = grow(r.row0, h), grow(r.row1, h)
	r.colF, r.rowF = growF(r.colF, w), growF(r.rowF, h)
	r.colOff = grow(r.colOff, m.nh)
	for c := range r.colOff {
		r.colOff[c] = int32(voxelIndex(c, m.nh, m.hFlip) * sh)
	}

	// Nearest: the screen-ordered voxel under each pixel centre.
	nearest := func(p int, origin, unit float64, n int) int {
		t := (float64(p) + 0.5 - origin) / unit
		if t >= 0 && t < float64(n) {
			return int(t)
		}
		return -1
	}
	for p := range r.colN {
		if t := nearest(p-1, m.x0, m.uh, m.nh); t >= 0 {
			r.colN[p] = r.colOff[t]
		} else {
			r.colN[p] = -1
		}
	}
	for p := range r.rowN {
		if t := nearest(p-1, m.y0, m.uv, m.nv); t >= 0 {
			r.rowN[p] = int32(voxelIndex(t, m.nv, m.vFlip) * sv)
		} else {
			r.rowN[p] = -1
		}
	}
	// Bilinear: the two voxel centres around each pixel centre, clamped to
	// the image so that edge voxels are not darkened by the outside.
	bilinear := func(p int, origin, unit float64, n int) (a, b int, f float32) {
		c := (float64(p)+0.5-origin)/unit - 0.5 // voxel centres at integers
		c = math.Max(0, math.Min(float64(n-1), c))
		a = int(c)
		return a, min(a+1, n-1), float32(c - float64(a))
	}
	cmin, cmax = m.nh, -1
	for p := range r.colS {
		t := nearest(p, m.x0, m.uh, m.nh)
		a, b, f := bilinear(p, m.x0, m.uh, m.nh)
		r.colS[p], r.col0[p], r.col1[p], r.colF[p] = int32(t), int32(a), int32(b), f
		if t >= 0 {
			cmin, cmax = min(cmin, t, a), max(cmax, t, b)
		}
	}
	for p := range r.row0 {
		a, b, f := bilinear(p, m.y0, m.uv, m.nv)
		r.row0[p] = int32(voxelIndex(a, m.nv, m.vFlip) * sv)
		r.row1[p] = int32(voxelIndex(b, m.nv, m.vFlip) * sv)
		r.rowF[p] = f
	}
	return cmin, cmax
}

// voxelIndex converts a screen-ordered index along an axis of n voxels to the
// voxel index.
func voxelIndex(t, n int, flip bool) int {
	if flip {
		return n - 1 - t
	}
	return t
}

// rowScratch holds one worker's rows: the last two voxel rows read from the
// volume (tagged with their data offsets, so that the screen rows between
// two voxel rows reuse them), their interpolation, and the last row of grey
// levels for nearest-neighbour display.
type rowScratch struct {
	vals    []float32
	raw     [2][]float32
	tag     [2]int
	greys   []uint8
	greyTag int
	// Per overlay: the data offset of the last row checked for labels, and
	// whether it held any.
	labelTag []int
	labelAny []bool
}

// reset empties the scratch for a frame of a view nh voxels wide: the
// volume may have changed since the last frame.
func (s *rowScratch) reset(nh int) {
	s.vals = growF(s.vals, nh)
	s.raw[0], s.raw[1] = growF(s.raw[0], nh), growF(s.raw[1], nh)
	if cap(s.greys) < nh {
		s.greys = make([]uint8, nh)
	}
	s.greys = s.greys[:nh]
	s.tag = [2]int{-1, -1}
	s.greyTag = -1
	for i := range s.labelTag {
		s.labelTag[i] = -1
	}
}

// voxelRow returns the voxels of the row at data offset base (columns
// cmin..cmax, screen-ordered), reading the volume only when it is not one of
// the two rows held; keep is the other row needed now, which is not evicted.
func (j *rowJob) voxelRow(s *rowScratch, base, keep int) []float32 {
	if s.tag[0] == base {
		return s.raw[0]
	}
	if s.tag[1] == base {
		return s.raw[1]
	}
	slot := 0
	if s.tag[0] == keep {
		slot = 1
	}
	row, d, colOff := s.raw[slot], j.data, j.r.colOff
	for c := j.cmin; c <= j.cmax; c++ {
		row[c] = d[base+int(colOff[c])]
	}
	s.tag[slot] = base
	return row
}

// rowJob renders rows of one view; several run at once on disjoint rows.
type rowJob struct {
	r          *Renderer
	dst        *image.RGBA
	data       []float32
	overlays   []Overlay
	sliceOff   int
	lo, k      float32
	linear     bool
	w          int
	cmin, cmax int // screen-ordered voxel columns read by some pixel
}

const opaqueBlack uint32 = 0xff000000

// rows renders rows [y0, y1) with worker i's scratch. Each row is made in
// two passes: first the voxel row itself (interpolated between two voxel
// rows, or windowed to grey) once per voxel column, then the pixels from
// that short, cache-resident row. Voxel rows are read from the volume once
// per frame, not once per screen row or four times per pixel: strided reads
// (coronal and sagittal slices) are what costs.
func (j *rowJob) rows(y0, y1, worker int) {
	r := j.r
	colS := r.colS[:j.w]
	col0, col1, colF := r.col0[:j.w], r.col1[:j.w], r.colF[:j.w]
	sc := &r.scratch[worker]
	vals, greys := sc.vals, sc.greys
	colOff := r.colOff
	d := j.data
	for y := y0; y < y1; y++ {
		off := j.dst.PixOffset(j.dst.Rect.Min.X, j.dst.Rect.Min.Y+y)
		pix := j.dst.Pix[off : off+4*j.w : off+4*j.w]
		rn := r.rowN[y+1]
		if rn < 0 || j.cmax < 0 {
			for x := 0; x < j.w; x++ {
				binary.LittleEndian.PutUint32(pix[4*x:], opaqueBlack)
			}
			continue
		}
		base := j.sliceOff + int(rn)
		if j.linear {
			b0, b1, fy := j.sliceOff+int(r.row0[y]), j.sliceOff+int(r.row1[y]), r.rowF[y]
			r0 := j.voxelRow(sc, b0, b1)
			r1 := j.voxelRow(sc, b1, b0)
			if fy == 0 {
				vals = r0
			} else {
				vals = sc.vals
				for c := j.cmin; c <= j.cmax; c++ {
					vals[c] = r0[c] + (r1[c]-r0[c])*fy
				}
			}
			for x, s := range colS {
				px := opaqueBlack
				if s >= 0 {
					a, b := vals[col0[x]], vals[col1[x]]
					g := greyOf(a+(b-a)*colF[x], j.lo, j.k)
					px = opaqueBlack | uint32(g)*0x010101
				}
				binary.LittleEndian.PutUint32(pix[4*x:], px)
			}
		} else {
			if sc.greyTag != base {
				for c := j.cmin; c <= j.cmax; c++ {
					greys[c] = greyOf(d[base+int(colOff[c])], j.lo, j.k)
				}
				sc.greyTag = base
			}
			for x, s := range colS {
				px := opaqueBlack
				if s >= 0 {
					px = opaqueBlack | uint32(greys[s])*0x010101
				}
				binary.LittleEndian.PutUint32(pix[4*x:], px)
			}
		}
		for _, oi := range r.active {
			j.overlayRow(pix, oi, sc, base, y)
		}
	}
}

// overlayRow blends one overlay into one row of pixels; base is the data
// offset of the row's voxels.
func (j *rowJob) overlayRow(pix []byte, oi int, sc *rowScratch, base, y int) {
	r := j.r
	o, lut := &j.overlays[oi], &r.luts[oi]
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
			if !(pv > 0 && pv >= o.Threshold) {
				continue // background, below threshold, or NaN
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
	// Labels are sparse: most rows of a slice hold none. One pass over the
	// row's voxels, once per voxel row, finds out before any pixel is
	// visited.
	if sc.labelTag[oi] != base {
		var any uint8
		for c := j.cmin; c <= j.cmax; c++ {
			any |= ld[base+int(r.colOff[c])]
		}
		sc.labelTag[oi], sc.labelAny[oi] = base, any != 0
	}
	if !sc.labelAny[oi] {
		return
	}
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

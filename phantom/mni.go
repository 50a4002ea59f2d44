package phantom

import (
	"fmt"
	"math"
	"math/rand/v2"

	"metascope/volume"
	"metascope/volume/nifti"
)

// mniBase is an anatomical base read from a real T1-weighted head in MNI
// space (such as the MNI152 head shipped with gonii): tissue classes come
// from its intensities, partial volume from intensities between the class
// means, and the brain from a morphological brain extraction. The case's
// head pose, size and smooth deformation still apply (template space is MNI
// millimetres), and the lesions are composited on top as for the procedural
// head. Vessels, sinuses and choroid plexus are not in this base.
type mniBase struct {
	pose  *anatomy // only its template mapping is used
	t1    *volume.Volume
	brain *volume.Volume // 1 inside the brain mask, 0 outside (interpolated)
	depth *volume.Volume // mm inside the brain mask
	toVox volume.Affine  // MNI mm -> voxel
	means mniMeans
	box   [2][3]float64 // brain box in MNI mm
}

type mniMeans struct{ skull, csf, gm, wm, scalp, fat float64 }

func loadMNI(path string, rng *rand.Rand, o Options, headCentre [3]float64, p *Params) (*mniBase, error) {
	v, err := nifti.ReadVolume(path)
	if err != nil {
		return nil, fmt.Errorf("phantom: MNIPath: %w", err)
	}
	if v.Len() < 64*64*64 {
		return nil, fmt.Errorf("phantom: MNIPath %s: %v voxels is too small for a head", path, v.Dims)
	}
	sp := v.Spacing()
	if sp[0] > 2.5 || sp[1] > 2.5 || sp[2] > 2.5 {
		return nil, fmt.Errorf("phantom: MNIPath %s: voxels of %v mm are too coarse (want <= 2.5 mm)", path, sp)
	}
	m := &mniBase{t1: v, pose: newAnatomy(rng, o, headCentre, p)}
	if m.toVox, err = v.Affine.Inverse(); err != nil {
		return nil, fmt.Errorf("phantom: MNIPath %s: %w", path, err)
	}
	if err := m.classify(path); err != nil {
		return nil, err
	}
	return m, nil
}

// classify finds the class means from the intensity histogram and extracts
// the brain: threshold on tissue, erode to cut the brain from the scalp,
// keep the component at the centre, grow back, close the sulci and fill the
// ventricles.
func (m *mniBase) classify(path string) error {
	v := m.t1
	lo, hi := v.Range()
	if !(hi > lo) {
		return fmt.Errorf("phantom: MNIPath %s: the image is constant", path)
	}
	// The white-matter peak is the brightest clear mode of the histogram
	// (in T1 the grey-matter mode is often taller); the other classes are
	// placed relative to it (T1: CSF about 0.3, GM about 0.75 of WM).
	const bins = 100
	var h [bins]float64
	for _, x := range v.Data {
		h[min(bins-1, int(float64(x-lo)/float64(hi-lo)*bins))]++
	}
	var sm [bins]float64
	for i := range sm {
		for d := -2; d <= 2; d++ {
			if j := i + d; j >= 0 && j < bins {
				sm[i] += h[j] / 5
			}
		}
	}
	top := 0.0
	for i := bins / 4; i < bins; i++ {
		top = math.Max(top, sm[i])
	}
	peak := -1
	for i := bins / 4; i < bins-1; i++ {
		if sm[i] >= sm[i-1] && sm[i] > sm[i+1] && sm[i] >= 0.3*top {
			peak = i // the last (brightest) qualifying mode wins
		}
	}
	if peak < 0 {
		return fmt.Errorf("phantom: MNIPath %s: no white-matter peak in the histogram", path)
	}
	wm := float64(lo) + (float64(peak)+0.5)*float64(hi-lo)/bins
	m.means = mniMeans{skull: 0.08 * wm, csf: 0.3 * wm, gm: 0.75 * wm, wm: wm, scalp: 0.72 * wm, fat: 1.25 * wm}

	g := v.Grid
	n := g.Len()
	tissue := make([]bool, n)
	for i, x := range v.Data {
		tissue[i] = float64(x) > 0.58*wm
	}
	core := erode(g, tissue, 4)
	// Seed: the brightest-in-WM voxel nearest the grid centre.
	centre := g.Index(g.Dims[0]/2, g.Dims[1]/2, g.Dims[2]/2)
	seed := -1
	for r := 0; r < g.Dims[0]/4 && seed < 0; r++ {
		for _, d := range [][3]int{{r, 0, 0}, {-r, 0, 0}, {0, r, 0}, {0, -r, 0}, {0, 0, r}, {0, 0, -r}} {
			i, j, k := g.Coords(centre)
			i, j, k = i+d[0], j+d[1], k+d[2]
			if g.Contains(i, j, k) && core[g.Index(i, j, k)] {
				seed = g.Index(i, j, k)
				break
			}
		}
	}
	if seed < 0 {
		return fmt.Errorf("phantom: MNIPath %s: no brain found at the image centre", path)
	}
	comp := floodFill(g, core, seed)
	brain := dilateWithin(g, comp, tissue, 4)
	brain = erode(g, dilate(g, brain, 3), 3) // close the sulci
	brain = fillHoles(g, brain)              // ventricles
	m.brain = volume.New(g)
	for i, b := range brain {
		if b {
			m.brain.Data[i] = 1
		}
	}
	m.depth = chamferDepth(g, brain)
	m.box = [2][3]float64{{math.Inf(1), math.Inf(1), math.Inf(1)}, {math.Inf(-1), math.Inf(-1), math.Inf(-1)}}
	for idx, b := range brain {
		if !b {
			continue
		}
		i, j, k := g.Coords(idx)
		w := g.Affine.Apply([3]float64{float64(i), float64(j), float64(k)})
		for a := 0; a < 3; a++ {
			m.box[0][a] = math.Min(m.box[0][a], w[a])
			m.box[1][a] = math.Max(m.box[1][a], w[a])
		}
	}
	return nil
}

// mix returns the two tissues an intensity lies between and the weight of
// the second, by the class means (partial volume from the image itself).
func (m *mniBase) mix(x float64, inBrain bool) (Tissue, Tissue, float64) {
	type lvl struct {
		t Tissue
		v float64
	}
	var ls []lvl
	if inBrain {
		ls = []lvl{{CSF, m.means.csf}, {GM, m.means.gm}, {WM, m.means.wm}}
	} else {
		ls = []lvl{{Background, 0.04 * m.means.wm}, {Scalp, m.means.scalp}, {Fat, m.means.fat}}
	}
	if x <= ls[0].v {
		return ls[0].t, ls[0].t, 0
	}
	for i := 0; i+1 < len(ls); i++ {
		if x <= ls[i+1].v {
			return ls[i].t, ls[i+1].t, (x - ls[i].v) / (ls[i+1].v - ls[i].v)
		}
	}
	last := ls[len(ls)-1].t
	return last, last, 0
}

// region refines a class by where it is in MNI space: cerebellum and
// brainstem below the tentorium, ventricles deep in the brain, skull as the
// dark band between brain and scalp.
func (m *mniBase) region(t Tissue, q [3]float64, depth float64, inBrain bool) Tissue {
	if inBrain {
		infratentorial := q[2] < -18+0.25*(q[1]+60) && q[1] < -30
		switch {
		case t == CSF && depth > 12:
			return Ventricle
		case infratentorial && math.Abs(q[0]) < 14 && q[1] > -48 && t != CSF:
			return Brainstem
		case infratentorial && t == GM:
			return Cerebellum
		}
		return t
	}
	if t == Background && depth > -25 {
		return Skull
	}
	return t
}

func (m *mniBase) at(q [3]float64) (x, b, depth float64) {
	v := m.toVox.Apply(q)
	return float64(m.t1.Sample(v[0], v[1], v[2])), float64(m.brain.Sample(v[0], v[1], v[2])),
		float64(m.depth.Sample(v[0], v[1], v[2]))
}

func (m *mniBase) sample(p [3]float64, h float64, tab *[numTissues][4]float32, lesions []*lesionModel) (comp, bool) {
	var c comp
	q := m.pose.template(p)
	x, b, depth := m.at(q)
	var ow float32
	for _, l := range lesions {
		if w := l.oedemaWeight(p, m.pose.texture); w > ow {
			ow = w
		}
	}
	val := func(t Tissue) [4]float32 {
		if ow == 0 || oedemaSus[t] == 0 {
			return tab[t]
		}
		w := ow * oedemaSus[t]
		var v [4]float32
		for s := 0; s < 4; s++ {
			v[s] = tab[t][s] + (tab[Oedema][s]-tab[t][s])*w
		}
		return v
	}
	blend := func(inBrain bool) ([4]float32, Tissue) {
		t0, t1, f := m.mix(x, inBrain)
		t0, t1 = m.region(t0, q, depth, inBrain), m.region(t1, q, depth, inBrain)
		v0, v1 := val(t0), val(t1)
		var v [4]float32
		for s := range v {
			v[s] = v0[s] + (v1[s]-v0[s])*float32(f)
		}
		if f >= 0.5 {
			return v, t1
		}
		return v, t0
	}
	vb, tb := blend(true)
	vo, to := blend(false)
	for s := range c.v {
		c.v[s] = vo[s] + (vb[s]-vo[s])*float32(b)
	}
	c.cls = to
	if b >= 0.5 {
		c.cls = tb
		if ow > 0 && (tb == WM || tb == Brainstem) && ow*oedemaSus[tb] >= 0.5 {
			c.cls = Oedema
		}
	}
	for _, l := range lesions {
		l.composite(&c, p, h, tab)
	}
	return c, b >= 0.5
}

func (m *mniBase) probe(p [3]float64) probeInfo {
	q := m.pose.template(p)
	x, b, depth := m.at(q)
	var tab [numTissues][4]float32
	c, _ := m.sample(p, 0.01, &tab, nil)
	info := probeInfo{tissue: c.cls, depth: depth, gwDist: math.Inf(1), cblDepth: -1, stemDepth: -1,
		ventricleD: 100, midline: math.Abs(q[0])}
	if b < 0.5 {
		info.depth = -1
	}
	// Distance to the grey-white boundary: the intensity's offset from the
	// midpoint of the means over its gradient.
	mid := (m.means.gm + m.means.wm) / 2
	var g2 float64
	for a := 0; a < 3; a++ {
		q1, q2 := q, q
		q1[a]++
		q2[a]--
		x1, _, _ := m.at(q1)
		x2, _, _ := m.at(q2)
		g2 += (x1 - x2) * (x1 - x2) / 4
	}
	if g := math.Sqrt(g2); g > 0 {
		info.gwDist = math.Abs(x-mid) / g
	}
	if c.cls == Cerebellum || (c.cls == WM && q[2] < -18+0.25*(q[1]+60) && q[1] < -48) {
		info.cblDepth = depth
	}
	if c.cls == Ventricle || c.cls == CSF {
		info.ventricleD = 0
	}
	return info
}

func (m *mniBase) bounds() (lo, hi [3]float64) {
	inv, _ := m.pose.toTmpl.Inverse()
	lo = [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	hi = [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for _, x := range []float64{m.box[0][0], m.box[1][0]} {
		for _, y := range []float64{m.box[0][1], m.box[1][1]} {
			for _, z := range []float64{m.box[0][2], m.box[1][2]} {
				w := inv.Apply([3]float64{x, y, z})
				for a := 0; a < 3; a++ {
					lo[a] = math.Min(lo[a], w[a])
					hi[a] = math.Max(hi[a], w[a])
				}
			}
		}
	}
	return lo, hi
}

// Binary morphology with the 6-neighbourhood, on grids.

func neighbours6(g volume.Grid, idx int, f func(int)) {
	i, j, k := g.Coords(idx)
	if i > 0 {
		f(idx - 1)
	}
	if i < g.Dims[0]-1 {
		f(idx + 1)
	}
	if j > 0 {
		f(idx - g.Dims[0])
	}
	if j < g.Dims[1]-1 {
		f(idx + g.Dims[0])
	}
	if k > 0 {
		f(idx - g.Dims[0]*g.Dims[1])
	}
	if k < g.Dims[2]-1 {
		f(idx + g.Dims[0]*g.Dims[1])
	}
}

func erode(g volume.Grid, in []bool, r int) []bool {
	cur := in
	for it := 0; it < r; it++ {
		next := make([]bool, len(cur))
		for idx, b := range cur {
			if !b {
				continue
			}
			keep := true
			neighbours6(g, idx, func(n int) { keep = keep && cur[n] })
			next[idx] = keep
		}
		cur = next
	}
	return cur
}

func dilate(g volume.Grid, in []bool, r int) []bool {
	return dilateWithin(g, in, nil, r)
}

func dilateWithin(g volume.Grid, in, within []bool, r int) []bool {
	cur := in
	for it := 0; it < r; it++ {
		next := append([]bool(nil), cur...)
		for idx, b := range cur {
			if !b {
				continue
			}
			neighbours6(g, idx, func(n int) {
				if within == nil || within[n] {
					next[n] = true
				}
			})
		}
		cur = next
	}
	return cur
}

func floodFill(g volume.Grid, in []bool, seed int) []bool {
	out := make([]bool, len(in))
	stack := []int{seed}
	out[seed] = true
	for len(stack) > 0 {
		idx := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		neighbours6(g, idx, func(n int) {
			if in[n] && !out[n] {
				out[n] = true
				stack = append(stack, n)
			}
		})
	}
	return out
}

// fillHoles sets every voxel not connected to the grid's border through
// unset voxels.
func fillHoles(g volume.Grid, in []bool) []bool {
	outside := make([]bool, len(in))
	var stack []int
	for idx := range in {
		i, j, k := g.Coords(idx)
		border := i == 0 || j == 0 || k == 0 || i == g.Dims[0]-1 || j == g.Dims[1]-1 || k == g.Dims[2]-1
		if border && !in[idx] {
			outside[idx] = true
			stack = append(stack, idx)
		}
	}
	for len(stack) > 0 {
		idx := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		neighbours6(g, idx, func(n int) {
			if !in[n] && !outside[n] {
				outside[n] = true
				stack = append(stack, n)
			}
		})
	}
	out := make([]bool, len(in))
	for i := range out {
		out[i] = !outside[i]
	}
	return out
}

// chamferDepth is a signed distance in mm (positive inside the mask,
// negative outside), by a two-pass 3-4-5 chamfer transform on each side.
func chamferDepth(g volume.Grid, mask []bool) *volume.Volume {
	inside := chamfer(g, mask)
	notMask := make([]bool, len(mask))
	for i, b := range mask {
		notMask[i] = !b
	}
	outside := chamfer(g, notMask)
	v := volume.New(g)
	sp := g.Spacing()
	unit := (sp[0] + sp[1] + sp[2]) / 3 / 3 // chamfer weight 3 per voxel
	for i := range mask {
		if mask[i] {
			v.Data[i] = float32(float64(inside[i]) * unit)
		} else {
			v.Data[i] = -float32(float64(outside[i]) * unit)
		}
	}
	return v
}

// chamfer returns, for each set voxel, the 3-4-5 chamfer distance to the
// nearest unset voxel (0 for unset voxels).
func chamfer(g volume.Grid, mask []bool) []int32 {
	const inf = math.MaxInt32 / 2
	d := make([]int32, len(mask))
	for i, b := range mask {
		if b {
			d[i] = inf
		}
	}
	nx, ny, nz := g.Dims[0], g.Dims[1], g.Dims[2]
	w := func(di, dj, dk int) int32 {
		switch abs(di) + abs(dj) + abs(dk) {
		case 1:
			return 3
		case 2:
			return 4
		}
		return 5
	}
	pass := func(forward bool) {
		for kk := 0; kk < nz; kk++ {
			k := kk
			if !forward {
				k = nz - 1 - kk
			}
			for jj := 0; jj < ny; jj++ {
				j := jj
				if !forward {
					j = ny - 1 - jj
				}
				for ii := 0; ii < nx; ii++ {
					i := ii
					if !forward {
						i = nx - 1 - ii
					}
					idx := i + nx*(j+ny*k)
					if d[idx] == 0 {
						continue
					}
					best := d[idx]
					for dk := -1; dk <= 0; dk++ {
						for dj := -1; dj <= 1; dj++ {
							for di := -1; di <= 1; di++ {
								// Only neighbours already visited in this pass.
								if dk == 0 && (dj > 0 || (dj == 0 && di >= 0)) {
									continue
								}
								si, sj, sk := di, dj, dk
								if !forward {
									si, sj, sk = -di, -dj, -dk
								}
								a, b, c := i+si, j+sj, k+sk
								if a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz {
									continue
								}
								if v := d[a+nx*(b+ny*c)] + w(di, dj, dk); v < best {
									best = v
								}
							}
						}
					}
					d[idx] = best
				}
			}
		}
	}
	pass(true)
	pass(false)
	return d
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Package skull computes a brain mask from coregistered multi-contrast MR
// images by intensity and morphology, with anatomical checks:
//
//  1. a head mask (Otsu on the reference image);
//  2. a tissue mask: T1-weighted intensity above the dark class (bone, CSF,
//     air; k-means) and below fat (from a deep core of the brain);
//  3. erosion, to cut the thin bridges between brain and scalp, then the
//     largest component near the head's centre as a core, grown back through
//     the tissue mask (reconstruction; the mask is opened step by step if
//     the growth leaks towards the head's surface);
//  4. a closing and hole filling, which bring sulcal and ventricular CSF and
//     any lesion core inside the brain into the mask;
//  5. lesion protection: voxels next to the brain that enhance on T1c
//     (tumour) are added when they touch it, so a lesion at the surface is
//     never cut (oedema is tissue on T1-weighted images and needs no help);
//  6. checks that the result has a plausible volume and shape.
package skull

import (
	"context"
	"errors"
	"fmt"
	"math"

	"metascope/job"
	"metascope/preprocess/internal/imgops"
	"metascope/volume"
)

// Options controls skull stripping. Distances are in mm.
type Options struct {
	// ErodeMM cuts bridges between brain and extracranial tissue.
	ErodeMM float64
	// CloseMM fills sulci and closes the outer surface.
	CloseMM float64
	// LesionReachMM is how far outside the brain lesion protection looks.
	LesionReachMM float64
	// MinVolumeCM3 and MaxVolumeCM3 bound a plausible brain.
	MinVolumeCM3, MaxVolumeCM3 float64
}

// DefaultOptions suit adult heads.
func DefaultOptions() Options {
	return Options{ErodeMM: 4, CloseMM: 3, LesionReachMM: 6, MinVolumeCM3: 600, MaxVolumeCM3: 2600}
}

// Validate names the first invalid field.
func (o Options) Validate() error {
	switch {
	case !(o.ErodeMM > 0) || o.ErodeMM > 20:
		return fmt.Errorf("skull: ErodeMM %g must be in (0, 20]", o.ErodeMM)
	case !(o.CloseMM >= 0) || o.CloseMM > 30:
		return fmt.Errorf("skull: CloseMM %g must be in [0, 30]", o.CloseMM)
	case !(o.LesionReachMM >= 0) || o.LesionReachMM > 40:
		return fmt.Errorf("skull: LesionReachMM %g must be in [0, 40]", o.LesionReachMM)
	case !(o.MinVolumeCM3 >= 0) || !(o.MaxVolumeCM3 > o.MinVolumeCM3):
		return fmt.Errorf("skull: volume bounds [%g, %g] cm3 are not a range", o.MinVolumeCM3, o.MaxVolumeCM3)
	}
	return nil
}

// Images are the four sequences on one grid (coregistered). T1 is
// required; T1c, T2 and FLAIR may be nil. The T1c, when given, drives the
// tissue classes; lesion protection uses what there is.
type Images struct {
	T1, T2, T1c, FLAIR *volume.Volume
}

// ErrImplausible is returned when the mask fails the anatomical checks.
var ErrImplausible = errors.New("skull stripping produced an implausible brain")

// Strip returns the brain mask (1 inside) on the images' grid.
func Strip(ctx context.Context, im Images, opts Options, progress job.Progress) (*volume.Label, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if im.T1 == nil {
		return nil, errors.New("skull: T1 image is required")
	}
	g := im.T1.Grid
	for _, v := range []*volume.Volume{im.T1, im.T2, im.T1c, im.FLAIR} {
		if v == nil {
			continue
		}
		if !v.Grid.SameGeometry(g, 1e-4) {
			return nil, errors.New("skull: images are not on one grid (coregister and resample first)")
		}
		if err := imgops.CheckFinite(v.Data); err != nil {
			return nil, fmt.Errorf("skull: %w", err)
		}
	}
	dims, sp := g.Dims, g.Spacing()
	step := func(name string, f float64) error {
		progress.Report("skull stripping: "+name, f)
		return ctx.Err()
	}

	ref := im.T1c
	if ref == nil {
		ref = im.T1
	}
	head, err := imgops.HeadMask(ref)
	if err != nil {
		return nil, fmt.Errorf("skull: head mask: %w", err)
	}
	// The brain is sought around the deepest point of the head.
	ctr := headCentre(head, g)
	if err := step("tissue", 0.1); err != nil {
		return nil, err
	}

	// Tissue thresholds on the T1-weighted image inside the head: the lower
	// one between the darkest two of three intensity classes (k-means: dark
	// bone and CSF, grey matter and other soft tissue, white matter and
	// fat). The 3D T1c is preferred: it is the
	// reference (sharp, never a thick-slice acquisition), and T1 differs
	// from it only where gadolinium enhances.
	t1w := im.T1c
	if t1w == nil {
		t1w = im.T1
	}
	t1 := t1w.Data
	cs, err := imgops.KMeans1D(t1, head, 3)
	if err != nil {
		return nil, fmt.Errorf("skull: tissue classes: %w", err)
	}
	tLow := cs[0] + 0.45*(cs[1]-cs[0])
	// Erode by at least two voxels: one voxel of erosion cannot cut a
	// partial-volume bridge.
	erode := math.Max(opts.ErodeMM, 2*math.Max(sp[0], math.Max(sp[1], sp[2])))
	tissue := make([]bool, len(t1))
	for i, x := range t1 {
		tissue[i] = head[i] && float64(x) > tLow
	}
	surface := innerHead(head, g)
	s := stripper{g: g, t1: t1, tLow: tLow, erode: erode, surface: surface, centre: ctr}
	if err := step("reconstruct", 0.25); err != nil {
		return nil, err
	}
	r, err := s.grow(tissue)
	if err != nil {
		return nil, err
	}
	var v []bool // dark valleys, when needed
	if !r.whole {
		// Every unlimited growth leaked. At coarse spacings (or a 1 mm grid resampled
		// from them) partial volume lifts the thin dark band of CSF and
		// inner table between brain and skull above tLow, bridging the
		// brain to the diploe and scalp everywhere at once. The band is
		// still a valley: darker than tissue on both sides within the
		// erosion distance. Cutting the valleys out of the tissue mask
		// restores the barrier. The result is taken if its growth is
		// whole, or clean where the first was not or was smaller (a growth
		// cut short by its reach falls short of the brain, never beyond
		// it); a blurred template that leaks either way keeps its first
		// result.
		if err := step("reconstruct (valleys cut)", 0.4); err != nil {
			return nil, err
		}
		v = valleys(t1, dims, sp, erode, float32(valleyDepth*(cs[1]-cs[0])))
		cut := make([]bool, len(tissue))
		for i := range cut {
			cut[i] = tissue[i] && !v[i]
		}
		if rc, err := s.grow(cut); err == nil && (rc.whole || rc.clean && (!r.clean || count(rc.brain) > count(r.brain))) {
			r = rc
		}
	}
	brain, tissue, tHigh := r.brain, r.tissue, r.tHigh
	if !r.whole {
		// A growth limited in reach, or the fallback, stops short of the
		// brain's edge (and of a lesion at it). Regrow by the erosion
		// distance through tissue that is no dark valley and keeps clear of
		// the head's outer leakMM: far enough to take back what erosion
		// took, not to cross the skull.
		if v == nil {
			v = valleys(t1, dims, sp, erode, float32(valleyDepth*(cs[1]-cs[0])))
		}
		m := make([]bool, len(tissue))
		for i := range m {
			m[i] = tissue[i] && !v[i] && surface[i]
		}
		brain = growWithin(brain, m, dims, sp, erode)
	}
	// Parts of the brain the tissue mask shows as separate components (the
	// cerebellum behind CSF cisterns and the tentorium, a temporal pole)
	// join when they are large, face the brain and keep clear of the head's
	// surface; scalp and neck muscle always touch it.
	brain = addNeighbours(brain, tissue, surface, g)
	if err := step("close", 0.6); err != nil {
		return nil, err
	}
	if opts.CloseMM > 0 {
		brain = imgops.Close(brain, dims, sp, opts.CloseMM)
	}
	brain = imgops.FillHoles(brain, dims)
	brain = fillHolesVoting(brain, dims)
	if err := step("lesions", 0.8); err != nil {
		return nil, err
	}
	if opts.LesionReachMM > 0 {
		brain = protectLesions(brain, im, tHigh, opts.LesionReachMM)
	}
	// Anatomical checks.
	n := 0
	for _, b := range brain {
		if b {
			n++
		}
	}
	cm3 := float64(n) * g.VoxelVolumeMM3() / 1000
	if cm3 < opts.MinVolumeCM3 || cm3 > opts.MaxVolumeCM3 {
		return nil, fmt.Errorf("%w: %.0f cm3, outside [%.0f, %.0f]", ErrImplausible, cm3, opts.MinVolumeCM3, opts.MaxVolumeCM3)
	}
	progress.Report("skull stripping", 1)
	return imgops.BoolToLabel(brain, g), nil
}

// valleyDepth is how much darker than the tissue on both sides, in units of
// the gap between the dark and the middle intensity classes, a voxel must
// be to count as part of a dark band.
const valleyDepth = 0.5

// stripper holds what the core-and-growth step needs.
type stripper struct {
	g       volume.Grid
	t1      []float32
	tLow    float64
	erode   float64
	surface []bool
	centre  centre
}

// growth is the brain found from one tissue mask: clean when a growth
// kept clear of the head's surface without the last-resort fallback, whole
// when that growth was not limited in reach (so nothing was cut short).
type growth struct {
	brain, tissue []bool
	tHigh         float64
	clean, whole  bool
}

// grow finds the brain in tissue (voxels above tLow): the upper threshold
// from a deep core, then the core grown back through the tissue mask.
func (s stripper) grow(tissue []bool) (growth, error) {
	g, t1, erode, surface := s.g, s.t1, s.erode, s.surface
	dims, sp := g.Dims, g.Spacing()
	tissue = append([]bool(nil), tissue...)
	// The upper bound comes from the brain itself: a core eroded deep into
	// everything brighter than tLow is mostly white matter, the brightest
	// brain tissue; fat, where it is brighter still, falls above.
	core0 := largestCentral(imgops.Erode(tissue, dims, sp, erode), g, s.centre)
	pc, err := imgops.Percentiles(t1, core0, []float64{98}, 300000)
	if err != nil {
		return growth{}, fmt.Errorf("skull: no brain core found: %w", err)
	}
	tHigh := pc[0] + 0.3*(pc[0]-s.tLow)
	for i, x := range t1 {
		tissue[i] = tissue[i] && float64(x) < tHigh
	}
	core := largestCentral(imgops.Erode(tissue, dims, sp, erode), g, s.centre)
	// Grow the core back through the tissue mask (morphological
	// reconstruction), so every gyrus and the cerebellum, reached through
	// the brainstem, come back however thin they are. A partial-volume
	// bridge through the skull would let the growth leak into the scalp:
	// the tissue mask is then opened by increasing radii, which cuts thin
	// bridges first, until the brain keeps clear of the head's surface.
	// Unlimited growth through ever more opened tissue masks first; then
	// growth limited to a geodesic distance from the core, which stops
	// before the far side of a long bridge.
	type attempt struct{ open, reach float64 }
	var attempts []attempt
	for _, r := range []float64{0, 1, 1.5, 2, 3} {
		attempts = append(attempts, attempt{r, math.Inf(1)})
	}
	for _, reach := range []float64{40, 25, 15} {
		attempts = append(attempts, attempt{1, reach})
	}
	opened := map[float64][]bool{0: tissue}
	for i := 0; i < len(attempts); i++ {
		a := attempts[i]
		t, ok := opened[a.open]
		if !ok {
			t = imgops.Open(tissue, dims, sp, a.open)
			opened[a.open] = t
		}
		b := growWithin(core, t, dims, sp, a.reach)
		f := leakFraction(b, surface)
		if f <= maxLeak {
			return growth{brain: b, tissue: tissue, tHigh: tHigh, clean: true, whole: math.IsInf(a.reach, 1)}, nil
		}
		if a.open >= 1 && math.IsInf(a.reach, 1) && f > 0.05 {
			// A leak this wide is not a thin bridge that more opening
			// would cut (a blurred skull, as in an averaged template):
			// go on to limited growth.
			for i+1 < len(attempts) && math.IsInf(attempts[i+1].reach, 1) {
				i++
			}
		}
	}
	// Every growth leaked: regrow only as far as the erosion went, from
	// ever deeper cores until the result keeps clear of the surface.
	var brain []bool
	for _, f := range []float64{1, 1.5, 2, 2.5} {
		e := f * erode
		c := core
		if f > 1 {
			c = largestCentral(imgops.Erode(tissue, dims, sp, e), g, s.centre)
		}
		b := imgops.Dilate(c, dims, sp, e+1)
		for i := range b {
			b[i] = b[i] && tissue[i]
		}
		brain = imgops.Largest(b, dims)
		if !leaks(brain, surface) {
			break
		}
	}
	return growth{brain: brain, tissue: tissue, tHigh: tHigh}, nil
}

// leakMM: a brain voxel this close to the head's outer surface means the
// reconstruction has leaked into the scalp (the real brain is behind CSF,
// skull, fat and skin, well over a centimetre deep).
const leakMM = 5

// maxLeak is the largest fraction of brain voxels allowed outside the inner
// head before a growth counts as leaked into the scalp.
const maxLeak = 0.002

// leakFraction is the fraction of brain voxels outside inner (the head
// minus its outer leakMM).
func leakFraction(brain, inner []bool) float64 {
	n, out := 0, 0
	for i, b := range brain {
		if b {
			n++
			if !inner[i] {
				out++
			}
		}
	}
	return float64(out) / float64(max(n, 1))
}

// leaks reports whether a growth has leaked into the scalp.
func leaks(brain, inner []bool) bool { return leakFraction(brain, inner) > maxLeak }

// innerHead marks head voxels farther than leakMM from the background
// around the head. The edges of the field of view count as background,
// since a head cut off by them has its surface there, except the inferior
// edge: a head cut off at the neck has no surface below, and the brainstem
// runs on into the cord.
func innerHead(head []bool, g volume.Grid) []bool {
	dims, sp := g.Dims, g.Spacing()
	pd := [3]int{dims[0] + 2, dims[1] + 2, dims[2] + 2}
	bg := make([]bool, pd[0]*pd[1]*pd[2])
	ax := axialAxis(g)
	inferior := 0 // padded index of the inferior face along ax
	if g.Affine.Direction()[2][ax] < 0 {
		inferior = pd[ax] - 1
	}
	for idx := range bg {
		c := [3]int{idx % pd[0], (idx / pd[0]) % pd[1], idx / (pd[0] * pd[1])}
		border := false
		for a := 0; a < 3; a++ {
			if c[a] == 0 || c[a] == pd[a]-1 {
				border = true
			}
		}
		if border {
			bg[idx] = c[ax] != inferior
			continue
		}
		bg[idx] = !head[(c[0]-1)+dims[0]*((c[1]-1)+dims[1]*(c[2]-1))]
	}
	d := imgops.DistanceSq(bg, pd, sp)
	out := make([]bool, len(head))
	for i := range out {
		c0, c1, c2 := i%dims[0], (i/dims[0])%dims[1], i/(dims[0]*dims[1])
		out[i] = head[i] && d[(c0+1)+pd[0]*((c1+1)+pd[1]*(c2+1))] > leakMM*leakMM
	}
	return out
}

// minPartCM3 is the least volume of a separate tissue component added to
// the brain.
const minPartCM3 = 5

// addNeighbours adds components of tissue (other than brain's) that are at
// least minPartCM3, have at least 2 % of their voxels within 12 mm of brain
// (the cerebellum's upper surface faces the occipital lobes across the
// tentorium) and do not reach the head's surface.
func addNeighbours(brain, tissue, inner []bool, g volume.Grid) []bool {
	dims, sp := g.Dims, g.Spacing()
	rest := make([]bool, len(brain))
	for i := range rest {
		rest[i] = tissue[i] && !brain[i]
	}
	lab, sizes := imgops.Components(rest, dims)
	near := imgops.Dilate(brain, dims, sp, 12)
	nNear := make([]int, len(sizes))
	nOut := make([]int, len(sizes))
	for i, l := range lab {
		if l == 0 {
			continue
		}
		if near[i] {
			nNear[l]++
		}
		if !inner[i] {
			nOut[l]++
		}
	}
	minVox := int(minPartCM3 * 1000 / g.VoxelVolumeMM3())
	keep := make([]bool, len(sizes))
	any := false
	for l := 1; l < len(sizes); l++ {
		if sizes[l] >= minVox && 50*nNear[l] >= sizes[l] && nOut[l] <= sizes[l]/500 {
			keep[l] = true
			any = true
		}
	}
	if !any {
		return brain
	}
	out := append([]bool(nil), brain...)
	for i, l := range lab {
		if l != 0 && keep[l] {
			out[i] = true
		}
	}
	return out
}

// growWithin grows seed through mask (6-connected steps, each costing its
// axis' spacing) up to reach mm of path length; an infinite reach is
// morphological reconstruction.
func growWithin(seed, mask []bool, dims [3]int, sp [3]float64, reach float64) []bool {
	if math.IsInf(reach, 1) {
		return reconstruct(seed, mask, dims)
	}
	dist := make([]float32, len(mask))
	for i := range dist {
		dist[i] = float32(math.Inf(1))
	}
	// Dial's algorithm over integer steps of the finest spacing would be
	// exact; a label-correcting queue is simpler and fast at these sizes.
	queue := make([]int, 0, 1<<16)
	for i, s := range seed {
		if s && mask[i] {
			dist[i] = 0
			queue = append(queue, i)
		}
	}
	nx, nxy := dims[0], dims[0]*dims[1]
	steps := [6]struct {
		off  int
		cost float32
		axis int
		dir  int
	}{{-1, float32(sp[0]), 0, -1}, {1, float32(sp[0]), 0, 1}, {-nx, float32(sp[1]), 1, -1}, {nx, float32(sp[1]), 1, 1},
		{-nxy, float32(sp[2]), 2, -1}, {nxy, float32(sp[2]), 2, 1}}
	r := float32(reach)
	for h := 0; h < len(queue); h++ {
		p := queue[h]
		c := [3]int{p % nx, (p / nx) % dims[1], p / nxy}
		for _, st := range steps {
			q := c[st.axis] + st.dir
			if q < 0 || q >= dims[st.axis] {
				continue
			}
			n := p + st.off
			nd := dist[p] + st.cost
			if mask[n] && nd < dist[n] && nd <= r {
				dist[n] = nd
				queue = append(queue, n)
			}
		}
	}
	out := make([]bool, len(mask))
	for i, d := range dist {
		out[i] = !math.IsInf(float64(d), 1)
	}
	return out
}

// reconstruct returns the parts of mask connected (6-connectivity) to seed.
func reconstruct(seed, mask []bool, dims [3]int) []bool {
	lab, _ := imgops.Components(mask, dims)
	keep := map[int32]bool{}
	for i, s := range seed {
		if s && lab[i] != 0 {
			keep[lab[i]] = true
		}
	}
	out := make([]bool, len(mask))
	for i, l := range lab {
		out[i] = l != 0 && keep[l]
	}
	return out
}

// centre is where the brain is sought: the head voxel deepest inside the
// head (every face of the field of view counting as outside), and that
// depth. The cranium is the thickest part of a head, so this lies in the
// brain (near the thalami) even when the field of view takes in the face
// and neck, whose solid soft tissue survives erosion at coarse spacings.
type centre struct {
	vox   [3]float64 // voxel coordinates
	depth float64    // mm
}

func headCentre(head []bool, g volume.Grid) centre {
	dims, sp := g.Dims, g.Spacing()
	pd := [3]int{dims[0] + 2, dims[1] + 2, dims[2] + 2}
	bg := make([]bool, pd[0]*pd[1]*pd[2])
	for i := range bg {
		bg[i] = true
	}
	for idx, h := range head {
		if h {
			i, j, k := g.Coords(idx)
			bg[(i+1)+pd[0]*((j+1)+pd[1]*(k+1))] = false
		}
	}
	d := imgops.DistanceSq(bg, pd, sp)
	best, bi := float32(-1), 0
	for idx, x := range d {
		if !bg[idx] && x > best {
			best, bi = x, idx
		}
	}
	c := centre{depth: math.Sqrt(float64(max(best, 0)))}
	c.vox = [3]float64{float64(bi%pd[0] - 1), float64((bi/pd[0])%pd[1] - 1), float64(bi/(pd[0]*pd[1]) - 1)}
	return c
}

// largestCentral keeps the component with the most voxels, weighting each
// by its closeness to the head's centre c (on the scale of the head's
// depth), so neither a large scalp fragment at the edge of the field of
// view nor the neck's and face's soft tissue wins over the brain.
func largestCentral(m []bool, g volume.Grid, c centre) []bool {
	lab, sizes := imgops.Components(m, g.Dims)
	if len(sizes) <= 1 {
		return m
	}
	sp := g.Spacing()
	r2 := math.Max(c.depth*c.depth, 1)
	score := make([]float64, len(sizes))
	for idx, l := range lab {
		if l == 0 {
			continue
		}
		i, j, k := g.Coords(idx)
		di, dj, dk := (float64(i)-c.vox[0])*sp[0], (float64(j)-c.vox[1])*sp[1], (float64(k)-c.vox[2])*sp[2]
		d2 := di*di + dj*dj + dk*dk
		score[l] += 1 / (1 + d2*d2/(r2*r2))
	}
	best := 1
	for l := 2; l < len(sizes); l++ {
		if score[l] > score[best] {
			best = l
		}
	}
	out := make([]bool, len(m))
	for i, l := range lab {
		out[i] = l == int32(best)
	}
	return out
}

// fillHolesVoting adds voxels that are holes in the 2D slices of at least
// two of the three orientations. The ventricles open into the cisterns in
// 3D, so 3D filling misses them, but they are enclosed in every plane; the
// cisterns between temporal lobes, brainstem and cerebellum are enclosed
// in axial slices only, and stay out, as they are outside the pial surface.
func fillHolesVoting(m []bool, dims [3]int) []bool {
	votes := make([]uint8, len(m))
	for a := 0; a < 3; a++ {
		f := imgops.FillHolesSlices(m, dims, a)
		for i := range f {
			if f[i] && !m[i] {
				votes[i]++
			}
		}
	}
	out := append([]bool(nil), m...)
	for i, v := range votes {
		if v >= 2 {
			out[i] = true
		}
	}
	return out
}

// axialAxis is the voxel axis closest to the world S-I direction.
func axialAxis(g volume.Grid) int {
	d := g.Affine.Direction()
	best, ax := -1.0, 2
	for c := 0; c < 3; c++ {
		if v := math.Abs(d[2][c]); v > best {
			best, ax = v, c
		}
	}
	return ax
}

// protectLesions adds enhancing voxels (on T1c brighter than any normal
// brain tissue, and at least 1.5 times their T1 intensity: tumour, not
// fat, which is as bright on T1) within reach mm of the brain and
// connected to it, then fills holes again, so that an enhancing rim at the
// surface and the necrotic core it encloses stay in the mask. Oedema needs
// no help: on T1-weighted images it is tissue.
func protectLesions(brain []bool, im Images, tHigh, reach float64) []bool {
	if im.T1c == nil || im.T1 == nil {
		return brain
	}
	g := im.T1.Grid
	dims, sp := g.Dims, g.Spacing()
	near := imgops.Dilate(brain, dims, sp, reach)
	cand := make([]bool, len(brain))
	found := false
	for i := range cand {
		c, t := float64(im.T1c.Data[i]), float64(im.T1.Data[i])
		// t > 0: outside the T1's field of view there is no ratio to take.
		enh := near[i] && !brain[i] && t > 0 && c > tHigh && c > 1.5*t
		cand[i] = brain[i] || enh
		found = found || enh
	}
	if !found {
		return brain
	}
	out := reconstruct(brain, cand, dims)
	out = imgops.Close(out, dims, sp, 2)
	return imgops.FillHoles(out, dims)
}

// valleys marks voxels at least delta darker than the brightest voxel
// within reach mm on each side along some axis: thin dark bands (CSF and
// the inner table) that partial volume at coarse spacings lifts above the
// tissue threshold.
func valleys(im []float32, dims [3]int, sp [3]float64, reach float64, delta float32) []bool {
	out := make([]bool, len(im))
	nx, ny := dims[0], dims[1]
	strides := [3]int{1, nx, nx * ny}
	var n [3]int
	for a := range n {
		n[a] = max(1, int(math.Round(reach/sp[a])))
	}
	imgops.ParallelFor(dims[2], func(k0, k1 int) {
		for k := k0; k < k1; k++ {
			for j := 0; j < ny; j++ {
				for i := 0; i < nx; i++ {
					c := [3]int{i, j, k}
					p := i + nx*(j+ny*k)
					x := im[p]
					for a := 0; a < 3; a++ {
						s := strides[a]
						l, r := float32(math.Inf(-1)), float32(math.Inf(-1))
						for st := 1; st <= n[a]; st++ {
							if c[a]-st >= 0 {
								l = max(l, im[p-st*s])
							}
							if c[a]+st < dims[a] {
								r = max(r, im[p+st*s])
							}
						}
						if min(l, r)-x > delta {
							out[p] = true
							break
						}
					}
				}
			}
		}
	})
	return out
}

func count(m []bool) int {
	n := 0
	for _, b := range m {
		if b {
			n++
		}
	}
	return n
}

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
	// The upper bound comes from the brain itself: a core eroded deep into
	// everything brighter than tLow is mostly white matter, the brightest
	// brain tissue; fat, where it is brighter still, falls above.
	tissue := make([]bool, len(t1))
	for i, x := range t1 {
		tissue[i] = head[i] && float64(x) > tLow
	}
	// Erode by at least two voxels: one voxel of erosion cannot cut a
	// partial-volume bridge.
	erode := math.Max(opts.ErodeMM, 2*math.Max(sp[0], math.Max(sp[1], sp[2])))
	core0 := largestCentral(imgops.Erode(tissue, dims, sp, erode), g)
	pc, err := imgops.Percentiles(t1, core0, []float64{98}, 300000)
	if err != nil {
		return nil, fmt.Errorf("skull: no brain core found: %w", err)
	}
	tHigh := pc[0] + 0.3*(pc[0]-tLow)
	for i, x := range t1 {
		tissue[i] = tissue[i] && float64(x) < tHigh
	}
	if err := step("erode", 0.25); err != nil {
		return nil, err
	}
	core := imgops.Erode(tissue, dims, sp, erode)
	core = largestCentral(core, g)
	if err := step("reconstruct", 0.45); err != nil {
		return nil, err
	}
	// Grow the core back through the tissue mask (morphological
	// reconstruction), so every gyrus and the cerebellum, reached through
	// the brainstem, come back however thin they are. A partial-volume
	// bridge through the skull would let the growth leak into the scalp:
	// the tissue mask is then opened by increasing radii, which cuts thin
	// bridges first, until the brain keeps clear of the head's surface.
	surface := innerHead(head, g)
	var brain []bool
	// Unlimited growth through ever more opened tissue masks first; then
	// growth limited to a geodesic distance from the core, which stops
	// before the far side of a long bridge (coarse voxels blur the thin
	// dark band of CSF and inner table into tissue-like values).
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
			brain = b
			break
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
	if brain == nil {
		// Every growth leaked: regrow only as far as the erosion went, from
		// ever deeper cores until the result keeps clear of the surface.
		for _, f := range []float64{1, 1.5, 2, 2.5} {
			e := f * erode
			c := core
			if f > 1 {
				c = largestCentral(imgops.Erode(tissue, dims, sp, e), g)
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

// largestCentral keeps the component with the most voxels, weighting each
// by its closeness to the head's centre, so a large scalp fragment at the
// edge of the field of view never wins over the brain.
func largestCentral(m []bool, g volume.Grid) []bool {
	lab, sizes := imgops.Components(m, g.Dims)
	if len(sizes) <= 1 {
		return m
	}
	// Centre of all mask voxels.
	var c [3]float64
	n := 0
	for idx, in := range m {
		if in {
			i, j, k := g.Coords(idx)
			c[0] += float64(i)
			c[1] += float64(j)
			c[2] += float64(k)
			n++
		}
	}
	for a := range c {
		c[a] /= float64(n)
	}
	score := make([]float64, len(sizes))
	for idx, l := range lab {
		if l == 0 {
			continue
		}
		i, j, k := g.Coords(idx)
		d2 := (float64(i)-c[0])*(float64(i)-c[0]) + (float64(j)-c[1])*(float64(j)-c[1]) + (float64(k)-c[2])*(float64(k)-c[2])
		score[l] += 1 / (1 + d2/float64(g.Dims[0]*g.Dims[0]))
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

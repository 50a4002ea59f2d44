// Package skull computes a brain mask from coregistered multi-contrast MR
// images by intensity and morphology, with anatomical checks:
//
//  1. a head mask (Otsu on the reference image);
//  2. a tissue mask: T1 brighter than the dark class (bone, CSF, air) and
//     not as bright as fat;
//  3. erosion, to cut the thin bridges between brain and scalp, then the
//     largest component near the head's centre, then a conditional dilation
//     back into the tissue mask;
//  4. a closing and hole filling, which bring sulcal and ventricular CSF and
//     any lesion core inside the brain into the mask;
//  5. lesion protection: voxels next to the brain that enhance on T1c or
//     are hyperintense on FLAIR or T2 (tumour and oedema) are added when
//     they touch it, so a lesion at the surface is never cut;
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
	return Options{ErodeMM: 4, CloseMM: 5, LesionReachMM: 12, MinVolumeCM3: 600, MaxVolumeCM3: 2600}
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
// required; T1c, T2 and FLAIR may be nil (lesion protection then uses what
// there is).
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

	// Tissue thresholds on T1 inside the head: the dark class (bone, CSF)
	// below Otsu's threshold; fat above the upper tissue class.
	t1 := im.T1.Data
	ps, err := imgops.Percentiles(t1, head, []float64{1, 99}, 300000)
	if err != nil {
		return nil, fmt.Errorf("skull: %w", err)
	}
	tLow := imgops.Otsu(t1, head, ps[0], ps[1], 256)
	// Within the bright class, a second Otsu split gives GM vs WM; fat sits
	// above WM by more than WM's own spread.
	bright := make([]bool, len(t1))
	for i, x := range t1 {
		bright[i] = head[i] && float64(x) > tLow
	}
	tMid := imgops.Otsu(t1, bright, tLow, ps[1], 256)
	// Tissue in the dark class but close to GM (partial volume at the cortex)
	// is kept by lowering tLow a little towards the dark mode.
	tLow = tLow - 0.15*(tMid-tLow)
	tHigh := tMid + 1.6*(tMid-tLow)
	tissue := make([]bool, len(t1))
	for i, x := range t1 {
		tissue[i] = head[i] && float64(x) > tLow && float64(x) < tHigh
	}
	if err := step("erode", 0.25); err != nil {
		return nil, err
	}
	core := imgops.Erode(tissue, dims, sp, opts.ErodeMM)
	core = largestCentral(core, g)
	if err := step("reconstruct", 0.45); err != nil {
		return nil, err
	}
	brain := imgops.Dilate(core, dims, sp, opts.ErodeMM+1)
	for i := range brain {
		brain[i] = brain[i] && tissue[i]
	}
	brain = imgops.Largest(brain, dims)
	if err := step("close", 0.6); err != nil {
		return nil, err
	}
	if opts.CloseMM > 0 {
		brain = imgops.Close(brain, dims, sp, opts.CloseMM)
	}
	brain = imgops.FillHoles(brain, dims)
	brain = imgops.FillHolesSlices(brain, dims, axialAxis(g))
	if err := step("lesions", 0.8); err != nil {
		return nil, err
	}
	if opts.LesionReachMM > 0 {
		brain = protectLesions(brain, im, head, opts.LesionReachMM)
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

// protectLesions adds abnormal voxels (enhancing on T1c relative to T1, or
// hyperintense on FLAIR / T2 relative to the brain) within reach of the
// brain that are connected to it, then fills holes again.
func protectLesions(brain []bool, im Images, head []bool, reach float64) []bool {
	g := im.T1.Grid
	dims, sp := g.Dims, g.Spacing()
	abnormal := make([]bool, len(brain))
	found := false
	mark := func(v *volume.Volume, z float64) {
		if v == nil {
			return
		}
		m, s, err := imgops.MeanStd(v.Data, brain)
		if err != nil || s == 0 {
			return
		}
		for i, x := range v.Data {
			if head[i] && (float64(x)-m)/s > z {
				abnormal[i] = true
				found = true
			}
		}
	}
	// Enhancement: T1c well above T1 where both are tissue.
	if im.T1c != nil {
		ratio := &volume.Volume{Grid: g, Data: make([]float32, len(brain))}
		for i := range ratio.Data {
			a, b := im.T1c.Data[i], im.T1.Data[i]
			if b > 0 {
				ratio.Data[i] = a / b
			}
		}
		mark(ratio, 4)
	}
	mark(im.FLAIR, 2.5)
	if !found {
		return brain
	}
	near := imgops.Dilate(brain, dims, sp, reach)
	cand := make([]bool, len(brain))
	for i := range cand {
		cand[i] = brain[i] || (near[i] && abnormal[i])
	}
	// Keep only candidate parts connected to the brain.
	lab, _ := imgops.Components(cand, dims)
	keep := map[int32]bool{}
	for i, b := range brain {
		if b {
			keep[lab[i]] = true
		}
	}
	out := make([]bool, len(brain))
	for i, l := range lab {
		out[i] = l != 0 && keep[l]
	}
	out = imgops.Close(out, dims, sp, 2)
	return imgops.FillHoles(out, dims)
}

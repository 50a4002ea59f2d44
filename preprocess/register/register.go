// Package register finds the rigid (6 degrees of freedom) transform that
// aligns a moving MR image to a fixed reference of another contrast, by
// maximising Mattes mutual information with an analytic gradient and
// regular-step gradient ascent over a resolution pyramid, from the better of
// the scanner alignment and a centre-of-mass start. Samples are drawn at random (jittered voxel
// centres) inside the fixed image's head, and the metric runs on all CPUs.
//
// The moving image is only ever interpolated in its own grid, so thick-slice
// 2D acquisitions are handled as they are: the pyramid never shrinks an axis
// below its own spacing.
package register

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"metascope/job"
	"metascope/preprocess/internal/imgops"
	"metascope/volume"
)

// Options controls the registration.
type Options struct {
	// LevelsMM is the working voxel size of each pyramid level, coarse to
	// fine (each image is block-averaged towards it, never below its own
	// spacing).
	LevelsMM []float64
	// Bins is the number of histogram bins per image in the joint histogram.
	Bins int
	// Samples is the most fixed-image samples per level.
	Samples int
	// Iterations is the most gradient steps per level.
	Iterations int
	// InitialStepMM and MinStepMM bound the step of the optimiser, in mm of
	// displacement at the brain's radius (rotations are scaled by it); the
	// step halves each time the gradient turns back, and a level ends when
	// it falls below MinStepMM. They apply to the first level; each later
	// level starts at a quarter of the previous level's initial step.
	InitialStepMM float64
	MinStepMM     float64
	// Seed makes the sampling reproducible.
	Seed uint64
}

// DefaultOptions: three levels at 4, 2 and 1 mm, 32 bins, up to 100 000
// samples per level.
func DefaultOptions() Options {
	return Options{LevelsMM: []float64{4, 2, 1}, Bins: 32, Samples: 100000, Iterations: 200,
		InitialStepMM: 4, MinStepMM: 0.002, Seed: 1}
}

// Validate names the first invalid field.
func (o Options) Validate() error {
	if len(o.LevelsMM) == 0 || len(o.LevelsMM) > 6 {
		return fmt.Errorf("register: LevelsMM has %d levels; want 1..6", len(o.LevelsMM))
	}
	for i, l := range o.LevelsMM {
		if !(l > 0) || l > 16 {
			return fmt.Errorf("register: LevelsMM[%d] = %g must be in (0, 16]", i, l)
		}
	}
	switch {
	case o.Bins < 8 || o.Bins > 256:
		return fmt.Errorf("register: Bins %d must be 8..256", o.Bins)
	case o.Samples < 1000 || o.Samples > 10_000_000:
		return fmt.Errorf("register: Samples %d must be 1000..10000000", o.Samples)
	case o.Iterations < 1 || o.Iterations > 10000:
		return fmt.Errorf("register: Iterations %d must be 1..10000", o.Iterations)
	case !(o.InitialStepMM > 0) || o.InitialStepMM > 50:
		return fmt.Errorf("register: InitialStepMM %g must be in (0, 50]", o.InitialStepMM)
	case !(o.MinStepMM > 0) || o.MinStepMM >= o.InitialStepMM:
		return fmt.Errorf("register: MinStepMM %g must be in (0, InitialStepMM)", o.MinStepMM)
	}
	return nil
}

// Level records how one pyramid level went.
type Level struct {
	SpacingMM  float64 `json:"spacing_mm"`
	Samples    int     `json:"samples"`
	Iterations int     `json:"iterations"`
	MI         float64 `json:"mutual_information"`
}

// Result is the transform found and how the search went.
type Result struct {
	Transform Rigid   `json:"transform"`
	Levels    []Level `json:"levels"`
	// MI is the final mutual information (nats) at the finest level.
	MI float64 `json:"mutual_information"`
}

// ErrNoOverlap is returned when the images' fields of view do not overlap
// enough to register them.
var ErrNoOverlap = errors.New("the images' fields of view hardly overlap")

// minInside is the least fraction of fixed samples that must land inside
// the moving image for the metric to mean anything.
const minInside = 0.25

// Register aligns moving to fixed. fixedMask limits where samples are drawn
// (nil: the fixed image's head, from an Otsu mask dilated by 4 mm). The
// returned transform maps fixed world mm to moving world mm, so
// volume.ResampleTransformed(moving, fixed.Grid, res.Transform.Matrix(),
// volume.Linear) resamples moving onto the fixed grid.
func Register(ctx context.Context, fixed, moving *volume.Volume, fixedMask *volume.Label, opts Options, progress job.Progress) (*Result, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	for _, im := range []struct {
		name string
		v    *volume.Volume
	}{{"fixed", fixed}, {"moving", moving}} {
		if err := im.v.Grid.Validate(); err != nil {
			return nil, fmt.Errorf("register: %s image: %w", im.name, err)
		}
		if err := imgops.CheckFinite(im.v.Data); err != nil {
			return nil, fmt.Errorf("register: %s image: %w", im.name, err)
		}
	}
	// Head masks at about 2 mm: cheap, and enough for sampling and the
	// centre-of-mass start.
	fixedCoarse := imgops.ShrinkVolume(fixed, imgops.FactorsFor(fixed.Spacing(), 2))
	movingCoarse := imgops.ShrinkVolume(moving, imgops.FactorsFor(moving.Spacing(), 2))
	var fm []bool
	var err error
	if fixedMask != nil {
		if fixedMask.Dims != fixed.Dims {
			return nil, fmt.Errorf("register: fixed mask dims %v differ from fixed image dims %v", fixedMask.Dims, fixed.Dims)
		}
		fm, _ = imgops.ShrinkMask(imgops.MaskToBool(fixedMask), fixed.Dims, imgops.FactorsFor(fixed.Spacing(), 2))
	} else if fm, err = imgops.HeadMask(fixedCoarse); err != nil {
		return nil, fmt.Errorf("register: fixed image: %w", err)
	}
	mm, err := imgops.HeadMask(movingCoarse)
	if err != nil {
		return nil, fmt.Errorf("register: moving image: %w", err)
	}
	cf, nf := centroid(fm, fixedCoarse.Grid)
	cm, nm := centroid(mm, movingCoarse.Grid)
	if nf == 0 || nm == 0 {
		return nil, errors.New("register: an image has an empty head mask")
	}
	sampleMask := imgops.Dilate(fm, fixedCoarse.Dims, fixedCoarse.Spacing(), 4)
	maskGrid := fixedCoarse.Grid
	maskInv, err := maskGrid.Affine.Inverse()
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	inMask := func(p [3]float64) bool {
		v := maskInv.Apply(p)
		i, j, k := int(math.Floor(v[0]+0.5)), int(math.Floor(v[1]+0.5)), int(math.Floor(v[2]+0.5))
		return maskGrid.Contains(i, j, k) && sampleMask[maskGrid.Index(i, j, k)]
	}

	// Parameters: rotations (rad) about the fixed head's centre, then the
	// translation. Two starts are tried on the coarsest level: the scanner's
	// own alignment (identity), right when both series come from one
	// session, and the centre-of-mass offset, right when they do not; a
	// thick slab covering part of the head moves the centre of mass, so
	// neither alone is safe.
	var p [6]float64
	var starts [][6]float64
	starts = append(starts, [6]float64{})
	var com [6]float64
	for a := 0; a < 3; a++ {
		com[3+a] = cm[a] - cf[a]
	}
	if math.Abs(com[3])+math.Abs(com[4])+math.Abs(com[5]) > 2 {
		starts = append(starts, com)
	}
	radius := headRadius(fm, fixedCoarse.Grid, cf)
	rng := rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15))
	res := &Result{}
	step := opts.InitialStepMM
	nLev := len(opts.LevelsMM)
	for li, mmL := range opts.LevelsMM {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fl := fixed
		if f := imgops.FactorsFor(fixed.Spacing(), mmL); f != [3]int{1, 1, 1} {
			fl = imgops.ShrinkVolume(fixed, f)
		}
		ml := moving
		if f := imgops.FactorsFor(moving.Spacing(), mmL); f != [3]int{1, 1, 1} {
			ml = imgops.ShrinkVolume(moving, f)
		}
		metric, nSamples, err := buildMetric(fl, ml, inMask, cf, opts, rng)
		if err != nil {
			return nil, fmt.Errorf("register: level %g mm: %w", mmL, err)
		}
		minStep := opts.MinStepMM
		if li < nLev-1 {
			// Coarse levels only need to get close.
			minStep = math.Max(opts.MinStepMM, 0.05*mmL)
		}
		var it int
		mi := math.Inf(-1)
		cands := [][6]float64{p}
		if li == 0 {
			cands = starts
		}
		var firstErr error
		for ci, c := range cands {
			q, itc, mic, err := ascend(ctx, metric, c, radius, step, minStep, opts.Iterations, func(done float64) {
				progress.Report("registration", (float64(li)+(float64(ci)+done)/float64(len(cands)))/float64(nLev))
			})
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			it += itc
			if mic > mi {
				p, mi = q, mic
			}
		}
		if math.IsInf(mi, -1) {
			return nil, fmt.Errorf("register: level %g mm: %w", mmL, firstErr)
		}
		res.Levels = append(res.Levels, Level{SpacingMM: mmL, Samples: nSamples, Iterations: it, MI: mi})
		res.MI = mi
		step = math.Max(step/4, 4*opts.MinStepMM)
	}
	res.Transform = Rigid{Rotation: [3]float64{p[0], p[1], p[2]}, Translation: [3]float64{p[3], p[4], p[5]}, Centre: cf}
	progress.Report("registration", 1)
	return res, nil
}

// ascend is regular-step gradient ascent on MI in scaled parameters
// (rotations times radius, so every coordinate is in mm of displacement).
func ascend(ctx context.Context, m *mattes, p [6]float64, radius, step, minStep float64, maxIt int, report func(float64)) ([6]float64, int, float64, error) {
	scale := [6]float64{radius, radius, radius, 1, 1, 1}
	var prev [6]float64
	var mi float64
	it := 0
	startStep := step
	for ; it < maxIt; it++ {
		if err := ctx.Err(); err != nil {
			return p, it, 0, err
		}
		var g [6]float64
		var inside float64
		mi, g, inside = m.evaluate(p, true)
		if inside < minInside {
			return p, it, 0, fmt.Errorf("%w (%.0f %% of samples inside the moving image)", ErrNoOverlap, 100*inside)
		}
		// Gradient in scaled coordinates: d/d(q) = d/dp / scale.
		var gs [6]float64
		var norm, dot float64
		for a := 0; a < 6; a++ {
			gs[a] = g[a] / scale[a]
			norm += gs[a] * gs[a]
			dot += gs[a] * prev[a]
		}
		norm = math.Sqrt(norm)
		if norm < 1e-12 {
			break
		}
		if dot < 0 {
			step /= 2
		}
		if step < minStep {
			break
		}
		for a := 0; a < 6; a++ {
			p[a] += step * gs[a] / norm / scale[a]
		}
		prev = gs
		report(math.Min(1, math.Log(startStep/step)/math.Log(startStep/minStep)))
	}
	mi, _, _ = m.evaluate(p, false)
	return p, it, mi, nil
}

// buildMetric draws the fixed samples of one level and sets up the metric.
func buildMetric(fl, ml *volume.Volume, inMask func([3]float64) bool, centre [3]float64, opts Options, rng *rand.Rand) (*mattes, int, error) {
	// Candidate voxels of the fixed level inside the sampling mask.
	cand := make([]int, 0, fl.Len()/4)
	for idx := 0; idx < fl.Len(); idx++ {
		i, j, k := fl.Coords(idx)
		if inMask(fl.VoxelToWorld([3]float64{float64(i), float64(j), float64(k)})) {
			cand = append(cand, idx)
		}
	}
	if len(cand) < 100 {
		return nil, 0, fmt.Errorf("only %d fixed voxels in the head", len(cand))
	}
	n := min(len(cand), opts.Samples)
	if n < len(cand) {
		rng.Shuffle(len(cand), func(a, b int) { cand[a], cand[b] = cand[b], cand[a] })
		cand = cand[:n]
	}
	rel := make([][3]float64, n)
	vals := make([]float32, n)
	for s, idx := range cand {
		i, j, k := fl.Coords(idx)
		// Jitter within the voxel: breaks the grid-alignment artefacts of
		// interpolating at exactly corresponding voxel centres.
		x := [3]float64{float64(i) + rng.Float64() - 0.5, float64(j) + rng.Float64() - 0.5, float64(k) + rng.Float64() - 0.5}
		for a := 0; a < 3; a++ {
			x[a] = math.Max(0, math.Min(float64(fl.Dims[a]-1), x[a]))
		}
		vals[s] = fl.Sample(x[0], x[1], x[2])
		w := fl.VoxelToWorld(x)
		rel[s] = [3]float64{w[0] - centre[0], w[1] - centre[1], w[2] - centre[2]}
	}
	fp, err := imgops.Percentiles(vals, nil, []float64{0.5, 99.5}, 0)
	if err != nil {
		return nil, 0, err
	}
	if !(fp[1] > fp[0]) {
		return nil, 0, errors.New("the fixed image is constant in the head")
	}
	mp, err := imgops.Percentiles(ml.Data, nil, []float64{0.5, 99.5}, 200000)
	if err != nil {
		return nil, 0, err
	}
	if !(mp[1] > mp[0]) {
		return nil, 0, errors.New("the moving image is constant")
	}
	fbin := make([]int32, n)
	for s, v := range vals {
		b := int((float64(v) - fp[0]) / (fp[1] - fp[0]) * float64(opts.Bins))
		fbin[s] = int32(max(0, min(opts.Bins-1, b)))
	}
	return newMattes(ml, rel, fbin, centre, opts.Bins, mp[0], mp[1]), n, nil
}

// centroid is the world-space centre of a mask and its voxel count.
func centroid(m []bool, g volume.Grid) ([3]float64, int) {
	var s [3]float64
	n := 0
	for idx, in := range m {
		if !in {
			continue
		}
		i, j, k := g.Coords(idx)
		w := g.VoxelToWorld([3]float64{float64(i), float64(j), float64(k)})
		for a := 0; a < 3; a++ {
			s[a] += w[a]
		}
		n++
	}
	if n == 0 {
		return s, 0
	}
	for a := 0; a < 3; a++ {
		s[a] /= float64(n)
	}
	return s, n
}

// headRadius is the RMS distance of the mask from its centre: the lever arm
// that turns a rotation into millimetres.
func headRadius(m []bool, g volume.Grid, c [3]float64) float64 {
	var s float64
	n := 0
	for idx, in := range m {
		if !in {
			continue
		}
		i, j, k := g.Coords(idx)
		w := g.VoxelToWorld([3]float64{float64(i), float64(j), float64(k)})
		s += (w[0]-c[0])*(w[0]-c[0]) + (w[1]-c[1])*(w[1]-c[1]) + (w[2]-c[2])*(w[2]-c[2])
		n++
	}
	if n == 0 {
		return 50
	}
	return math.Max(10, math.Sqrt(s/float64(n)))
}

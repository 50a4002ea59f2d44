// Package phantom generates synthetic multiparametric brain MRI (T1, T2,
// T1c, FLAIR) with metastases and exact ground truth, for Metascope's demo,
// tests, training runs and evaluations: no patient data can reach them.
//
// A case is a procedural head (scalp, fat, skull, CSF, folded cortex, white
// matter, deep grey nuclei, ventricles, choroid plexus, cerebellum,
// brainstem, vessels and dural sinuses) varied per case, with 1 to about 10
// metastases favouring the grey-white junction and the cerebellum. The head
// is composited once, with partial volume, on a fine model grid in T1c world
// space; every sequence is then rendered by sampling that model at its own
// voxel centres through its own true misalignment (averaging over the slice
// profile for 2D thick slices), so no image is interpolated twice. Bias
// field and Rician noise come last.
//
// Use: c, err := Generate(opts) with opts from DefaultOptions(Small) (about
// a quarter of a CPU second, for tests) or DefaultOptions(Full); the truth
// is c.Label (T1c grid), c.Lesions (each Shape.Contains decides its voxels),
// c.WorldToSequence, c.BiasFields, c.BrainMask, c.Tissue and, on request,
// c.NoiseFree. WriteCase and ReadCase store a case as NIfTI and JSON;
// GenerateCohort writes many with a manifest and a train/test split;
// RenderContactSheet draws a case for a person to look at.
package phantom

import (
	"fmt"
	"math"
	"math/rand/v2"

	"metascope/volume"
)

// Case is one generated subject.
type Case struct {
	// Images are indexed by volume.Sequence (T1, T2, T1c, FLAIR), each on
	// its own acquisition grid.
	Images [4]*volume.Volume
	// Label is the ground truth on the T1c grid: 1 where a voxel centre is
	// inside a metastasis (enhancing part and core; oedema is not labelled).
	Label *volume.Label
	// BrainMask is the true brain (the inside of the pial envelope, with
	// sulci and ventricles) on the T1c grid.
	BrainMask *volume.Label
	// Tissue is the tissue class at each T1c voxel centre (Tissue values).
	Tissue *volume.Label
	// Lesions describes each metastasis; Label is exactly their union.
	Lesions []Lesion
	// WorldToSequence maps T1c world mm to each sequence's world mm (the
	// true rigid misalignment; identity for the T1c). Resampling sequence s
	// onto the T1c grid with volume.ResampleTransformed(img, t1cGrid,
	// WorldToSequence[s], volume.Linear) undoes it.
	WorldToSequence [4]volume.Affine
	// BiasFields are the true multiplicative fields, each on its sequence's
	// grid.
	BiasFields [4]*volume.Volume
	// NoiseFree is each sequence's signal on its own grid, in the image's
	// units, before the bias field and noise: Images[s] is the Rician
	// magnitude of NoiseFree[s]*BiasFields[s] plus complex noise of sigma
	// Params.NoiseSigma[s]. Nil unless Options.KeepNoiseFree.
	NoiseFree [4]*volume.Volume
	Params    Params
	Options   Options
}

// Generate builds one case. It is deterministic for given options (seed
// included) and independent of other cases, so cases can be generated in
// parallel.
func Generate(opts Options) (*Case, error) {
	pl, err := newPlan(opts)
	if err != nil {
		return nil, err
	}
	return pl.render(), nil
}

// plan is everything drawn for a case before any image is rendered: the
// random stream is consumed here, in a fixed order, so that rendering (which
// runs in parallel) cannot change what a seed means.
type plan struct {
	c         *Case
	head      headModel
	tab       [numTissues][4]float32
	models    []*lesionModel
	acq       *acquisition
	t1cGrid   volume.Grid
	noiseSeed uint64
}

func newPlan(opts Options) (*plan, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed0fca5e))
	c := &Case{Options: opts}
	pl := &plan{c: c}
	p := &c.Params
	p.FieldStrengthT = opts.FieldStrengthsT[rng.IntN(len(opts.FieldStrengthsT))]
	p.Contrast = drawContrast(rng, p.FieldStrengthT)

	pl.t1cGrid = t1cGridFor(opts)
	g := pl.t1cGrid
	fovCentre := g.Affine.Apply([3]float64{
		float64(g.Dims[0]-1) / 2, float64(g.Dims[1]-1) / 2, float64(g.Dims[2]-1) / 2})
	v := opts.AnatomyVariation
	headCentre := [3]float64{
		fovCentre[0] + (rng.Float64()-0.5)*4*v,
		fovCentre[1] + 10 + (rng.Float64()-0.5)*4*v,
		fovCentre[2] - 14 + (rng.Float64()-0.5)*4*v,
	}
	if opts.MNIPath != "" {
		mni, err := loadMNI(opts.MNIPath, rng, opts, headCentre, p)
		if err != nil {
			return nil, err
		}
		pl.head = mni
	} else {
		pl.head = newAnatomy(rng, opts, headCentre, p)
	}
	for t := range pl.tab {
		for s := range pl.tab[t] {
			pl.tab[t][s] = float32(p.Contrast[t][s])
		}
	}
	if !opts.NoMetastases {
		var err error
		if c.Lesions, err = placeLesions(rng, opts, pl.head); err != nil {
			return nil, err
		}
	}
	pl.models = make([]*lesionModel, len(c.Lesions))
	for i := range c.Lesions {
		pl.models[i] = newLesionModel(&c.Lesions[i])
	}
	pl.acq = drawAcquisition(rng, opts, p, g, fovCentre)
	pl.noiseSeed = rng.Uint64()
	return pl, nil
}

// render composites the head on the model grid and acquires the sequences.
func (pl *plan) render() *Case {
	c := pl.c
	m := buildModel(pl.head, pl.t1cGrid, c.Options.T1cSpacingMM, &pl.tab, pl.models)
	c.Label, c.Tissue, c.BrainMask = m.label, m.tissue, m.brain
	for _, s := range volume.Sequences {
		c.WorldToSequence[s] = pl.acq.world[s]
		c.Images[s], c.BiasFields[s], c.NoiseFree[s] = m.render(s, pl.acq, &c.Params, pl.noiseSeed, c.Options.KeepNoiseFree)
	}
	finishLesions(c)
	return c
}

// t1cGridFor is the T1c (reference) grid: axis-aligned RAS, FOV centred at
// the world origin.
func t1cGridFor(o Options) volume.Grid {
	var dims [3]int
	var origin [3]float64
	sp := o.T1cSpacingMM
	for a := 0; a < 3; a++ {
		dims[a] = int(math.Round(o.FOVMM[a] / sp))
		origin[a] = -float64(dims[a]-1) * sp / 2
	}
	return volume.Grid{Dims: dims, Affine: volume.Diagonal([3]float64{sp, sp, sp}, origin)}
}

// headModel is what lesion placement and the model grid need from a head:
// the procedural anatomy or the MNI-based one.
type headModel interface {
	sample(p [3]float64, h float64, tab *[numTissues][4]float32, lesions []*lesionModel) (comp, bool)
	// probe classifies a point for lesion placement: the tissue there, the
	// distance inside the brain envelope (positive inside) and the distance
	// to the grey-white boundary.
	probe(p [3]float64) probeInfo
	// bounds is a box (T1c world) that holds the brain.
	bounds() (lo, hi [3]float64)
}

type probeInfo struct {
	tissue     Tissue
	depth      float64 // inside the brain envelope, mm (negative outside)
	gwDist     float64 // |distance| to the grey-white boundary (cerebrum)
	cblDepth   float64 // inside the cerebellum, mm
	stemDepth  float64 // inside the brainstem, mm
	ventricleD float64 // distance to the ventricles (positive outside)
	midline    float64 // distance from the midsagittal plane, mm
}

func (a *anatomy) probe(p [3]float64) probeInfo {
	q := a.template(p)
	e, dCer, dCbl, dStem := a.envelope(q)
	var tab [numTissues][4]float32
	c, _ := a.sample(p, 0.01, &tab, nil)
	info := probeInfo{tissue: c.cls, depth: -e, cblDepth: -dCbl, stemDepth: -dStem, gwDist: math.Inf(1),
		ventricleD: a.ventricleDist(q), midline: math.Abs(q[0])}
	if dCer < 0 {
		depth := -dCer
		info.gwDist = math.Abs(a.gmT - math.Min(depth, a.sulcalCleft(q, depth)))
	}
	return info
}

func (a *anatomy) bounds() (lo, hi [3]float64) {
	inv, _ := a.toTmpl.Inverse()
	lo = [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	hi = [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for _, x := range []float64{-75, 75} {
		for _, y := range []float64{-100, 80} {
			for _, z := range []float64{-60, 80} {
				w := inv.Apply([3]float64{x, y, z})
				for c := 0; c < 3; c++ {
					lo[c] = math.Min(lo[c], w[c])
					hi[c] = math.Max(hi[c], w[c])
				}
			}
		}
	}
	return lo, hi
}

// placeLesions draws the count, volumes, types and positions of the
// metastases. Positions are drawn by rejection: the centre must lie in the
// drawn location (grey-white junction, cerebellum, deep grey, brainstem) with
// the whole lesion inside the brain and apart from the others.
func placeLesions(rng *rand.Rand, o Options, head headModel) ([]Lesion, error) {
	n := drawCount(rng, o)
	lo, hi := head.bounds()
	var out []Lesion
	for i := 0; i < n; i++ {
		vol := drawVolumeCM3(rng, o)
		loc := drawLocation(rng)
		shape := newShape(rng, vol*1000, [3]float64{})
		maxR := shape.MaxRadiusMM()
		placed := false
		for try := 0; try < 4000 && !placed; try++ {
			if try == 2000 {
				loc = Junction // the roomiest place
			}
			var c [3]float64
			for a := 0; a < 3; a++ {
				c[a] = lo[a] + rng.Float64()*(hi[a]-lo[a])
			}
			info := head.probe(c)
			if info.depth < maxR+1.5 || info.ventricleD < maxR*0.6 {
				continue
			}
			ok := false
			switch loc {
			case Junction:
				ok = info.gwDist < 2 && (info.tissue == WM || info.tissue == GM) && info.midline > maxR+4
			case CerebellumLoc:
				ok = info.cblDepth > 0.6*maxR+1 && (info.tissue == Cerebellum || info.tissue == WM)
			case DeepGreyLoc:
				ok = info.tissue == DeepGM && maxR < 15
			case BrainstemLoc:
				ok = info.stemDepth > 0.5*maxR+1 && maxR < 8
			}
			if !ok {
				continue
			}
			for _, other := range out {
				d := math.Sqrt(sqDist(c, other.Shape.Centre))
				if d < maxR+other.Shape.MaxRadiusMM()+2+math.Max(maxR, other.OedemaRadiusMM)*0.3 {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			shape.Centre = c
			l := Lesion{ID: len(out) + 1, CentreRAS: c, Shape: shape, Location: loc,
				VolumeCM3: shape.VolumeMM3() / 1000, RadiusMM: math.Cbrt(3 * vol * 1000 / (4 * math.Pi))}
			l.Type = Solid
			if vol > 0.4 && rng.Float64() < 0.1+0.85*smoothstep(0.4, 4, vol) {
				l.Type = Rim
				if rng.Float64() < 0.2 {
					l.Type = Haemorrhagic
				}
				rim := 1.8 + 2.2*rng.Float64()
				l.CoreFraction = math.Max(0.25, 1-rim/l.RadiusMM)
				// The core wanders inside the rim, never through it: the
				// perturbation stays well under the rim's share.
				// Each basis term is at most 1 in size, so bounding the sum
				// of the coefficients bounds the perturbation.
				lim := 0.6 * (1 - l.CoreFraction) / l.CoreFraction
				sum := 0.0
				for i := range l.CoreCoef {
					l.CoreCoef[i] = rng.NormFloat64()
					sum += math.Abs(l.CoreCoef[i])
				}
				for i := range l.CoreCoef {
					l.CoreCoef[i] *= lim / sum
				}
			} else if vol > 0.1 && rng.Float64() < 0.05 {
				l.Type = Haemorrhagic
				l.CoreFraction = 0.5
			}
			// Oedema grows with size; tiny lesions have little or none.
			grow := 0.15 + 1.1*smoothstep(0.02, 6, vol) + 0.3*rng.Float64()*smoothstep(0.05, 1, vol)
			l.OedemaRadiusMM = l.RadiusMM * (1 + grow)
			out = append(out, l)
			placed = true
		}
		if !placed {
			return nil, fmt.Errorf("phantom: could not place lesion %d of %.3g cm3 (seed %d)", i+1, vol, o.Seed)
		}
	}
	return out, nil
}

func sqDist(a, b [3]float64) float64 {
	dx, dy, dz := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return dx*dx + dy*dy + dz*dz
}

// finishLesions measures each lesion in the label and decides in which
// sequences it is visible.
func finishLesions(c *Case) {
	vv := c.Label.VoxelVolumeMM3()
	for i := range c.Lesions {
		l := &c.Lesions[i]
		n := 0
		r := l.Shape.MaxRadiusMM() + 1
		forVoxelsNear(c.Label.Grid, l.Shape.Centre, r, func(idx int, p [3]float64) {
			if c.Label.Data[idx] != 0 && l.Shape.Contains(p) {
				n++
			}
		})
		l.LabelVoxels = n
		l.LabelVolumeCM3 = float64(n) * vv / 1000
		l.VisibleIn = visibility(c, l)
	}
}

// forVoxelsNear calls f for every voxel of g whose centre is within r mm of
// centre (bounding box, axis-aligned grids).
func forVoxelsNear(g volume.Grid, centre [3]float64, r float64, f func(idx int, p [3]float64)) {
	lo, hi := [3]int{}, [3]int{}
	for a := 0; a < 3; a++ {
		lo[a], hi[a] = g.Dims[a]-1, 0
	}
	inv, err := g.Affine.Inverse()
	if err != nil {
		return
	}
	for _, dx := range []float64{-r, r} {
		for _, dy := range []float64{-r, r} {
			for _, dz := range []float64{-r, r} {
				v := inv.Apply([3]float64{centre[0] + dx, centre[1] + dy, centre[2] + dz})
				for a := 0; a < 3; a++ {
					lo[a] = min(lo[a], max(0, int(math.Floor(v[a]))))
					hi[a] = max(hi[a], min(g.Dims[a]-1, int(math.Ceil(v[a]))))
				}
			}
		}
	}
	for k := lo[2]; k <= hi[2]; k++ {
		for j := lo[1]; j <= hi[1]; j++ {
			for i := lo[0]; i <= hi[0]; i++ {
				f(g.Index(i, j, k), g.Affine.Apply([3]float64{float64(i), float64(j), float64(k)}))
			}
		}
	}
}

// visibility decides from the physics whether a lesion stands out of the
// noise in each sequence: its contrast against the host tissue, diluted by
// partial volume (the fraction of the best-placed voxel the lesion can fill,
// per axis), against the noise sigma: visible when that contrast-to-noise
// ratio exceeds 5 (the Rose criterion). Oedema counts on T2 and FLAIR.
func visibility(c *Case, l *Lesion) []string {
	p := &c.Params
	host := WM
	switch l.Location {
	case CerebellumLoc:
		host = Cerebellum
	case DeepGreyLoc:
		host = DeepGM
	case BrainstemLoc:
		host = Brainstem
	}
	core := Necrosis
	if l.Type == Haemorrhagic {
		core = Haemorrhage
	}
	var out []string
	for _, s := range volume.Sequences {
		sp := c.Images[s].Spacing()
		peak := func(d float64) float64 {
			f := 1.0
			for a := 0; a < 3; a++ {
				f *= math.Min(1, d/sp[a])
			}
			return f
		}
		// The enhancing part (the whole lesion, or a rim) and the core
		// each stand out or not; averaging them would hide a ring.
		sigmaRel := p.Contrast[WM][s] / p.SNR[s]
		enhSize := 2 * l.RadiusMM
		if l.CoreFraction > 0 {
			enhSize = l.RadiusMM * (1 - l.CoreFraction)
		}
		cnr := math.Abs(p.Contrast[Enhancing][s]-p.Contrast[host][s]) * peak(enhSize) / sigmaRel
		if l.CoreFraction > 0 {
			cnr = math.Max(cnr, math.Abs(p.Contrast[core][s]-p.Contrast[host][s])*peak(2*l.RadiusMM*l.CoreFraction)/sigmaRel)
		}
		if s == volume.T2 || s == volume.FLAIR {
			if l.OedemaRadiusMM-l.RadiusMM > 1 {
				oed := math.Abs(p.Contrast[Oedema][s]-p.Contrast[host][s]) * peak(2*l.OedemaRadiusMM) / sigmaRel
				cnr = math.Max(cnr, oed)
			}
		}
		if cnr > 5 {
			out = append(out, s.String())
		}
	}
	return out
}

package phantom

import (
	"math"
	"math/rand/v2"

	"metascope/volume"
)

// anatomy is the procedural head: a set of signed-distance-like fields (mm,
// negative inside) in a template space, composited from outside in. A T1c
// world point p maps to template point q through the case's head pose and
// size (toTmpl) and a smooth random deformation, so anatomy varies between
// cases while the fields stay simple.
//
// Template space is RAS mm with its origin near the anterior commissure.
type anatomy struct {
	toTmpl volume.Affine
	deform *coarseField

	sulci, folia, texture *perlin
	sulcFreq, sulcGrad    float64
	foliaFreq             float64

	cerC, cerAx [3]float64
	csfT        float64 // extra-axial CSF (atrophy widens it)
	skullT      float64
	fatT, skinT float64
	gmT         float64 // cortical thickness
	sulcDepth   float64
	sulcW       float64 // half width of sulcal CSF
	vent        float64 // ventricle scale
	vessels     *vesselSet
}

func newAnatomy(rng *rand.Rand, o Options, headCentre [3]float64, p *Params) *anatomy {
	v := o.AnatomyVariation
	a := &anatomy{
		sulci:   newPerlin(rng),
		folia:   newPerlin(rng),
		texture: newPerlin(rng),
		cerC:    [3]float64{0, -10, 12},
		cerAx:   [3]float64{68, 86, 64},
	}
	u := func(lo, hi float64) float64 { // uniform around the middle, scaled by variation
		mid := (lo + hi) / 2
		return mid + (rng.Float64()-0.5)*(hi-lo)*v
	}
	a.csfT = u(2.2, 4.5)
	a.skullT = u(5.5, 7.5)
	a.fatT = u(2.5, 6)
	a.skinT = u(1.8, 2.6)
	a.gmT = u(2.4, 3.0)
	a.sulcDepth = u(11, 16)
	a.sulcW = u(0.35, 1.1)
	a.vent = u(0.8, 1.5)
	p.VentricleScale = a.vent
	common := u(0.93, 1.07)
	for i := range p.HeadScale {
		p.HeadScale[i] = common * u(0.96, 1.04)
	}
	// Head pose: a small tilt of the head in the scanner (nodding mostly).
	pitch := (rng.Float64() - 0.5) * 10 * v * math.Pi / 180
	roll := (rng.Float64() - 0.5) * 4 * v * math.Pi / 180
	yaw := (rng.Float64() - 0.5) * 4 * v * math.Pi / 180
	pose := volume.RigidTransform([3]float64{pitch, roll, yaw}, headCentre, [3]float64{})
	scale := volume.Diagonal(p.HeadScale, [3]float64{})
	inv, _ := pose.Mul(scale).Inverse()
	a.toTmpl = inv
	a.deform = newDeformation(rng, [3]float64{-110, -130, -150}, [3]float64{110, 130, 110}, 16, 3.5*v)

	a.sulcFreq = 1.0 / 12
	a.sulcGrad = gradNorm(a.sulci, a.sulcFreq, 70) * 1.1
	a.foliaFreq = 1.0 / 5
	a.vessels = newVesselSet(rng, a)
	return a
}

// sulcRadial is how much slower the sulcal noise varies along the radius
// than across it.
const sulcRadial = 0.45

// gradNorm estimates the mean gradient magnitude (per mm of the radial
// projection) of the two-octave noise, so that |N|/grad approximates the
// distance to its zero sheets.
func gradNorm(n *perlin, freq, radius float64) float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	sum := 0.0
	const m = 400
	const eps = 0.05
	for i := 0; i < m; i++ {
		var s [3]float64
		for c := range s {
			s[c] = (rng.Float64() - 0.5) * 2 * radius
		}
		f := func(s [3]float64) float64 { return octaves(n, s, freq) }
		var g2 float64
		for c := 0; c < 3; c++ {
			s2 := s
			s2[c] += eps
			d := (f(s2) - f(s)) / eps
			g2 += d * d
		}
		// Only the two tangential components count on the projected sphere.
		sum += math.Sqrt(g2 * 2 / 3)
		_ = radius
	}
	return sum / m
}

func octaves(n *perlin, s [3]float64, f float64) float64 {
	return n.at(s[0]*f, s[1]*f, s[2]*f) + 0.4*n.at(s[0]*f*2.13+17.3, s[1]*f*2.13+5.1, s[2]*f*2.13+31.7)
}

// template maps a T1c world point to the (deformed) template.
func (a *anatomy) template(p [3]float64) [3]float64 {
	q := a.toTmpl.Apply(p)
	d := a.deform.at(q)
	return [3]float64{q[0] + d[0], q[1] + d[1], q[2] + d[2]}
}

func tentZ(x, y float64) float64 { return -16 + 0.2*(y+95) - 0.08*math.Abs(x) }

// cerebrumDist: an egg-shaped ellipsoid (narrower frontally) cut below by
// the skull base (frontal base, middle cranial fossae holding the temporal
// lobes) and posteriorly by the tentorium.
func (a *anatomy) cerebrumDist(q [3]float64) float64 {
	x := q[0] / (1 - 0.1*smoothstep(-10, 70, q[1]))
	d := ellipsoidDist([3]float64{x, q[1], q[2]}, a.cerC, a.cerAx)
	// Floor: the diencephalon medially, the orbital roofs frontally, the
	// tentorium posteriorly.
	front := -12 - 8*smoothstep(14, 30, q[1])
	post := tentZ(q[0], q[1]) + 1.5
	w := smoothstep(-28, -42, q[1])
	zf := front*(1-w) + post*w
	d = smax(d, zf-q[2], 6)
	// Temporal lobes hang into the middle cranial fossae.
	dt := ellipsoidDist([3]float64{math.Abs(q[0]), q[1], q[2]}, [3]float64{40, -2, -15}, [3]float64{23, 36, 21})
	return smin(d, dt, 8)
}

func (a *anatomy) cerebellumDist(q [3]float64) float64 {
	// Far from the posterior fossa (more than the scalp's thickness plus the
	// blending radius) the exact value cannot matter.
	if q[1] > -5 || q[2] > 17 || q[2] < -82 || math.Abs(q[0]) > 80 {
		return 1000
	}
	l := ellipsoidDist(q, [3]float64{-24, -62, -32}, [3]float64{27, 27, 21})
	r := ellipsoidDist(q, [3]float64{24, -62, -32}, [3]float64{27, 27, 21})
	v := ellipsoidDist(q, [3]float64{0, -58, -30}, [3]float64{14, 26, 20})
	d := smin(smin(l, r, 6), v, 6)
	return smax(d, q[2]-(tentZ(q[0], q[1])-1.5), 3)
}

type tubePoint struct {
	p [3]float64
	r float64
}

// The brainstem from the midbrain through the pons and medulla into the cord.
var stemPath = []tubePoint{
	{[3]float64{0, -20, 2}, 10}, {[3]float64{0, -20, -12}, 11}, {[3]float64{0, -17, -27}, 13.5},
	{[3]float64{0, -24, -44}, 9}, {[3]float64{0, -30, -56}, 7}, {[3]float64{0, -34, -72}, 5.5},
	{[3]float64{0, -37, -160}, 5.5},
}

func tubeDist(q [3]float64, path []tubePoint) float64 {
	best := math.Inf(1)
	for i := 0; i+1 < len(path); i++ {
		d, t := segDistT(q, path[i].p, path[i+1].p)
		d -= path[i].r + t*(path[i+1].r-path[i].r)
		if d < best {
			best = d
		}
	}
	return best
}

func segDistT(p, a, b [3]float64) (float64, float64) {
	ab := [3]float64{b[0] - a[0], b[1] - a[1], b[2] - a[2]}
	ap := [3]float64{p[0] - a[0], p[1] - a[1], p[2] - a[2]}
	l2 := ab[0]*ab[0] + ab[1]*ab[1] + ab[2]*ab[2]
	t := 0.0
	if l2 > 0 {
		t = max(0, min(1, (ap[0]*ab[0]+ap[1]*ab[1]+ap[2]*ab[2])/l2))
	}
	dx, dy, dz := ap[0]-t*ab[0], ap[1]-t*ab[1], ap[2]-t*ab[2]
	return math.Sqrt(dx*dx + dy*dy + dz*dz), t
}

func (a *anatomy) stemDist(q [3]float64) float64 {
	if q[1] < -70 || q[1] > 10 || math.Abs(q[0]) > 30 {
		return 1000
	}
	return tubeDist(q, stemPath)
}

// envelope is the signed distance to the brain's outer surface (cerebrum,
// cerebellum and brainstem together).
func (a *anatomy) envelope(q [3]float64) (e, dCer, dCbl, dStem float64) {
	dCer = a.cerebrumDist(q)
	dCbl = a.cerebellumDist(q)
	dStem = a.stemDist(q)
	e = smin(smin(dCer, dCbl, 8), dStem, 6)
	return
}

// sulcalCleft is the distance (mm) to the CSF of the cerebral clefts: the
// cortical sulci (zero sheets of band-limited noise projected radially, so
// they run perpendicular to the surface, ending in a rounded fundus), the
// interhemispheric fissure down to the corpus callosum, and the Sylvian
// fissure down to the insula.
func (a *anatomy) sulcalCleft(q [3]float64, depth float64) float64 {
	best := math.Inf(1)
	if depth < a.sulcDepth+a.gmT+6 {
		// 3D noise with the radial direction compressed, so that sulcal
		// sheets tend to run perpendicular to the surface yet meander.
		v := [3]float64{q[0] - a.cerC[0], q[1] - a.cerC[1], q[2] - a.cerC[2]}
		r := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
		s := v
		if r > 1 {
			k := (1 - sulcRadial) * (r - 60) / r
			s = [3]float64{v[0] - k*v[0], v[1] - k*v[1], v[2] - k*v[2]}
		}
		n := octaves(a.sulci, s, a.sulcFreq)
		ds := math.Abs(n) / a.sulcGrad
		// Sulcal depth varies along the cortex.
		fund := a.sulcDepth * (1 + 0.35*a.texture.at(s[0]/25, s[1]/25, s[2]/25))
		over := max(0, depth-fund)
		best = math.Sqrt(ds*ds+over*over) - a.sulcW
	}
	// Interhemispheric fissure, its fundus the corpus callosum.
	x := q[0] - 2.5*a.texture.at(q[1]/22, q[2]/22, 3.3)
	if math.Abs(x) < 12 {
		inCC := smoothstep(-46, -36, q[1]) * (1 - smoothstep(26, 34, q[1]))
		yc := (q[1] + 6) / 40
		zcc := 18 + 12*(1-yc*yc)
		zb := zcc - 140*(1-inCC)
		over := max(0, zb-q[2])
		d := math.Sqrt(x*x+over*over) - 0.7
		best = min(best, d)
	}
	// Sylvian fissures.
	ax := math.Abs(q[0])
	if ax > 25 && q[1] > -45 && q[1] < 32 && q[2] > -25 && q[2] < 25 {
		zs := 1 - 0.28*q[1] + 3*a.texture.at(q[1]/18, ax/30, 9.1)
		over := max(0, 37-ax)
		yo := max(0, max(q[1]-22, -35-q[1]))
		d := math.Sqrt((q[2]-zs)*(q[2]-zs)+over*over+yo*yo) - 1.4
		best = min(best, d)
	}
	return best
}

// airSpaces are the maxillary and sphenoid sinuses and the nasal cavity
// (x >= 0; mirrored).
var airSpaces = []struct{ c, r [3]float64 }{
	{[3]float64{22, 42, -62}, [3]float64{12, 15, 13}}, // maxillary
	{[3]float64{0, 56, -56}, [3]float64{6, 20, 15}},   // nasal cavity
	{[3]float64{0, 22, -36}, [3]float64{10, 10, 8}},   // sphenoid
}

// deepGM are the basal ganglia and thalami (both sides).
var deepGM = []struct{ c, r [3]float64 }{
	{[3]float64{12, 15, 9}, [3]float64{5, 8, 8}},     // caudate head
	{[3]float64{14, -4, 17}, [3]float64{3.5, 13, 4}}, // caudate body
	{[3]float64{24, 2, 1}, [3]float64{6, 15, 9}},     // putamen
	{[3]float64{18, -1, -1}, [3]float64{4, 8, 5}},    // globus pallidus
	{[3]float64{10, -18, 5}, [3]float64{8.5, 15, 9}}, // thalamus
}

func (a *anatomy) deepGMDist(q [3]float64) float64 {
	m := [3]float64{math.Abs(q[0]), q[1], q[2]}
	best := math.Inf(1)
	for _, s := range deepGM {
		best = min(best, ellipsoidDist(m, s.c, s.r))
	}
	return best
}

// The lateral ventricle of one side as tubes: frontal horn, body, atrium,
// occipital and temporal horns (x >= 0; mirrored).
var ventPaths = [][]tubePoint{
	{{[3]float64{5, 32, 6}, 3.4}, {[3]float64{5.5, 18, 13}, 4.2}, {[3]float64{6, 0, 17}, 3.8},
		{[3]float64{9, -22, 18}, 4}, {[3]float64{18, -36, 13}, 6}, {[3]float64{19, -52, 8}, 3.6},
		{[3]float64{13, -66, 6}, 1.5}},
	{{[3]float64{17, -36, 13}, 4}, {[3]float64{27, -34, -2}, 2.6}, {[3]float64{31, -20, -14}, 2.2},
		{[3]float64{29, -4, -20}, 1.8}},
}

func (a *anatomy) ventricleDist(q [3]float64) float64 {
	// x is compressed so that the tubes are wider than tall: the lateral
	// ventricles are slit-like crescents in coronal section.
	m := [3]float64{math.Abs(q[0]) * ventSquash, q[1], q[2]}
	best := math.Inf(1)
	for _, path := range ventPaths {
		for i := 0; i+1 < len(path); i++ {
			a0, b0 := path[i].p, path[i+1].p
			a0[0] *= ventSquash
			b0[0] *= ventSquash
			d, t := segDistT(m, a0, b0)
			r := (path[i].r + t*(path[i+1].r-path[i].r)) * a.vent
			best = min(best, d-r)
		}
	}
	// The septum pellucidum keeps the lateral ventricles apart.
	best = max(best, 0.6-math.Abs(q[0]))
	// Third ventricle: a midline slit.
	best = min(best, ellipsoidDist(q, [3]float64{0, -8, 2}, [3]float64{1.2 * a.vent, 14, 9}))
	return best
}

const ventSquash = 0.7

var choroid = []struct{ c, r [3]float64 }{
	{[3]float64{17, -37, 12}, [3]float64{3.5, 6, 3.5}},   // glomus in the atrium
	{[3]float64{9, -14, 15.5}, [3]float64{1.6, 10, 1.4}}, // along the body
}

func (a *anatomy) choroidDist(q [3]float64) float64 {
	m := [3]float64{math.Abs(q[0]), q[1], q[2]}
	best := math.Inf(1)
	for _, s := range choroid {
		c := s.c
		c[0] *= math.Sqrt(a.vent)
		best = min(best, ellipsoidDist(m, c, s.r))
	}
	return best
}

// foliumCleft is the distance to the CSF between cerebellar folia. Folia
// are leaves that run across the cerebellum (along x) and fan out around
// its transverse axis, so the noise is read along the angle in the y-z
// plane (slowly varying with x and depth): lines across in axial and
// coronal sections, a branching tree in sagittal ones.
func (a *anatomy) foliumCleft(q [3]float64, depth float64) float64 {
	if depth > 12 {
		return 20
	}
	vy, vz := q[1]+52, q[2]+30
	r := math.Sqrt(vy*vy + vz*vz)
	if r < 2 {
		return 20
	}
	theta := math.Atan2(vz, vy)
	const arc = 30.0 // mm per radian at which the pattern is laid out
	n := func(th float64) float64 {
		return a.folia.at(th*arc*a.foliaFreq, q[0]*0.025+r*0.04, 7.7)
	}
	n0 := n(theta)
	const dth = 0.01
	g := math.Abs(n(theta+dth)-n0) / (dth * r) // per mm along the arc
	if g < 1e-6 {
		return 20
	}
	ds := math.Abs(n0) / g
	over := max(0, depth-8)
	return math.Sqrt(ds*ds+over*over) - 0.3
}

// comp accumulates the partial-volume mixture of one voxel from outside in.
type comp struct {
	v   [4]float32
	cls Tissue
}

// over lays tissue values val with signed distance d (mm) over what is
// there: the box-filtered fraction of a voxel of width h inside the surface.
func (c *comp) over(val *[4]float32, t Tissue, d, h float64) {
	if d >= 0.5*h {
		return
	}
	if d < 0 {
		c.cls = t
	}
	if d <= -0.5*h {
		c.v = *val
		return
	}
	f := float32(0.5 - d/h)
	for s := 0; s < 4; s++ {
		c.v[s] += (val[s] - c.v[s]) * f
	}
}

func (c *comp) overFrac(val *[4]float32, f float32) {
	for s := 0; s < 4; s++ {
		c.v[s] += (val[s] - c.v[s]) * f
	}
}

// oedema susceptibility: vasogenic oedema spreads in white matter and spares
// the cortex.
var oedemaSus = [numTissues]float32{WM: 1, Brainstem: 0.9, DeepGM: 0.6, GM: 0.15, Cerebellum: 0.25}

// sample composites the head at T1c world point p for a voxel of width h.
// tab holds the per-case contrast. lesions may be nil (the normal head).
// It returns the mixture and whether p is inside the brain mask.
func (a *anatomy) sample(p [3]float64, h float64, tab *[numTissues][4]float32, lesions []*lesionModel) (comp, bool) {
	var c comp
	q := a.template(p)
	outer := a.csfT + a.skullT + a.fatT + a.skinT
	dFace := ellipsoidDist(q, [3]float64{0, 12, -62}, [3]float64{60, 78, 44})
	dNeck := ellipsoidDist(q, [3]float64{0, -10, -150}, [3]float64{52, 58, 110})
	// Air far from every part of the head: skip the brain's fields. The
	// bound holds the cerebrum's ellipsoid grown by the thickest scalp.
	if dFace > 12+h && dNeck > 12+h && ellipsoidDist(q, a.cerC, [3]float64{a.cerAx[0] + 40, a.cerAx[1] + 40, a.cerAx[2] + 40}) > h {
		return c, false
	}
	e, dCer, dCbl, dStem := a.envelope(q)
	dHead := smin(e-outer, smin(dFace, dNeck, 20), 14)
	// Inside the brain, structures are read where the lesions' mass effect
	// moved them from (the skull and the brain's outline stay put).
	qi := q
	if pd := displace(p, lesions); pd != p {
		qi = a.template(pd)
	}
	if dHead >= 0.5*h {
		return c, false
	}
	c.over(&tab[Scalp], Scalp, dHead, h)
	// Cranial layers follow the brain envelope outwards.
	if e < outer+h {
		c.over(&tab[Fat], Fat, e-(a.csfT+a.skullT+a.fatT), h)
		st := a.skullT * (1 + 0.15*a.texture.at(q[0]/40, q[1]/40, q[2]/40))
		c.over(&tab[Skull], Skull, e-(a.csfT+st), h)
		if st > 4 {
			c.over(&tab[Fat], Fat, max(e-(a.csfT+st-1.6), a.csfT+1.6-e), h)
		}
	}
	// Orbits: fat around the globes.
	if q[1] > 10 && q[2] < -10 && q[2] > -80 {
		m := [3]float64{math.Abs(q[0]), q[1], q[2]}
		c.over(&tab[Fat], Fat, ellipsoidDist(m, [3]float64{30, 42, -36}, [3]float64{15, 22, 13}), h)
		c.over(&tab[Eye], Eye, ellipsoidDist(m, [3]float64{32, 54, -36}, [3]float64{11.5, 11.5, 11.5}), h)
		// Air in the paranasal sinuses and the nasal cavity, lined by a
		// thin bony wall.
		for _, s := range airSpaces {
			d := ellipsoidDist(m, s.c, s.r)
			c.over(&tab[Skull], Skull, d-1.2, h)
			c.over(&tab[Background], Background, d, h)
		}
	}
	if e >= a.csfT+0.5*h {
		return c, false
	}
	c.over(&tab[CSF], CSF, e-a.csfT, h)

	// Oedema changes the white matter before anything is laid over it.
	var ow float32
	for _, l := range lesions {
		if w := l.oedemaWeight(p, a.texture); w > ow {
			ow = w
		}
	}
	val := func(t Tissue) *[4]float32 {
		if ow == 0 || oedemaSus[t] == 0 {
			return &tab[t]
		}
		w := ow * oedemaSus[t]
		var v [4]float32
		for s := 0; s < 4; s++ {
			v[s] = tab[t][s] + (tab[Oedema][s]-tab[t][s])*w
		}
		return &v
	}

	// Cerebrum: cortex, clefts, white matter, deep nuclei, ventricles.
	if dCer < 0.5*h {
		c.over(val(GM), GM, dCer, h)
		depth := -dCer
		cleft := a.sulcalCleft(qi, depth)
		c.over(&tab[CSF], CSF, cleft, h)
		c.over(val(WM), WM, a.gmT-min(depth, cleft), h)
		if math.Abs(qi[0]) < 42 && qi[1] > -75 && qi[1] < 45 && qi[2] > -35 && qi[2] < 40 {
			c.over(val(DeepGM), DeepGM, a.deepGMDist(qi), h)
			c.over(&tab[Ventricle], Ventricle, a.ventricleDist(qi), h)
			c.over(&tab[ChoroidPlexus], ChoroidPlexus, a.choroidDist(qi), h)
		}
	}
	// Cerebellum: cortex with folia around a white-matter core.
	if dCbl < 0.5*h {
		c.over(val(Cerebellum), Cerebellum, dCbl, h)
		depth := -dCbl
		fc := a.foliumCleft(qi, depth)
		c.over(&tab[CSF], CSF, fc, h)
		c.over(val(WM), WM, 1.4-min(depth, fc), h)
	}
	if dStem < 0.5*h {
		c.over(val(Brainstem), Brainstem, dStem, h)
	}
	if q[1] > -45 && q[1] < -25 && q[2] > -45 && q[2] < -15 {
		c.over(&tab[Ventricle], Ventricle, ellipsoidDist(q, [3]float64{0, -35, -30}, [3]float64{5, 2.5, 7}), h)
	}
	// Vessels: dural sinuses against the inner table, cortical veins and
	// arteries in the subarachnoid space. They enhance on T1c.
	if dv := a.vesselDist(q, e); dv < 0.5*h {
		c.over(&tab[Vessel], Vessel, dv, h)
	}
	if ow > 0 && (c.cls == WM || c.cls == Brainstem || c.cls == DeepGM) && ow*oedemaSus[c.cls] >= 0.5 {
		c.cls = Oedema
	}
	for _, l := range lesions {
		l.composite(&c, p, h, tab)
	}
	// Tissue is not uniform: a faint texture at the scale of a few mm
	// (about +/-3 %) over everything inside the head.
	tex := float32(1 + 0.03*a.texture.at(q[0]/6+40, q[1]/6+40, q[2]/6+40))
	for s := range c.v {
		c.v[s] *= tex
	}
	return c, e < 0
}

// vesselDist is the distance to the nearest vessel wall.
func (a *anatomy) vesselDist(q [3]float64, e float64) float64 {
	best := math.Inf(1)
	if e > 0 && e < a.csfT+1 {
		// Superior sagittal sinus: midline, against the inner table, from the
		// crista galli over the vertex to the torcula, widening backwards.
		if math.Abs(q[0]) < 8 && q[2] > -18 && !(q[1] > 25 && q[2] < 0) {
			rs := 1.3 + 2.2*smoothstep(60, -90, q[1])
			ec := a.csfT - rs
			best = math.Sqrt(q[0]*q[0]+(e-ec)*(e-ec)) - rs
		}
		// Transverse sinuses along the tentorium's attachment.
		if q[1] < -40 && q[2] < 5 && q[2] > -45 {
			rs := 3.5
			ec := a.csfT - rs
			zt := tentZ(q[0], q[1]) - 4
			w := smoothstep(-40, -55, q[1])
			d := math.Sqrt((q[2]-zt)*(q[2]-zt)+(e-ec)*(e-ec)) - rs*w
			best = min(best, d)
		}
	}
	if d := a.vessels.dist(q); d < best {
		best = d
	}
	return best
}

package phantom

import (
	"math"
	"math/rand/v2"
)

// LesionType is the enhancement pattern of a metastasis.
type LesionType string

// Lesion types: small metastases enhance solidly; larger ones have an
// enhancing rim around a necrotic core, sometimes haemorrhagic.
const (
	Solid        LesionType = "solid"
	Rim          LesionType = "rim"
	Haemorrhagic LesionType = "haemorrhagic"
)

// Location is where a metastasis sits.
type Location string

// Locations, in the order of their prior frequency: metastases favour the
// grey-white junction of the hemispheres and the cerebellum.
const (
	Junction        Location = "junction"
	CerebellumLoc   Location = "cerebellum"
	DeepGreyLoc     Location = "deep_grey"
	BrainstemLoc    Location = "brainstem"
	locationUnknown Location = ""
)

// Lesion describes one metastasis of a case. Its Shape is the exact
// geometry: the ground-truth label is the set of T1c voxel centres inside it.
type Lesion struct {
	ID int `json:"id"`
	// CentreRAS is the centre in T1c world coordinates (RAS mm).
	CentreRAS [3]float64 `json:"centre_ras_mm"`
	// VolumeCM3 is the exact volume of the shape; LabelVolumeCM3 is the
	// volume of its voxels in the label (they differ by partial volume).
	VolumeCM3      float64 `json:"volume_cm3"`
	LabelVolumeCM3 float64 `json:"label_volume_cm3"`
	LabelVoxels    int     `json:"label_voxels"`
	// RadiusMM is the radius of the sphere of the same volume.
	RadiusMM float64    `json:"radius_mm"`
	Type     LesionType `json:"type"`
	Location Location   `json:"location"`
	// CoreFraction is the radial fraction of the necrotic or haemorrhagic
	// core (0 for solid lesions).
	CoreFraction float64 `json:"core_fraction"`
	// CoreCoef perturbs the core's radius independently of the outer
	// surface, so that an enhancing rim is thicker in places (nodular).
	CoreCoef [7]float64 `json:"core_coef"`
	// OedemaRadiusMM is the mean radius to which perilesional oedema
	// reaches (in white matter).
	OedemaRadiusMM float64 `json:"oedema_radius_mm"`
	// VisibleIn lists the sequences ("t1", "t2", "t1c", "flair") in which
	// the lesion or its oedema stands out of the noise.
	VisibleIn []string    `json:"visible_in"`
	Shape     LesionShape `json:"shape"`
}

// LesionShape is a star-shaped body: an ellipsoid with a low-order
// spherical-harmonic perturbation of its radius, rotated and centred.
type LesionShape struct {
	Centre [3]float64    `json:"centre"`
	Scale  float64       `json:"scale_mm"`
	Axes   [3]float64    `json:"axes"`     // relative semi-axes, product 1
	Rot    [3][3]float64 `json:"rotation"` // columns are the local axes in world
	Coef   [7]float64    `json:"coef"`     // radial perturbation
}

// Radius is the distance from the centre to the surface along unit local
// direction u.
func (s *LesionShape) radiusLocal(u [3]float64) float64 {
	e := 1 / math.Sqrt(u[0]*u[0]/(s.Axes[0]*s.Axes[0])+u[1]*u[1]/(s.Axes[1]*s.Axes[1])+u[2]*u[2]/(s.Axes[2]*s.Axes[2]))
	return s.Scale * e * (1 + harmonics(u, &s.Coef))
}

// local returns p in the shape's local frame and its length.
func (s *LesionShape) local(p [3]float64) ([3]float64, float64) {
	d := [3]float64{p[0] - s.Centre[0], p[1] - s.Centre[1], p[2] - s.Centre[2]}
	var w [3]float64
	for c := 0; c < 3; c++ {
		w[c] = s.Rot[0][c]*d[0] + s.Rot[1][c]*d[1] + s.Rot[2][c]*d[2]
	}
	return w, math.Sqrt(w[0]*w[0] + w[1]*w[1] + w[2]*w[2])
}

// RadialDistance is |p - centre| minus the surface radius in p's direction:
// negative inside, zero on the surface, in mm along the ray.
func (s *LesionShape) RadialDistance(p [3]float64) float64 {
	return s.scaledRadialDistance(p, 1)
}

// scaledRadialDistance is RadialDistance for the shape shrunk by f about its
// centre.
func (s *LesionShape) scaledRadialDistance(p [3]float64, f float64) float64 {
	return s.coreDistance(p, f, nil)
}

// coreDistance is the radial distance to the core: the shape shrunk by f
// and perturbed by coef (nil for none).
func (s *LesionShape) coreDistance(p [3]float64, f float64, coef *[7]float64) float64 {
	w, r := s.local(p)
	if r == 0 {
		return -s.Scale * f * 0.5
	}
	u := [3]float64{w[0] / r, w[1] / r, w[2] / r}
	rad := f * s.radiusLocal(u)
	if coef != nil {
		rad *= 1 + harmonics(u, coef)
	}
	return r - rad
}

// harmonics is the low-order radial perturbation used for lesion surfaces.
func harmonics(u [3]float64, c *[7]float64) float64 {
	x, y, z := u[0], u[1], u[2]
	return c[0]*x*y + c[1]*y*z + c[2]*x*z + c[3]*(x*x-y*y) + c[4]*(3*z*z-1)*0.5 +
		c[5]*x*(x*x-3*y*y) + c[6]*z*(5*z*z-3)*0.5
}

// Contains reports whether world point p is inside the lesion (the
// ground-truth rule for a voxel centre).
func (s *LesionShape) Contains(p [3]float64) bool { return s.RadialDistance(p) <= 0 }

// sphereDirs are quasi-uniform unit vectors (a Fibonacci sphere) for
// quadrature over directions.
var sphereDirs = func() [][3]float64 {
	const n = 4096
	out := make([][3]float64, n)
	ga := math.Pi * (3 - math.Sqrt(5))
	for i := range out {
		z := 1 - (float64(i)+0.5)*2/n
		r := math.Sqrt(1 - z*z)
		out[i] = [3]float64{r * math.Cos(ga*float64(i)), r * math.Sin(ga*float64(i)), z}
	}
	return out
}()

// VolumeMM3 is the exact volume (to quadrature accuracy, about 1e-4) of the
// star-shaped body: the integral over directions of r^3 / 3.
func (s *LesionShape) VolumeMM3() float64 {
	var sum float64
	for _, u := range sphereDirs {
		r := s.radiusLocal(u)
		sum += r * r * r
	}
	return 4 * math.Pi / float64(len(sphereDirs)) * sum / 3
}

// MaxRadiusMM bounds the surface's distance from the centre.
func (s *LesionShape) MaxRadiusMM() float64 {
	m := 0.0
	for i := 0; i < len(sphereDirs); i += 4 {
		m = max(m, s.radiusLocal(sphereDirs[i]))
	}
	return m * 1.05
}

// newShape draws a random shape of the given volume (mm3) at centre c.
// Larger lesions are more irregular (lobulated), tiny ones nearly round.
func newShape(rng *rand.Rand, volMM3 float64, c [3]float64) LesionShape {
	s := LesionShape{Centre: c, Scale: 1}
	irregular := smoothstep(20, 3000, volMM3)
	a := [3]float64{1 + 0.25*rng.Float64(), 1 + 0.15*rng.Float64(), 1}
	g := math.Cbrt(a[0] * a[1] * a[2])
	for i := range a {
		s.Axes[i] = a[i] / g
	}
	total := 0.0
	for i := range s.Coef {
		s.Coef[i] = rng.NormFloat64() * (0.02 + 0.1*irregular)
		total += math.Abs(s.Coef[i])
	}
	// Bound the perturbation so the radius stays positive and the body
	// star-shaped.
	if total > 0.45 {
		for i := range s.Coef {
			s.Coef[i] *= 0.45 / total
		}
	}
	s.Rot = randomRotation(rng)
	v1 := s.VolumeMM3()
	s.Scale = math.Cbrt(volMM3 / v1)
	return s
}

// randomRotation is a uniformly random rotation matrix (from a random unit
// quaternion).
func randomRotation(rng *rand.Rand) [3][3]float64 {
	var q [4]float64
	n := 0.0
	for n < 1e-6 {
		for i := range q {
			q[i] = rng.NormFloat64()
		}
		n = math.Sqrt(q[0]*q[0] + q[1]*q[1] + q[2]*q[2] + q[3]*q[3])
	}
	w, x, y, z := q[0]/n, q[1]/n, q[2]/n, q[3]/n
	return [3][3]float64{
		{1 - 2*(y*y+z*z), 2 * (x*y - z*w), 2 * (x*z + y*w)},
		{2 * (x*y + z*w), 1 - 2*(x*x+z*z), 2 * (y*z - x*w)},
		{2 * (x*z - y*w), 2 * (y*z + x*w), 1 - 2*(x*x+y*y)},
	}
}

// drawCount draws the number of lesions: SingleLesionProb for exactly
// MinLesions when that is 1, otherwise a geometric fall-off up to MaxLesions.
func drawCount(rng *rand.Rand, o Options) int {
	lo, hi := o.MinLesions, o.MaxLesions
	if lo == hi {
		return lo
	}
	if lo == 1 && rng.Float64() < o.SingleLesionProb {
		return 1
	}
	start := lo
	if lo == 1 {
		start = 2
	}
	// P(n) proportional to 0.55^(n-start) on [start, hi].
	weights := make([]float64, hi-start+1)
	sum := 0.0
	for i := range weights {
		weights[i] = math.Pow(0.55, float64(i))
		sum += weights[i]
	}
	x := rng.Float64() * sum
	for i, w := range weights {
		if x < w {
			return start + i
		}
		x -= w
	}
	return hi
}

// drawVolumeCM3 draws a lesion volume from the truncated log-normal.
func drawVolumeCM3(rng *rand.Rand, o Options) float64 {
	mu := math.Log(o.MedianVolumeCM3)
	for i := 0; i < 10000; i++ {
		v := math.Exp(mu + o.VolumeLogSigma*rng.NormFloat64())
		if v >= o.MinVolumeCM3 && v <= o.MaxVolumeCM3 {
			return v
		}
	}
	// The truncation window holds almost none of the distribution: fall
	// back to log-uniform inside it.
	return math.Exp(math.Log(o.MinVolumeCM3) + rng.Float64()*math.Log(o.MaxVolumeCM3/o.MinVolumeCM3))
}

// drawLocation draws a location category by the prior frequencies of brain
// metastases (about 80 % hemispheres at the junction, 15 % cerebellum).
func drawLocation(rng *rand.Rand) Location {
	x := rng.Float64()
	switch {
	case x < 0.76:
		return Junction
	case x < 0.93:
		return CerebellumLoc
	case x < 0.98:
		return DeepGreyLoc
	default:
		return BrainstemLoc
	}
}

// lesionModel is a lesion ready to be composited into the head.
type lesionModel struct {
	shape      LesionShape
	core       float64 // radial fraction of the core, 0 when solid
	coreCoef   [7]float64
	coreTissue Tissue
	oedemaR    float64
	reach      float64 // beyond this distance from the centre nothing changes
	maxR       float64
	massR      float64 // radius of the sphere whose volume pushes the brain aside
}

func newLesionModel(l *Lesion) *lesionModel {
	m := &lesionModel{shape: l.Shape, core: l.CoreFraction, coreCoef: l.CoreCoef, oedemaR: l.OedemaRadiusMM, coreTissue: Necrosis}
	if l.Type == Haemorrhagic {
		m.coreTissue = Haemorrhage
	}
	m.maxR = l.Shape.MaxRadiusMM()
	m.reach = max(m.maxR, m.oedemaR*1.4) + 4
	return m
}

func (l *lesionModel) dist2(p [3]float64) float64 {
	dx, dy, dz := p[0]-l.shape.Centre[0], p[1]-l.shape.Centre[1], p[2]-l.shape.Centre[2]
	return dx*dx + dy*dy + dz*dz
}

// oedemaWeight is 1 inside the oedema and falls off over a noisy margin, so
// that the oedema's edge is irregular like the real finger-like spread.
func (l *lesionModel) oedemaWeight(p [3]float64, n *perlin) float32 {
	if l.oedemaR <= l.maxR*0.5 {
		return 0
	}
	d2 := l.dist2(p)
	if d2 > l.reach*l.reach {
		return 0
	}
	r := math.Sqrt(d2) * (1 + 0.22*n.at(p[0]/7+11, p[1]/7+3, p[2]/7+7))
	return float32(1 - smoothstep(0.8*l.oedemaR, 1.2*l.oedemaR, r))
}

// composite lays the lesion over the voxel at p (width h). The outer
// surface's partial volume is measured by supersampling 4x4x4 points in the
// voxel; the core's by the radial distance.
func (l *lesionModel) composite(c *comp, p [3]float64, h float64, tab *[numTissues][4]float32) {
	if d2 := l.dist2(p); d2 > (l.maxR+h)*(l.maxR+h) {
		return
	}
	d := l.shape.RadialDistance(p)
	if d > h {
		return
	}
	if d <= 0 {
		c.cls = Enhancing
	}
	f := float32(1)
	if d > -h {
		const n = 4
		in := 0
		for a := 0; a < n; a++ {
			for b := 0; b < n; b++ {
				for e := 0; e < n; e++ {
					s := [3]float64{
						p[0] + h*((float64(a)+0.5)/n-0.5),
						p[1] + h*((float64(b)+0.5)/n-0.5),
						p[2] + h*((float64(e)+0.5)/n-0.5),
					}
					if l.shape.Contains(s) {
						in++
					}
				}
			}
		}
		f = float32(in) / (n * n * n)
	}
	if f > 0 {
		c.overFrac(&tab[Enhancing], f)
	}
	if l.core > 0 {
		c.over(&tab[l.coreTissue], l.coreTissue, l.shape.coreDistance(p, l.core, &l.coreCoef), h)
	}
}

// displace maps a world point to where the brain's internal anatomy seen
// there came from before the lesions pushed it aside: each lesion inserts a
// sphere of radius massR into an incompressible medium, which moves tissue
// at distance d0 out to d = cbrt(d0^3 + massR^3). The displacement falls
// off as 1/d^2 and is ignored beyond 5 massR (under 0.3 mm there).
func displace(p [3]float64, lesions []*lesionModel) [3]float64 {
	for _, l := range lesions {
		if l.massR == 0 {
			continue
		}
		c := l.shape.Centre
		v := [3]float64{p[0] - c[0], p[1] - c[1], p[2] - c[2]}
		d := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
		if d >= 5*l.massR {
			continue
		}
		r3 := l.massR * l.massR * l.massR
		f := 0.0
		if d3 := d * d * d; d3 > r3 {
			f = math.Cbrt(d3-r3) / d
		}
		p = [3]float64{c[0] + v[0]*f, c[1] + v[1]*f, c[2] + v[2]*f}
	}
	return p
}

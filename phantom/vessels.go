package phantom

import (
	"math"
	"math/rand/v2"
)

// vesselSet holds tube segments (template mm) in a uniform grid of cells so
// that a point only tests the few segments near it.
type vesselSet struct {
	segs   []vesselSeg
	origin [3]float64
	cell   float64
	dims   [3]int
	cells  [][]int32
}

type vesselSeg struct {
	a, b   [3]float64
	ra, rb float64
}

func (v *vesselSet) add(path []tubePoint) {
	for i := 0; i+1 < len(path); i++ {
		v.segs = append(v.segs, vesselSeg{path[i].p, path[i+1].p, path[i].r, path[i+1].r})
	}
}

func (v *vesselSet) index() {
	v.origin = [3]float64{-120, -140, -160}
	v.cell = 8
	for a := range v.dims {
		v.dims[a] = int(240/v.cell) + 1
	}
	v.dims[2] = int(280/v.cell) + 1
	v.cells = make([][]int32, v.dims[0]*v.dims[1]*v.dims[2])
	for si, s := range v.segs {
		r := max(s.ra, s.rb) + 2
		var lo, hi [3]int
		for a := 0; a < 3; a++ {
			lo[a] = v.clampCell(a, (min(s.a[a], s.b[a])-r-v.origin[a])/v.cell)
			hi[a] = v.clampCell(a, (max(s.a[a], s.b[a])+r-v.origin[a])/v.cell)
		}
		for k := lo[2]; k <= hi[2]; k++ {
			for j := lo[1]; j <= hi[1]; j++ {
				for i := lo[0]; i <= hi[0]; i++ {
					c := i + v.dims[0]*(j+v.dims[1]*k)
					v.cells[c] = append(v.cells[c], int32(si))
				}
			}
		}
	}
}

func (v *vesselSet) clampCell(a int, x float64) int {
	i := int(math.Floor(x))
	return max(0, min(v.dims[a]-1, i))
}

// dist is the signed distance to the nearest tube near q (large when none).
func (v *vesselSet) dist(q [3]float64) float64 {
	var c [3]int
	for a := 0; a < 3; a++ {
		x := (q[a] - v.origin[a]) / v.cell
		if x < 0 || x >= float64(v.dims[a]) {
			return 20
		}
		c[a] = int(x)
	}
	best := 20.0
	for _, si := range v.cells[c[0]+v.dims[0]*(c[1]+v.dims[1]*c[2])] {
		s := &v.segs[si]
		d, t := segDistT(q, s.a, s.b)
		d -= s.ra + t*(s.rb-s.ra)
		if d < best {
			best = d
		}
	}
	return best
}

// newVesselSet builds the named vessels and a per-case set of cortical veins
// that wander over the convexity in the subarachnoid space.
func newVesselSet(rng *rand.Rand, a *anatomy) *vesselSet {
	v := &vesselSet{}
	// Internal cerebral veins, vein of Galen and straight sinus to the torcula.
	v.add([]tubePoint{{[3]float64{0, -8, 14}, 1}, {[3]float64{0, -30, 14}, 1.4},
		{[3]float64{0, -44, 10}, 2}, {[3]float64{0, -70, -2}, 2}, {[3]float64{0, -92, -14}, 2.4}})
	for _, sx := range []float64{-1, 1} {
		// Internal carotid, middle cerebral artery along the Sylvian
		// fissure and its branches over the insula.
		v.add([]tubePoint{{[3]float64{sx * 16, 8, -50}, 2.2}, {[3]float64{sx * 14, 4, -22}, 2}, {[3]float64{sx * 8, 4, -14}, 1.6}})
		v.add([]tubePoint{{[3]float64{sx * 12, 4, -16}, 1.6}, {[3]float64{sx * 26, 4, -10}, 1.4},
			{[3]float64{sx * 36, 0, -4}, 1.2}, {[3]float64{sx * 40, -12, 4}, 0.9}, {[3]float64{sx * 43, -30, 12}, 0.7}})
		v.add([]tubePoint{{[3]float64{sx * 36, 0, -4}, 1}, {[3]float64{sx * 40, 14, 2}, 0.8}, {[3]float64{sx * 44, 24, 14}, 0.6}})
		// Anterior cerebral artery, round the genu over the callosum.
		v.add([]tubePoint{{[3]float64{sx * 8, 4, -14}, 1.2}, {[3]float64{sx * 2, 22, -8}, 1.1},
			{[3]float64{sx * 2, 38, 12}, 1}, {[3]float64{sx * 2, 24, 34}, 0.9}, {[3]float64{sx * 2, -10, 38}, 0.8}, {[3]float64{sx * 2, -40, 34}, 0.6}})
		// Posterior cerebral artery round the midbrain.
		v.add([]tubePoint{{[3]float64{0, -10, -16}, 1.3}, {[3]float64{sx * 12, -16, -10}, 1.2},
			{[3]float64{sx * 20, -34, -4}, 1}, {[3]float64{sx * 18, -60, 0}, 0.8}})
	}
	// Basilar artery in front of the pons.
	v.add([]tubePoint{{[3]float64{0, -4, -52}, 1.6}, {[3]float64{0, -2, -28}, 1.7}, {[3]float64{0, -8, -14}, 1.5}})

	// Cortical veins: walks over the cerebral surface just outside the pia.
	n := 26 + rng.IntN(14)
	for i := 0; i < n; i++ {
		u := randomUnit(rng)
		if u[2] < -0.35 {
			u[2] = -u[2]
		}
		dir := randomTangent(rng, u)
		r := 0.55 + 0.7*rng.Float64()
		var path []tubePoint
		steps := 6 + rng.IntN(9)
		for s := 0; s < steps; s++ {
			p, ok := a.surfacePoint(u, 0.6+r)
			if !ok {
				break
			}
			path = append(path, tubePoint{p, r})
			// Step about 7 mm on the surface, turning a little.
			turn := randomTangent(rng, u)
			for c := 0; c < 3; c++ {
				dir[c] = dir[c] + 0.35*turn[c]
			}
			dir = tangentPart(dir, u)
			for c := 0; c < 3; c++ {
				u[c] += dir[c] * 7 / 75
			}
			u = normalize(u)
			dir = tangentPart(dir, u)
			r *= 1.04 // veins widen towards the sinus
		}
		if len(path) >= 2 {
			v.add(path)
		}
	}
	v.index()
	return v
}

// surfacePoint finds the point along direction u from the cerebrum's centre
// where the undeformed cerebrum distance is off mm (outside the pia).
func (a *anatomy) surfacePoint(u [3]float64, off float64) ([3]float64, bool) {
	at := func(t float64) [3]float64 {
		return [3]float64{a.cerC[0] + u[0]*t, a.cerC[1] + u[1]*t, a.cerC[2] + u[2]*t}
	}
	lo, hi := 0.0, 140.0
	if a.cerebrumDist(at(lo))-off >= 0 || a.cerebrumDist(at(hi))-off <= 0 {
		return [3]float64{}, false
	}
	for i := 0; i < 30; i++ {
		m := (lo + hi) / 2
		if a.cerebrumDist(at(m))-off < 0 {
			lo = m
		} else {
			hi = m
		}
	}
	p := at(lo)
	// Keep veins off the skull base and out of the midline fissure.
	if p[2] < -8 || math.Abs(p[0]) < 4 {
		return p, false
	}
	return p, true
}

func randomUnit(rng *rand.Rand) [3]float64 {
	for {
		v := [3]float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		if n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2]); n > 1e-6 {
			return [3]float64{v[0] / n, v[1] / n, v[2] / n}
		}
	}
}

func randomTangent(rng *rand.Rand, u [3]float64) [3]float64 {
	for {
		t := tangentPart(randomUnit(rng), u)
		if n := math.Sqrt(t[0]*t[0] + t[1]*t[1] + t[2]*t[2]); n > 1e-3 {
			return [3]float64{t[0] / n, t[1] / n, t[2] / n}
		}
	}
}

func tangentPart(v, u [3]float64) [3]float64 {
	d := v[0]*u[0] + v[1]*u[1] + v[2]*u[2]
	return [3]float64{v[0] - d*u[0], v[1] - d*u[1], v[2] - d*u[2]}
}

func normalize(v [3]float64) [3]float64 {
	n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
	return [3]float64{v[0] / n, v[1] / n, v[2] / n}
}

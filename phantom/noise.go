package phantom

import (
	"math"
	"math/rand/v2"
)

// perlin is Ken Perlin's improved gradient noise with a per-case permutation:
// smooth (C2), band-limited around one cycle per lattice unit, zero at lattice
// points. Its zero set is a network of smooth sheets, which is what the
// cortical sulci are built from.
type perlin struct {
	perm [512]uint8
}

func newPerlin(rng *rand.Rand) *perlin {
	p := &perlin{}
	var base [256]uint8
	for i := range base {
		base[i] = uint8(i)
	}
	rng.Shuffle(256, func(i, j int) { base[i], base[j] = base[j], base[i] })
	for i := 0; i < 512; i++ {
		p.perm[i] = base[i&255]
	}
	return p
}

func fade(t float64) float64 { return t * t * t * (t*(t*6-15) + 10) }

func grad(h uint8, x, y, z float64) float64 {
	switch h & 15 {
	case 0, 12:
		return x + y
	case 1, 14:
		return -x + y
	case 2:
		return x - y
	case 3:
		return -x - y
	case 4:
		return x + z
	case 5:
		return -x + z
	case 6:
		return x - z
	case 7:
		return -x - z
	case 8:
		return y + z
	case 9, 13:
		return -y + z
	case 10:
		return y - z
	default: // 11, 15
		return -y - z
	}
}

// at returns the noise at (x, y, z), roughly in [-1, 1].
func (p *perlin) at(x, y, z float64) float64 {
	fx, fy, fz := math.Floor(x), math.Floor(y), math.Floor(z)
	xi, yi, zi := int(fx)&255, int(fy)&255, int(fz)&255
	x -= fx
	y -= fy
	z -= fz
	u, v, w := fade(x), fade(y), fade(z)
	pm := &p.perm
	a := int(pm[xi]) + yi
	aa := int(pm[a]) + zi
	ab := int(pm[a+1]) + zi
	b := int(pm[xi+1]) + yi
	ba := int(pm[b]) + zi
	bb := int(pm[b+1]) + zi
	x1, y1, z1 := x-1, y-1, z-1
	l := func(t, a, b float64) float64 { return a + t*(b-a) }
	return l(w,
		l(v, l(u, grad(pm[aa], x, y, z), grad(pm[ba], x1, y, z)),
			l(u, grad(pm[ab], x, y1, z), grad(pm[bb], x1, y1, z))),
		l(v, l(u, grad(pm[aa+1], x, y, z1), grad(pm[ba+1], x1, y, z1)),
			l(u, grad(pm[ab+1], x, y1, z1), grad(pm[bb+1], x1, y1, z1))))
}

// coarseField is a smooth vector field stored on a coarse lattice and read by
// trilinear interpolation: cheap per point, used for the per-case smooth
// deformation of the anatomy.
type coarseField struct {
	origin  [3]float64
	step    float64
	dims    [3]int
	data    [][3]float64
	outside [3]float64
}

// newDeformation draws a random displacement field of the given amplitude
// (mm) over the box [lo, hi], smoothed so that neighbouring nodes correlate.
func newDeformation(rng *rand.Rand, lo, hi [3]float64, step, amplitude float64) *coarseField {
	f := &coarseField{origin: lo, step: step}
	for a := 0; a < 3; a++ {
		f.dims[a] = int(math.Ceil((hi[a]-lo[a])/step)) + 2
	}
	n := f.dims[0] * f.dims[1] * f.dims[2]
	raw := make([][3]float64, n)
	for i := range raw {
		for c := 0; c < 3; c++ {
			raw[i][c] = rng.NormFloat64()
		}
	}
	// One pass of a 3x3x3 box blur keeps the field smooth at node scale.
	f.data = make([][3]float64, n)
	idx := func(i, j, k int) int { return i + f.dims[0]*(j+f.dims[1]*k) }
	var maxAbs float64
	for k := 0; k < f.dims[2]; k++ {
		for j := 0; j < f.dims[1]; j++ {
			for i := 0; i < f.dims[0]; i++ {
				var s [3]float64
				cnt := 0.0
				for dk := -1; dk <= 1; dk++ {
					for dj := -1; dj <= 1; dj++ {
						for di := -1; di <= 1; di++ {
							ii, jj, kk := i+di, j+dj, k+dk
							if ii < 0 || jj < 0 || kk < 0 || ii >= f.dims[0] || jj >= f.dims[1] || kk >= f.dims[2] {
								continue
							}
							r := raw[idx(ii, jj, kk)]
							s[0] += r[0]
							s[1] += r[1]
							s[2] += r[2]
							cnt++
						}
					}
				}
				for c := 0; c < 3; c++ {
					s[c] /= cnt
					maxAbs = max(maxAbs, math.Abs(s[c]))
				}
				f.data[idx(i, j, k)] = s
			}
		}
	}
	if maxAbs > 0 {
		for i := range f.data {
			for c := 0; c < 3; c++ {
				f.data[i][c] *= amplitude / maxAbs
			}
		}
	}
	return f
}

// at returns the displacement at p (zero beyond the lattice).
func (f *coarseField) at(p [3]float64) [3]float64 {
	x := (p[0] - f.origin[0]) / f.step
	y := (p[1] - f.origin[1]) / f.step
	z := (p[2] - f.origin[2]) / f.step
	if x < 0 || y < 0 || z < 0 || x >= float64(f.dims[0]-1) || y >= float64(f.dims[1]-1) || z >= float64(f.dims[2]-1) {
		return f.outside
	}
	i, j, k := int(x), int(y), int(z)
	fx, fy, fz := x-float64(i), y-float64(j), z-float64(k)
	nx, nxy := f.dims[0], f.dims[0]*f.dims[1]
	o := i + nx*j + nxy*k
	var r [3]float64
	d := f.data
	for c := 0; c < 3; c++ {
		c00 := d[o][c] + (d[o+1][c]-d[o][c])*fx
		c10 := d[o+nx][c] + (d[o+nx+1][c]-d[o+nx][c])*fx
		c01 := d[o+nxy][c] + (d[o+nxy+1][c]-d[o+nxy][c])*fx
		c11 := d[o+nxy+nx][c] + (d[o+nxy+nx+1][c]-d[o+nxy+nx][c])*fx
		c0 := c00 + (c10-c00)*fy
		c1 := c01 + (c11-c01)*fy
		r[c] = c0 + (c1-c0)*fz
	}
	return r
}

func smoothstep(e0, e1, x float64) float64 {
	t := (x - e0) / (e1 - e0)
	if t <= 0 {
		return 0
	}
	if t >= 1 {
		return 1
	}
	return t * t * (3 - 2*t)
}

// smin is a smooth minimum (polynomial, blending radius k mm): the union of
// two signed-distance shapes with a rounded seam.
func smin(a, b, k float64) float64 {
	h := max(k-math.Abs(a-b), 0) / k
	return min(a, b) - h*h*k*0.25
}

// smax is the matching smooth maximum (intersection).
func smax(a, b, k float64) float64 { return -smin(-a, -b, k) }

// segDist is the distance from p to the segment a-b.
func segDist(p, a, b [3]float64) float64 {
	ab := [3]float64{b[0] - a[0], b[1] - a[1], b[2] - a[2]}
	ap := [3]float64{p[0] - a[0], p[1] - a[1], p[2] - a[2]}
	l2 := ab[0]*ab[0] + ab[1]*ab[1] + ab[2]*ab[2]
	t := 0.0
	if l2 > 0 {
		t = (ap[0]*ab[0] + ap[1]*ab[1] + ap[2]*ab[2]) / l2
		t = max(0, min(1, t))
	}
	dx := ap[0] - t*ab[0]
	dy := ap[1] - t*ab[1]
	dz := ap[2] - t*ab[2]
	return math.Sqrt(dx*dx + dy*dy + dz*dz)
}

// ellipsoidDist approximates the signed distance (mm) to an axis-aligned
// ellipsoid with centre c and semi-axes r: exact on the axes, close enough
// elsewhere for partial-volume weights.
func ellipsoidDist(p, c, r [3]float64) float64 {
	x, y, z := (p[0]-c[0])/r[0], (p[1]-c[1])/r[1], (p[2]-c[2])/r[2]
	k0 := math.Sqrt(x*x + y*y + z*z)
	if k0 == 0 {
		return -min(r[0], min(r[1], r[2]))
	}
	x2, y2, z2 := x/r[0], y/r[1], z/r[2]
	k1 := math.Sqrt(x2*x2 + y2*y2 + z2*z2)
	return k0 * (k0 - 1) / k1
}

package register

import (
	"math"
	"runtime"
	"sync"

	"metascope/volume"
)

// mattes evaluates Mattes et al.'s mutual information between fixed samples
// and a moving image under a rigid transform, and its analytic gradient
// with respect to the six parameters. Fixed intensities are binned with a
// box window, moving intensities with a cubic B-spline Parzen window, so the
// joint histogram, and hence MI, is differentiable in the transform.
type mattes struct {
	moving *volume.Volume
	minv   volume.Affine // moving world -> moving voxel
	gw     [3][3]float64 // voxel gradient -> world gradient: (A^-1)^T
	rel    [][3]float64  // sample world position minus centre
	fbin   []int32       // fixed bin of each sample
	centre [3]float64    // rotation centre (world mm)
	bins   int           // bins per axis
	mlo    float64       // moving intensity mapped to bin 0
	mscale float64       // bins per unit of moving intensity
	work   []sampleState // per-sample scratch, reused across calls
	hists  [][]float64   // per-worker joint histograms
	lg     []float64     // log(p / p_moving) per joint bin
	valid  []bool        // per sample: inside the moving image
	jac    [][6]float64  // per sample: d(moving bin)/d(params)
	parts  [][6]float64  // per-worker gradient sums
	nw     int           // workers
}

type sampleState struct {
	c float64 // continuous moving bin
}

// width is the moving axis of the joint histogram: bins plus the B-spline
// support spilling one bin below and two above.
func (m *mattes) width() int { return m.bins + 3 }

func newMattes(moving *volume.Volume, rel [][3]float64, fbin []int32, centre [3]float64, bins int, mlo, mhi float64) *mattes {
	inv, _ := moving.Affine.Inverse()
	var gw [3][3]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			gw[i][j] = inv[j][i]
		}
	}
	nw := runtime.GOMAXPROCS(0)
	m := &mattes{moving: moving, minv: inv, gw: gw, rel: rel, fbin: fbin, centre: centre, bins: bins,
		mlo: mlo, mscale: float64(bins-1) / (mhi - mlo), nw: nw}
	m.work = make([]sampleState, len(rel))
	m.valid = make([]bool, len(rel))
	m.jac = make([][6]float64, len(rel))
	m.hists = make([][]float64, nw)
	for w := range m.hists {
		m.hists[w] = make([]float64, bins*m.width())
	}
	m.lg = make([]float64, bins*m.width())
	m.parts = make([][6]float64, nw)
	return m
}

// bspline3 and its derivative.
func bspline3(u float64) float64 {
	a := math.Abs(u)
	switch {
	case a < 1:
		return (4 - 6*a*a + 3*a*a*a) / 6
	case a < 2:
		b := 2 - a
		return b * b * b / 6
	}
	return 0
}

func dbspline3(u float64) float64 {
	a := math.Abs(u)
	switch {
	case a < 1:
		return -2*u + 1.5*u*a
	case a < 2:
		b := 2 - a
		if u > 0 {
			return -b * b / 2
		}
		return b * b / 2
	}
	return 0
}

// evaluate returns MI (nats), its gradient with respect to (rx, ry, rz,
// tx, ty, tz), and the fraction of samples that fell inside the moving
// image.
func (m *mattes) evaluate(p [6]float64, wantGrad bool) (mi float64, grad [6]float64, inside float64) {
	r, dr := rotation([3]float64{p[0], p[1], p[2]})
	t := [3]float64{p[3], p[4], p[5]}
	n := len(m.rel)
	W := m.width()
	chunk := (n + m.nw - 1) / m.nw
	var wg sync.WaitGroup
	counts := make([]int, m.nw)
	for w := 0; w < m.nw; w++ {
		lo, hi := w*chunk, min(n, (w+1)*chunk)
		wg.Add(1)
		go func(w, lo, hi int) {
			defer wg.Done()
			h := m.hists[w]
			clear(h)
			cnt := 0
			for s := lo; s < hi; s++ {
				x := m.rel[s]
				var y [3]float64
				for i := 0; i < 3; i++ {
					y[i] = r[i][0]*x[0] + r[i][1]*x[1] + r[i][2]*x[2] + m.centre[i] + t[i]
				}
				v := m.minv.Apply(y)
				val, gv, ok := m.sampleGrad(v[0], v[1], v[2])
				if !ok {
					m.valid[s] = false
					continue
				}
				m.valid[s] = true
				cnt++
				c := (val - m.mlo) * m.mscale
				dcdm := m.mscale
				if c < 0 {
					c, dcdm = 0, 0
				} else if c > float64(m.bins-1) {
					c, dcdm = float64(m.bins-1), 0
				}
				m.work[s].c = c
				if wantGrad {
					// World gradient of the moving image.
					var g [3]float64
					for i := 0; i < 3; i++ {
						g[i] = m.gw[i][0]*gv[0] + m.gw[i][1]*gv[1] + m.gw[i][2]*gv[2]
					}
					var jac [6]float64
					for a := 0; a < 3; a++ {
						var dy [3]float64
						for i := 0; i < 3; i++ {
							dy[i] = dr[a][i][0]*x[0] + dr[a][i][1]*x[1] + dr[a][i][2]*x[2]
						}
						jac[a] = dcdm * (g[0]*dy[0] + g[1]*dy[1] + g[2]*dy[2])
						jac[3+a] = dcdm * g[a]
					}
					m.jac[s] = jac
				}
				cf := int(c)
				row := h[int(m.fbin[s])*W:]
				for k := cf - 1; k <= cf+2; k++ {
					row[k+1] += bspline3(float64(k) - c)
				}
			}
			counts[w] = cnt
		}(w, lo, hi)
	}
	wg.Wait()
	total := 0
	for _, c := range counts {
		total += c
	}
	inside = float64(total) / float64(max(n, 1))
	if total == 0 {
		return 0, grad, 0
	}
	// Merge, normalise, marginals.
	joint := m.hists[0]
	for w := 1; w < m.nw; w++ {
		for i, x := range m.hists[w] {
			joint[i] += x
		}
	}
	N := float64(total)
	pf := make([]float64, m.bins)
	pm := make([]float64, W)
	for a := 0; a < m.bins; a++ {
		for k := 0; k < W; k++ {
			v := joint[a*W+k] / N
			joint[a*W+k] = v
			pf[a] += v
			pm[k] += v
		}
	}
	for a := 0; a < m.bins; a++ {
		for k := 0; k < W; k++ {
			v := joint[a*W+k]
			if v > 1e-16 && pm[k] > 1e-16 {
				m.lg[a*W+k] = math.Log(v / pm[k])
				mi += v * math.Log(v/(pf[a]*pm[k]))
			} else {
				m.lg[a*W+k] = 0
			}
		}
	}
	if !wantGrad {
		return mi, grad, inside
	}
	// dMI/dp = sum over joint bins of dP/dp * log(P / Pm).
	for w := 0; w < m.nw; w++ {
		lo, hi := w*chunk, min(n, (w+1)*chunk)
		wg.Add(1)
		go func(w, lo, hi int) {
			defer wg.Done()
			var g [6]float64
			for s := lo; s < hi; s++ {
				if !m.valid[s] {
					continue
				}
				c := m.work[s].c
				cf := int(c)
				row := m.lg[int(m.fbin[s])*W:]
				var wsum float64
				for k := cf - 1; k <= cf+2; k++ {
					// d/dc of bspline3(k - c) is -bspline3'(k - c).
					wsum -= dbspline3(float64(k)-c) * row[k+1]
				}
				if wsum == 0 {
					continue
				}
				j := &m.jac[s]
				for a := 0; a < 6; a++ {
					g[a] += wsum * j[a]
				}
			}
			m.parts[w] = g
		}(w, lo, hi)
	}
	wg.Wait()
	for w := 0; w < m.nw; w++ {
		for a := 0; a < 6; a++ {
			grad[a] += m.parts[w][a] / N
		}
	}
	return mi, grad, inside
}

// sampleGrad is trilinear interpolation of the moving image with its
// gradient in voxel units; ok is false outside the image.
func (m *mattes) sampleGrad(x, y, z float64) (val float64, g [3]float64, ok bool) {
	v := m.moving
	nx, ny, nz := v.Dims[0], v.Dims[1], v.Dims[2]
	if x < 0 || y < 0 || z < 0 || x > float64(nx-1) || y > float64(ny-1) || z > float64(nz-1) {
		return 0, g, false
	}
	i0, j0, k0 := int(x), int(y), int(z)
	i1, j1, k1 := min(i0+1, nx-1), min(j0+1, ny-1), min(k0+1, nz-1)
	fx, fy, fz := x-float64(i0), y-float64(j0), z-float64(k0)
	d := v.Data
	sx, sxy := nx, nx*ny
	c000 := float64(d[i0+sx*j0+sxy*k0])
	c100 := float64(d[i1+sx*j0+sxy*k0])
	c010 := float64(d[i0+sx*j1+sxy*k0])
	c110 := float64(d[i1+sx*j1+sxy*k0])
	c001 := float64(d[i0+sx*j0+sxy*k1])
	c101 := float64(d[i1+sx*j0+sxy*k1])
	c011 := float64(d[i0+sx*j1+sxy*k1])
	c111 := float64(d[i1+sx*j1+sxy*k1])
	c00 := c000 + (c100-c000)*fx
	c10 := c010 + (c110-c010)*fx
	c01 := c001 + (c101-c001)*fx
	c11 := c011 + (c111-c011)*fx
	c0 := c00 + (c10-c00)*fy
	c1 := c01 + (c11-c01)*fy
	val = c0 + (c1-c0)*fz
	g[2] = c1 - c0
	// d/dy
	d0 := c10 - c00
	d1 := c11 - c01
	g[1] = d0 + (d1-d0)*fz
	// d/dx
	e00 := c100 - c000
	e10 := c110 - c010
	e01 := c101 - c001
	e11 := c111 - c011
	e0 := e00 + (e10-e00)*fy
	e1 := e01 + (e11-e01)*fy
	g[0] = e0 + (e1-e0)*fz
	return val, g, true
}

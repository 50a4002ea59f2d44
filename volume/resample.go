package volume

import (
	"math"
	"runtime"
	"sync"
)

// Interpolation selects how a resampler reads between voxel centres.
type Interpolation int

const (
	// Linear is trilinear interpolation, for images.
	Linear Interpolation = iota
	// Nearest takes the nearest voxel, for label maps.
	Nearest
)

// Resample maps src onto target by trilinear interpolation; points outside
// src take the value 0. When target equals src's grid the data are copied
// exactly.
func Resample(src *Volume, target Grid) *Volume {
	return ResampleTransformed(src, target, Identity(), Linear)
}

// ResampleLabel maps a label map onto target by nearest neighbour.
func ResampleLabel(src *Label, target Grid) *Label {
	out := NewLabel(target)
	m := voxelMap(src.Grid, target, Identity())
	parallelSlices(target.Dims[2], func(k0, k1 int) {
		for k := k0; k < k1; k++ {
			for j := 0; j < target.Dims[1]; j++ {
				for i := 0; i < target.Dims[0]; i++ {
					p := m.Apply([3]float64{float64(i), float64(j), float64(k)})
					si, sj, sk := roundIdx(p[0]), roundIdx(p[1]), roundIdx(p[2])
					if src.Contains(si, sj, sk) {
						out.Data[target.Index(i, j, k)] = src.Data[src.Index(si, sj, sk)]
					}
				}
			}
		}
	})
	return out
}

// ResampleTransformed samples src at T(x) for every world point x of the
// target grid, where worldT maps target world mm to src world mm (for a
// registration, the transform from the reference to the moving image). One
// interpolation, whatever the chain of transforms: compose affines first.
func ResampleTransformed(src *Volume, target Grid, worldT Affine, interp Interpolation) *Volume {
	out := New(target)
	if target.SameGeometry(src.Grid, 1e-9) && worldT.AlmostEqual(Identity(), 1e-12) {
		copy(out.Data, src.Data)
		return out
	}
	m := voxelMap(src.Grid, target, worldT)
	nx, ny := target.Dims[0], target.Dims[1]
	parallelSlices(target.Dims[2], func(k0, k1 int) {
		for k := k0; k < k1; k++ {
			for j := 0; j < ny; j++ {
				// Walk a row incrementally: the voxel map is affine.
				p := m.Apply([3]float64{0, float64(j), float64(k)})
				d := [3]float64{m[0][0], m[1][0], m[2][0]}
				off := target.Index(0, j, k)
				for i := 0; i < nx; i++ {
					if interp == Nearest {
						si, sj, sk := roundIdx(p[0]), roundIdx(p[1]), roundIdx(p[2])
						if src.Contains(si, sj, sk) {
							out.Data[off+i] = src.Data[src.Index(si, sj, sk)]
						}
					} else {
						out.Data[off+i] = src.trilinear(p[0], p[1], p[2])
					}
					p[0] += d[0]
					p[1] += d[1]
					p[2] += d[2]
				}
			}
		}
	})
	return out
}

// Sample returns the trilinear value at continuous voxel coordinates
// (0 outside the grid).
func (v *Volume) Sample(x, y, z float64) float32 { return v.trilinear(x, y, z) }

func (v *Volume) trilinear(x, y, z float64) float32 {
	nx, ny, nz := v.Dims[0], v.Dims[1], v.Dims[2]
	// Allow exact border hits; reject points beyond half a voxel of rounding.
	if x < -1e-6 || y < -1e-6 || z < -1e-6 || x > float64(nx-1)+1e-6 || y > float64(ny-1)+1e-6 || z > float64(nz-1)+1e-6 {
		return 0
	}
	i0, j0, k0 := int(math.Floor(x)), int(math.Floor(y)), int(math.Floor(z))
	i0, j0, k0 = clampInt(i0, 0, nx-1), clampInt(j0, 0, ny-1), clampInt(k0, 0, nz-1)
	fx, fy, fz := float32(x-float64(i0)), float32(y-float64(j0)), float32(z-float64(k0))
	i1, j1, k1 := i0+1, j0+1, k0+1
	if i1 >= nx {
		i1, fx = i0, 0
	}
	if j1 >= ny {
		j1, fy = j0, 0
	}
	if k1 >= nz {
		k1, fz = k0, 0
	}
	sx, sxy := nx, nx*ny
	d := v.Data
	c000 := d[i0+sx*j0+sxy*k0]
	c100 := d[i1+sx*j0+sxy*k0]
	c010 := d[i0+sx*j1+sxy*k0]
	c110 := d[i1+sx*j1+sxy*k0]
	c001 := d[i0+sx*j0+sxy*k1]
	c101 := d[i1+sx*j0+sxy*k1]
	c011 := d[i0+sx*j1+sxy*k1]
	c111 := d[i1+sx*j1+sxy*k1]
	c00 := c000 + (c100-c000)*fx
	c10 := c010 + (c110-c010)*fx
	c01 := c001 + (c101-c001)*fx
	c11 := c011 + (c111-c011)*fx
	c0 := c00 + (c10-c00)*fy
	c1 := c01 + (c11-c01)*fy
	return c0 + (c1-c0)*fz
}

// voxelMap composes target voxel -> target world -> (worldT) -> src world ->
// src voxel into one affine.
func voxelMap(src, target Grid, worldT Affine) Affine {
	inv, err := src.Affine.Inverse()
	if err != nil {
		// Grids are validated on construction; a singular affine here is a
		// programming error.
		panic("volume: resampling from a singular grid: " + err.Error())
	}
	return inv.Mul(worldT).Mul(target.Affine)
}

func roundIdx(x float64) int { return int(math.Floor(x + 0.5)) }

func clampInt(x, lo, hi int) int {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

// parallelSlices splits [0, n) into contiguous chunks run on all CPUs.
func parallelSlices(n int, f func(k0, k1 int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for k0 := 0; k0 < n; k0 += chunk {
		k1 := min(k0+chunk, n)
		wg.Add(1)
		go func(k0, k1 int) {
			defer wg.Done()
			f(k0, k1)
		}(k0, k1)
	}
	wg.Wait()
}

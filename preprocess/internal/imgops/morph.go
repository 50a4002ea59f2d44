package imgops

import "math"

// inf is a squared distance larger than any in a volume.
const inf = 1e20

// DistanceSq returns, for every voxel, the squared Euclidean distance in mm
// to the nearest voxel where feature is true (spacing gives the voxel size
// per axis). It is exact (Felzenszwalb and Huttenlocher's separable lower
// envelope of parabolas) and linear in the number of voxels. With no feature
// voxel at all every distance is +Inf-like (1e20).
func DistanceSq(feature []bool, dims [3]int, spacing [3]float64) []float32 {
	// float32 halves the memory traffic of the strided passes; squared
	// distances in mm^2 of a head are far inside its exact range.
	d := make([]float32, len(feature))
	for i, f := range feature {
		if !f {
			d[i] = inf
		}
	}
	for a := 0; a < 3; a++ {
		edtAxis(d, dims, a, spacing[a])
	}
	return d
}

func edtAxis(d []float32, dims [3]int, axis int, h float64) {
	n := dims[axis]
	strides := [3]int{1, dims[0], dims[0] * dims[1]}
	stride := strides[axis]
	o1, o2 := (axis+1)%3, (axis+2)%3
	lines := dims[o1] * dims[o2]
	h2 := h * h
	ParallelFor(lines, func(l0, l1 int) {
		f := make([]float64, n)
		v := make([]int, n)
		z := make([]float64, n+1)
		out := make([]float64, n)
		for l := l0; l < l1; l++ {
			base := (l%dims[o1])*strides[o1] + (l/dims[o1])*strides[o2]
			any, allZero := false, true
			for i := 0; i < n; i++ {
				f[i] = float64(d[base+i*stride])
				if f[i] < inf {
					any = true
				}
				if f[i] != 0 {
					allZero = false
				}
			}
			if !any || allZero {
				// No feature on the line, or every voxel is one: nothing
				// changes along it.
				continue
			}
			// Lower envelope of parabolas y = h2*(q-i)^2 + f[i].
			k := 0
			for f[k] >= inf { // first finite sample
				k++
			}
			v[0] = k
			z[0] = math.Inf(-1)
			z[1] = math.Inf(1)
			k = 0
			for q := v[0] + 1; q < n; q++ {
				if f[q] >= inf {
					continue
				}
				// z[0] is -Inf, so k never drops below 0.
				s := sep(f, v[k], q, h2)
				for s <= z[k] {
					k--
					s = sep(f, v[k], q, h2)
				}
				k++
				v[k] = q
				z[k] = s
				z[k+1] = math.Inf(1)
			}
			k = 0
			for q := 0; q < n; q++ {
				for z[k+1] < float64(q) {
					k++
				}
				dq := float64(q - v[k])
				out[q] = h2*dq*dq + f[v[k]]
			}
			for i := 0; i < n; i++ {
				d[base+i*stride] = float32(out[i])
			}
		}
	})
}

// sep is where the parabolas rooted at p and q intersect.
func sep(f []float64, p, q int, h2 float64) float64 {
	return ((f[q] + h2*float64(q*q)) - (f[p] + h2*float64(p*p))) / (2 * h2 * float64(q-p))
}

// Dilate returns the voxels within r mm of mask.
func Dilate(mask []bool, dims [3]int, spacing [3]float64, r float64) []bool {
	d := DistanceSq(mask, dims, spacing)
	out := make([]bool, len(mask))
	r2 := float32(r * r)
	for i, x := range d {
		out[i] = x <= r2
	}
	return out
}

// Erode returns the voxels of mask farther than r mm from any background
// voxel. Voxels outside the grid count as background, so a mask touching
// the border is eroded there too.
func Erode(mask []bool, dims [3]int, spacing [3]float64, r float64) []bool {
	// Pad by one voxel of background so the grid border erodes.
	pd := [3]int{dims[0] + 2, dims[1] + 2, dims[2] + 2}
	bg := make([]bool, pd[0]*pd[1]*pd[2])
	for i := range bg {
		bg[i] = true
	}
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				if mask[i+dims[0]*(j+dims[1]*k)] {
					bg[(i+1)+pd[0]*((j+1)+pd[1]*(k+1))] = false
				}
			}
		}
	}
	d := DistanceSq(bg, pd, spacing)
	out := make([]bool, len(mask))
	r2 := float32(r * r)
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				out[i+dims[0]*(j+dims[1]*k)] = d[(i+1)+pd[0]*((j+1)+pd[1]*(k+1))] > r2
			}
		}
	}
	return out
}

// Close is dilation then erosion by r mm (fills gaps narrower than 2r).
// The mask is padded by r so structures near the border close correctly.
func Close(mask []bool, dims [3]int, spacing [3]float64, r float64) []bool {
	var pad [3]int
	for a := 0; a < 3; a++ {
		pad[a] = int(math.Ceil(r/spacing[a])) + 1
	}
	pm, pd := padMask(mask, dims, pad)
	dl := Dilate(pm, pd, spacing, r)
	// Erode with the padded border counting as inside: the padding keeps
	// the image border from eating into the closed mask.
	inv := make([]bool, len(dl))
	for i, x := range dl {
		inv[i] = !x
	}
	d := DistanceSq(inv, pd, spacing)
	r2 := float32(r * r)
	out := make([]bool, len(mask))
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				out[i+dims[0]*(j+dims[1]*k)] = d[(i+pad[0])+pd[0]*((j+pad[1])+pd[1]*(k+pad[2]))] > r2
			}
		}
	}
	return out
}

// Open is erosion then dilation by r mm (removes parts thinner than 2r).
func Open(mask []bool, dims [3]int, spacing [3]float64, r float64) []bool {
	return Dilate(Erode(mask, dims, spacing, r), dims, spacing, r)
}

func padMask(mask []bool, dims, pad [3]int) ([]bool, [3]int) {
	pd := [3]int{dims[0] + 2*pad[0], dims[1] + 2*pad[1], dims[2] + 2*pad[2]}
	out := make([]bool, pd[0]*pd[1]*pd[2])
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			src := dims[0] * (j + dims[1]*k)
			dst := pad[0] + pd[0]*((j+pad[1])+pd[1]*(k+pad[2]))
			copy(out[dst:dst+dims[0]], mask[src:src+dims[0]])
		}
	}
	return out, pd
}

// Components labels the 6-connected components of mask (1, 2, ...; 0 is
// background) and returns the labels and each component's size (index 0
// unused).
func Components(mask []bool, dims [3]int) ([]int32, []int) {
	lab := make([]int32, len(mask))
	sizes := []int{0}
	stack := make([]int, 0, 1024)
	nx, nxy := dims[0], dims[0]*dims[1]
	for s, m := range mask {
		if !m || lab[s] != 0 {
			continue
		}
		id := int32(len(sizes))
		n := 0
		lab[s] = id
		stack = append(stack[:0], s)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			i := p % nx
			j := (p / nx) % dims[1]
			k := p / nxy
			try := func(q int) {
				if mask[q] && lab[q] == 0 {
					lab[q] = id
					stack = append(stack, q)
				}
			}
			if i > 0 {
				try(p - 1)
			}
			if i < nx-1 {
				try(p + 1)
			}
			if j > 0 {
				try(p - nx)
			}
			if j < dims[1]-1 {
				try(p + nx)
			}
			if k > 0 {
				try(p - nxy)
			}
			if k < dims[2]-1 {
				try(p + nxy)
			}
		}
		sizes = append(sizes, n)
	}
	return lab, sizes
}

// Largest keeps only the largest 6-connected component of mask.
func Largest(mask []bool, dims [3]int) []bool {
	lab, sizes := Components(mask, dims)
	best := 0
	for id := 1; id < len(sizes); id++ {
		if best == 0 || sizes[id] > sizes[best] {
			best = id
		}
	}
	out := make([]bool, len(mask))
	if best == 0 {
		return out
	}
	for i, l := range lab {
		out[i] = l == int32(best)
	}
	return out
}

// FillHoles adds to mask every background region not connected to the grid
// border (6-connectivity of the background).
func FillHoles(mask []bool, dims [3]int) []bool {
	bg := make([]bool, len(mask))
	for i, m := range mask {
		bg[i] = !m
	}
	lab, _ := Components(bg, dims)
	border := map[int32]bool{}
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				// An axis of length 1 (a 2D slice) has no border of its own.
				onBorder := (dims[0] > 1 && (i == 0 || i == dims[0]-1)) ||
					(dims[1] > 1 && (j == 0 || j == dims[1]-1)) ||
					(dims[2] > 1 && (k == 0 || k == dims[2]-1))
				if onBorder {
					if l := lab[i+dims[0]*(j+dims[1]*k)]; l != 0 {
						border[l] = true
					}
				}
			}
		}
	}
	out := make([]bool, len(mask))
	for i, m := range mask {
		out[i] = m || !border[lab[i]]
	}
	return out
}

// FillHolesSlices fills holes in each 2D slice perpendicular to axis (for
// sulci and ventricles open to the outside in 3D but enclosed in plane).
func FillHolesSlices(mask []bool, dims [3]int, axis int) []bool {
	out := append([]bool(nil), mask...)
	strides := [3]int{1, dims[0], dims[0] * dims[1]}
	a1, a2 := (axis+1)%3, (axis+2)%3
	sd := [3]int{dims[a1], dims[a2], 1}
	ParallelFor(dims[axis], func(s0, s1 int) {
		sl := make([]bool, sd[0]*sd[1])
		for s := s0; s < s1; s++ {
			for v := 0; v < sd[1]; v++ {
				for u := 0; u < sd[0]; u++ {
					sl[u+sd[0]*v] = mask[s*strides[axis]+u*strides[a1]+v*strides[a2]]
				}
			}
			f := FillHoles(sl, sd)
			for v := 0; v < sd[1]; v++ {
				for u := 0; u < sd[0]; u++ {
					if f[u+sd[0]*v] {
						out[s*strides[axis]+u*strides[a1]+v*strides[a2]] = true
					}
				}
			}
		}
	})
	return out
}

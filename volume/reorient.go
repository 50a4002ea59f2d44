package volume

// Canonical reorders and flips the axes of v so that its affine is closest to
// RAS (axis codes "RAS") without interpolation: voxel values are moved, never
// resampled, and the returned affine maps the moved voxels to the same world
// points as before.
func Canonical(v *Volume) *Volume {
	g, src := canonicalMap(v.Grid)
	out := &Volume{Grid: g, Data: make([]float32, g.Len())}
	for idx := range out.Data {
		out.Data[idx] = v.Data[src(idx)]
	}
	return out
}

// CanonicalLabel is Canonical for label maps.
func CanonicalLabel(l *Label) *Label {
	g, src := canonicalMap(l.Grid)
	out := &Label{Grid: g, Data: make([]uint8, g.Len())}
	for idx := range out.Data {
		out.Data[idx] = l.Data[src(idx)]
	}
	return out
}

// canonicalMap returns the RAS-ordered grid and a function from a linear index
// in it to the linear index of the same voxel in g.
func canonicalMap(g Grid) (Grid, func(int) int) {
	perm, sign := g.Affine.closestAxes()
	// Output axis w (world axis) takes input axis c with perm[c] == w.
	var inAxis [3]int
	for c := 0; c < 3; c++ {
		inAxis[perm[c]] = c
	}
	var out Grid
	// Build the index map: out voxel o (along world axis w) = in voxel along
	// axis inAxis[w], flipped when sign is negative.
	var m Affine // out voxel -> in voxel
	m[3][3] = 1
	for w := 0; w < 3; w++ {
		c := inAxis[w]
		out.Dims[w] = g.Dims[c]
		if sign[c] > 0 {
			m[c][w] = 1
		} else {
			m[c][w] = -1
			m[c][3] = float64(g.Dims[c] - 1)
		}
	}
	out.Affine = g.Affine.Mul(m)
	src := func(idx int) int {
		i, j, k := out.Coords(idx)
		p := m.Apply([3]float64{float64(i), float64(j), float64(k)})
		return g.Index(int(p[0]), int(p[1]), int(p[2]))
	}
	return out, src
}

package segedit

import (
	"fmt"
	"math"

	"metascope/volume"
)

// InterpolateOptions select the label and the direction of slice
// interpolation.
type InterpolateOptions struct {
	Value uint8 // the label outlined on the key slices
	Plane Plane // key slices are slices of this plane; gaps run along its normal
	// Region, when set, limits interpolation to a box of the grid: key
	// slices are found, and gaps filled, only inside it. The app passes a
	// box around the lesion being outlined, so that outlines of other
	// lesions on nearby slices neither count as key slices nor get bridged
	// to it. Nil means the whole grid.
	Region *Box
}

// InterpolateSlices fills the slices between outlined ones by shape-based
// interpolation (Raya and Udupa 1990): every slice of the plane holding label
// Value is a key slice; for each pair of successive key slices with empty
// slices between them, the signed distance maps of the two key masks (in mm,
// negative inside) are blended linearly by position, and the empty slice
// takes the voxels where the blend is below zero. Only background voxels are
// written (ModeAdd).
func InterpolateSlices(l *volume.Label, o InterpolateOptions) (Modifier, error) {
	if o.Value == 0 {
		return Modifier{}, fmt.Errorf("interpolate: Value must be a non-zero label")
	}
	if !o.Plane.Valid() {
		return Modifier{}, fmt.Errorf("interpolate: Plane %v is not axial, coronal or sagittal", o.Plane)
	}
	g := l.Grid
	n := o.Plane.NormalAxis(g)
	u, v := (n+1)%3, (n+2)%3
	if u > v {
		u, v = v, u
	}
	region := GridBox(g)
	if o.Region != nil {
		region = o.Region.Intersect(region)
	}
	lo, hi := region.Min[n], region.Max[n]-1
	// Bounding box of the label in the region, and which slices hold it.
	has := make([]bool, g.Dims[n])
	box := Box{Min: g.Dims}
	for k := region.Min[2]; k < region.Max[2]; k++ {
		for j := region.Min[1]; j < region.Max[1]; j++ {
			row := g.Index(0, j, k)
			for i := region.Min[0]; i < region.Max[0]; i++ {
				if l.Data[row+i] != o.Value {
					continue
				}
				p := [3]int{i, j, k}
				has[p[n]] = true
				for a := range 3 {
					box.Min[a] = min(box.Min[a], p[a])
					box.Max[a] = max(box.Max[a], p[a]+1)
				}
			}
		}
	}
	out := Modifier{Mode: ModeAdd, Value: o.Value}
	if box.Empty() {
		return out, nil
	}
	// The blend is negative only where one key mask is inside, so the union
	// box suffices; a one-voxel margin guarantees background at its rim for
	// the inside distances.
	for _, a := range []int{u, v} {
		box.Min[a] = max(0, box.Min[a]-1)
		box.Max[a] = min(g.Dims[a], box.Max[a]+1)
	}
	nu, nv := box.Size()[u], box.Size()[v]
	sp := g.Spacing()
	pos := func(s, a, b int) [3]int {
		var p [3]int
		p[n], p[u], p[v] = s, box.Min[u]+a, box.Min[v]+b
		return p
	}
	at := func(s, a, b int) int {
		p := pos(s, a, b)
		return g.Index(p[0], p[1], p[2])
	}
	sdt := func(s int) []float64 {
		// Voxels outside the region (the margin may reach there) count
		// as background.
		mask := make([]bool, nu*nv)
		for b := range nv {
			for a := range nu {
				mask[a+nu*b] = region.Contains(pos(s, a, b)) && l.Data[at(s, a, b)] == o.Value
			}
		}
		return signedDistance(mask, nu, nv, sp[u], sp[v])
	}
	var idxs []int32
	prev := -1
	var prevSDT []float64
	for s := lo; s <= hi; s++ {
		if !has[s] {
			continue
		}
		cur := sdt(s)
		if prev >= 0 && s-prev > 1 {
			for m := prev + 1; m < s; m++ {
				t := float64(m-prev) / float64(s-prev)
				for b := range nv {
					for a := range nu {
						q := a + nu*b
						if (1-t)*prevSDT[q]+t*cur[q] < 0 {
							idxs = append(idxs, int32(at(m, a, b)))
						}
					}
				}
			}
		}
		prev, prevSDT = s, cur
	}
	if len(idxs) == 0 {
		return out, nil
	}
	return fromIndices(g, idxs, ModeAdd, o.Value), nil
}

// signedDistance is the signed Euclidean distance map of a 2D mask (nu x nv,
// a fastest) with pixel spacing su, sv mm: for pixels outside, the distance
// to the nearest inside pixel; for pixels inside, minus the distance to the
// nearest outside pixel. An all-inside or all-outside mask gives +-Inf where
// the other set is missing.
func signedDistance(mask []bool, nu, nv int, su, sv float64) []float64 {
	toIn := squaredEDT(mask, true, nu, nv, su, sv)
	toOut := squaredEDT(mask, false, nu, nv, su, sv)
	out := make([]float64, len(mask))
	for i, in := range mask {
		if in {
			out[i] = -math.Sqrt(toOut[i])
		} else {
			out[i] = math.Sqrt(toIn[i])
		}
	}
	return out
}

// squaredEDT is the exact squared Euclidean distance (mm^2) from every pixel
// to the nearest pixel whose mask equals feature (Felzenszwalb and
// Huttenlocher 2012: two separable passes of the 1D lower envelope of
// parabolas).
func squaredEDT(mask []bool, feature bool, nu, nv int, su, sv float64) []float64 {
	inf := math.Inf(1)
	d := make([]float64, len(mask))
	for i, m := range mask {
		if m == feature {
			d[i] = 0
		} else {
			d[i] = inf
		}
	}
	n := max(nu, nv)
	f := make([]float64, n)
	r := make([]float64, n)
	w := make([]int, n)
	z := make([]float64, n+1)
	for b := range nv {
		row := d[b*nu : (b+1)*nu]
		copy(f, row)
		edt1D(f[:nu], r[:nu], su, w, z)
		copy(row, r[:nu])
	}
	for a := range nu {
		for b := range nv {
			f[b] = d[a+nu*b]
		}
		edt1D(f[:nv], r[:nv], sv, w, z)
		for b := range nv {
			d[a+nu*b] = r[b]
		}
	}
	return d
}

// edt1D computes out[q] = min_p (s (q - p))^2 + f[p], skipping p with
// infinite f; v and z are scratch of len(f) and len(f)+1.
func edt1D(f, out []float64, s float64, v []int, z []float64) {
	k := -1
	for q := range f {
		if math.IsInf(f[q], 1) {
			continue
		}
		x := float64(q) * s
		for k >= 0 {
			p := v[k]
			xp := float64(p) * s
			zz := ((f[q] + x*x) - (f[p] + xp*xp)) / (2 * (x - xp))
			if zz <= z[k] {
				k--
				continue
			}
			k++
			v[k], z[k] = q, zz
			break
		}
		if k < 0 {
			k = 0
			v[0], z[0] = q, math.Inf(-1)
		}
	}
	if k < 0 {
		for q := range out {
			out[q] = math.Inf(1)
		}
		return
	}
	z[k+1] = math.Inf(1)
	j := 0
	for q := range out {
		x := float64(q) * s
		for z[j+1] < x {
			j++
		}
		dx := x - float64(v[j])*s
		out[q] = dx*dx + f[v[j]]
	}
}

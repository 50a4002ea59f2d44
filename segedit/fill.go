package segedit

import (
	"fmt"

	"metascope/volume"
)

// Connectivity of region growing.
type conn int

const (
	connFace conn = iota // 6 neighbours in 3D, 4 on a slice
	connFull             // 26 neighbours in 3D, 8 on a slice
)

// grow returns the linear indices of the voxels connected to the seeds
// through voxels for which in is true, staying inside box; axis fixed (-1 for
// none) is never stepped along, which makes the growth 2D on a slice.
//
// It is the hot loop of every fill (a 1 M voxel fill visits 6 M
// neighbours), so it works in box-local indices with precomputed strides and
// decodes coordinates once per voxel, not per neighbour.
func grow(g volume.Grid, box Box, seeds []int32, in func(idx int) bool, c conn, fixed int) []int32 {
	size := box.Size()
	nLocal := box.Len()
	if nLocal == 0 {
		return nil
	}
	seen := make([]uint64, (nLocal+63)/64)
	type offset struct {
		d             [3]int
		global, local int
	}
	var offs []offset
	for dk := -1; dk <= 1; dk++ {
		for dj := -1; dj <= 1; dj++ {
			for di := -1; di <= 1; di++ {
				d := [3]int{di, dj, dk}
				nz := 0
				for a := range 3 {
					if d[a] != 0 {
						nz++
					}
				}
				if nz == 0 || (c == connFace && nz > 1) || (fixed >= 0 && d[fixed] != 0) {
					continue
				}
				offs = append(offs, offset{
					d:      d,
					global: di + g.Dims[0]*(dj+g.Dims[1]*dk),
					local:  di + size[0]*(dj+size[1]*dk),
				})
			}
		}
	}
	// Queue entries are global indices; the local index is derived from
	// the local coordinates decoded below.
	out := make([]int32, 0, 1024)
	for _, s := range seeds {
		i, j, k := g.Coords(int(s))
		if !box.Contains([3]int{i, j, k}) || !in(int(s)) {
			continue
		}
		li := box.index(i, j, k)
		if seen[li>>6]&(1<<(li&63)) != 0 {
			continue
		}
		seen[li>>6] |= 1 << (li & 63)
		out = append(out, s)
	}
	sx, sxy := g.Dims[0], g.Dims[0]*g.Dims[1]
	for q := 0; q < len(out); q++ {
		idx := int(out[q])
		k := idx / sxy
		j := (idx - k*sxy) / sx
		i := idx - k*sxy - j*sx
		p := [3]int{i - box.Min[0], j - box.Min[1], k - box.Min[2]}
		li := p[0] + size[0]*(p[1]+size[1]*p[2])
		for _, o := range offs {
			if p[0]+o.d[0] < 0 || p[0]+o.d[0] >= size[0] ||
				p[1]+o.d[1] < 0 || p[1]+o.d[1] >= size[1] ||
				p[2]+o.d[2] < 0 || p[2]+o.d[2] >= size[2] {
				continue
			}
			nl := li + o.local
			w, bit := nl>>6, uint64(1)<<(nl&63)
			if seen[w]&bit != 0 {
				continue
			}
			ng := idx + o.global
			if !in(ng) {
				continue
			}
			seen[w] |= bit
			out = append(out, int32(ng))
		}
	}
	return out
}

// FloodOptions describe a flood fill from a seed voxel.
type FloodOptions struct {
	ThreeD bool  // fill in 3D; otherwise on the seed's slice of Plane
	Plane  Plane // the slice of a 2D fill
	// Range, when set, grows through voxels whose intensity on Range.Image is
	// inside [Lo, Hi]; otherwise through voxels with the seed's label value
	// (click inside an outline to fill it).
	Range *IntensityRange
	Mode  Mode
	Value uint8
}

// Validate checks the options against the label grid g.
func (o FloodOptions) Validate(g volume.Grid) error {
	if !o.ThreeD && !o.Plane.Valid() {
		return fmt.Errorf("flood fill Plane %v is not axial, coronal or sagittal", o.Plane)
	}
	if err := (Modifier{Mode: o.Mode, Value: o.Value}).Validate(g); err != nil {
		return fmt.Errorf("flood fill: %w", err)
	}
	if o.Range != nil {
		if err := o.Range.Validate(g); err != nil {
			return fmt.Errorf("flood fill: %w", err)
		}
	}
	return nil
}

// FloodFill selects the face-connected region (6 neighbours in 3D, 4 on a
// slice) around seed: voxels sharing the seed's label value, or voxels in the
// intensity range. Face connectivity keeps a fill inside an outline drawn
// with diagonal steps.
func FloodFill(l *volume.Label, seed [3]int, o FloodOptions) (Modifier, error) {
	if err := o.Validate(l.Grid); err != nil {
		return Modifier{}, err
	}
	if !inGrid(l.Grid, seed) {
		return Modifier{}, fmt.Errorf("flood fill seed %v is outside the %v grid", seed, l.Dims)
	}
	box, fixed := GridBox(l.Grid), -1
	if !o.ThreeD {
		fixed = o.Plane.NormalAxis(l.Grid)
		box.Min[fixed], box.Max[fixed] = seed[fixed], seed[fixed]+1
	}
	s := l.Index(seed[0], seed[1], seed[2])
	var in func(int) bool
	if o.Range != nil {
		in = o.Range.contains
	} else {
		v := l.Data[s]
		in = func(idx int) bool { return l.Data[idx] == v }
	}
	region := grow(l.Grid, box, []int32{int32(s)}, in, connFace, fixed)
	return fromIndices(l.Grid, region, o.Mode, o.Value), nil
}

// DeleteComponent selects the 26-connected lesion under seed (voxels with
// the seed's label value) for removal. A background seed gives an empty
// modifier.
func DeleteComponent(l *volume.Label, seed [3]int) (Modifier, error) {
	if !inGrid(l.Grid, seed) {
		return Modifier{}, fmt.Errorf("delete component: seed %v is outside the %v grid", seed, l.Dims)
	}
	s := l.Index(seed[0], seed[1], seed[2])
	v := l.Data[s]
	if v == 0 {
		return Modifier{Mode: ModeRemove}, nil
	}
	region := grow(l.Grid, GridBox(l.Grid), []int32{int32(s)}, func(idx int) bool { return l.Data[idx] == v }, connFull, -1)
	return fromIndices(l.Grid, region, ModeRemove, v), nil
}

// FillHolesOptions say which label's holes to fill and how.
type FillHolesOptions struct {
	Value  uint8 // the label whose holes are filled
	ThreeD bool  // holes enclosed in 3D; otherwise per slice of Plane
	Plane  Plane
}

// FillHoles selects the background voxels enclosed by label Value: those not
// face-connected, through voxels of other values, to the border of the
// label's bounding box (of each slice, in 2D). Enclosed voxels of other
// non-zero labels are left alone (the modifier adds only on background).
func FillHoles(l *volume.Label, o FillHolesOptions) (Modifier, error) {
	if o.Value == 0 {
		return Modifier{}, fmt.Errorf("fill holes: Value must be a non-zero label")
	}
	if !o.ThreeD && !o.Plane.Valid() {
		return Modifier{}, fmt.Errorf("fill holes: Plane %v is not axial, coronal or sagittal", o.Plane)
	}
	g := l.Grid
	box := Box{Min: g.Dims}
	for idx, v := range l.Data {
		if v != o.Value {
			continue
		}
		i, j, k := g.Coords(idx)
		p := [3]int{i, j, k}
		for a := range 3 {
			box.Min[a] = min(box.Min[a], p[a])
			box.Max[a] = max(box.Max[a], p[a]+1)
		}
	}
	if box.Empty() {
		return Modifier{Mode: ModeAdd, Value: o.Value}, nil
	}
	fixed := -1
	if !o.ThreeD {
		fixed = o.Plane.NormalAxis(g)
	}
	// Seeds: every voxel on the box faces that bound the growth (the four
	// in-plane faces in 2D, all six in 3D); grow rejects those of Value.
	var seeds []int32
	for k := box.Min[2]; k < box.Max[2]; k++ {
		for j := box.Min[1]; j < box.Max[1]; j++ {
			for i := box.Min[0]; i < box.Max[0]; i++ {
				p := [3]int{i, j, k}
				edge := false
				for a := range 3 {
					if a != fixed && (p[a] == box.Min[a] || p[a] == box.Max[a]-1) {
						edge = true
					}
				}
				if edge {
					seeds = append(seeds, int32(g.Index(i, j, k)))
				}
			}
		}
	}
	outside := grow(g, box, seeds, func(idx int) bool { return l.Data[idx] != o.Value }, connFace, fixed)
	reached := make([]bool, box.Len())
	for _, idx := range outside {
		i, j, k := g.Coords(int(idx))
		reached[box.index(i, j, k)] = true
	}
	m := Modifier{Box: box, Mask: make([]bool, box.Len()), Mode: ModeAdd, Value: o.Value}
	mi := 0
	for k := box.Min[2]; k < box.Max[2]; k++ {
		for j := box.Min[1]; j < box.Max[1]; j++ {
			row := g.Index(box.Min[0], j, k)
			for di := range box.Size()[0] {
				m.Mask[mi] = !reached[mi] && l.Data[row+di] == 0
				mi++
			}
		}
	}
	return m, nil
}

// AcceptCandidate turns every non-zero voxel of an AI candidate map (on the
// label's grid) into a modifier writing value with mode (ModeAdd keeps the
// reader's own labels; ModeSet overwrites them).
func AcceptCandidate(g volume.Grid, cand *volume.Label, mode Mode, value uint8) (Modifier, error) {
	if !cand.SameGeometry(g, 1e-3) {
		return Modifier{}, fmt.Errorf("accept candidate: candidate map %v is not on the label grid %v", cand.Dims, g.Dims)
	}
	mask := make([]bool, len(cand.Data))
	for i, v := range cand.Data {
		mask[i] = v != 0
	}
	return FromMask(g, mask, mode, value)
}

// AcceptCandidateAt accepts only the candidate lesion under seed: the
// 26-connected component of non-zero candidate voxels containing it. A seed
// on candidate background gives an empty modifier.
func AcceptCandidateAt(g volume.Grid, cand *volume.Label, seed [3]int, mode Mode, value uint8) (Modifier, error) {
	if !cand.SameGeometry(g, 1e-3) {
		return Modifier{}, fmt.Errorf("accept candidate: candidate map %v is not on the label grid %v", cand.Dims, g.Dims)
	}
	if !inGrid(g, seed) {
		return Modifier{}, fmt.Errorf("accept candidate: seed %v is outside the %v grid", seed, g.Dims)
	}
	s := g.Index(seed[0], seed[1], seed[2])
	if cand.Data[s] == 0 {
		return Modifier{Mode: mode, Value: value}, nil
	}
	region := grow(g, GridBox(g), []int32{int32(s)}, func(idx int) bool { return cand.Data[idx] != 0 }, connFull, -1)
	return fromIndices(g, region, mode, value), nil
}

package segedit

import (
	"fmt"

	"metascope/volume"
)

// Mode says how a Modifier changes the voxels under its mask.
type Mode uint8

const (
	// ModeSet writes Value under the mask, overwriting any other label.
	ModeSet Mode = iota + 1
	// ModeAdd writes Value only where the label is background (0), so that
	// painting never overwrites another label value.
	ModeAdd
	// ModeRemove clears voxels under the mask to 0: those equal to Value, or
	// any non-zero voxel when Value is 0 (the eraser).
	ModeRemove
)

func (m Mode) String() string {
	switch m {
	case ModeSet:
		return "set"
	case ModeAdd:
		return "add"
	case ModeRemove:
		return "remove"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Modifier is one edit before it is applied: a dense boolean mask over a box
// of the label grid, a mode and a label value. Every tool builds one; Apply
// turns it into a Delta.
type Modifier struct {
	Box   Box
	Mask  []bool // len == Box.Len(), i fastest, then j, then k
	Mode  Mode
	Value uint8
}

// Count is the number of voxels selected by the mask.
func (m Modifier) Count() int {
	n := 0
	for _, b := range m.Mask {
		if b {
			n++
		}
	}
	return n
}

// Validate checks the modifier against grid g.
func (m Modifier) Validate(g volume.Grid) error {
	if len(m.Mask) != m.Box.Len() {
		return fmt.Errorf("modifier mask has %d voxels, box %v holds %d", len(m.Mask), m.Box, m.Box.Len())
	}
	if !m.Box.Empty() && m.Box.Intersect(GridBox(g)) != m.Box {
		return fmt.Errorf("modifier box %v is outside the %v grid", m.Box, g.Dims)
	}
	switch m.Mode {
	case ModeSet, ModeAdd:
		if m.Value == 0 {
			return fmt.Errorf("modifier mode %v needs a non-zero label value", m.Mode)
		}
	case ModeRemove:
	default:
		return fmt.Errorf("modifier mode %v is not set, add or remove", m.Mode)
	}
	return nil
}

// target is the value voxel old takes under the modifier.
func (m Modifier) target(old uint8) uint8 {
	switch m.Mode {
	case ModeSet:
		return m.Value
	case ModeAdd:
		if old == 0 {
			return m.Value
		}
	case ModeRemove:
		if m.Value == 0 || old == m.Value {
			return 0
		}
	}
	return old
}

// Apply is the one edit path: it changes l as m says and returns the Delta of
// the voxels that actually changed (old and new values, run-length encoded),
// which is what undo history and the journal record. An empty modifier or one
// that changes nothing returns an empty Delta.
func Apply(l *volume.Label, m Modifier) (Delta, error) {
	if err := m.Validate(l.Grid); err != nil {
		return Delta{}, fmt.Errorf("apply: %w", err)
	}
	var enc runEncoder
	if m.Box.Empty() {
		return Delta{}, nil
	}
	s := m.Box.Size()
	mi := 0
	for k := m.Box.Min[2]; k < m.Box.Max[2]; k++ {
		for j := m.Box.Min[1]; j < m.Box.Max[1]; j++ {
			row := l.Index(m.Box.Min[0], j, k)
			mask := m.Mask[mi : mi+s[0]]
			mi += s[0]
			for di, on := range mask {
				if !on {
					continue
				}
				idx := row + di
				old := l.Data[idx]
				nv := m.target(old)
				if nv != old {
					l.Data[idx] = nv
					enc.add(uint32(idx), old, nv)
				}
			}
		}
	}
	return enc.delta(), nil
}

// FromMask crops a whole-grid mask (len g.Len()) to its bounding box and
// returns it as a Modifier; an all-false mask gives an empty modifier.
func FromMask(g volume.Grid, mask []bool, mode Mode, value uint8) (Modifier, error) {
	if len(mask) != g.Len() {
		return Modifier{}, fmt.Errorf("mask has %d voxels, grid %v holds %d", len(mask), g.Dims, g.Len())
	}
	b := Box{Min: g.Dims}
	found := false
	for idx, on := range mask {
		if !on {
			continue
		}
		found = true
		i, j, k := g.Coords(idx)
		p := [3]int{i, j, k}
		for a := range 3 {
			b.Min[a] = min(b.Min[a], p[a])
			b.Max[a] = max(b.Max[a], p[a]+1)
		}
	}
	if !found {
		return Modifier{Mode: mode, Value: value}, nil
	}
	m := Modifier{Box: b, Mask: make([]bool, b.Len()), Mode: mode, Value: value}
	s := b.Size()
	mi := 0
	for k := b.Min[2]; k < b.Max[2]; k++ {
		for j := b.Min[1]; j < b.Max[1]; j++ {
			row := g.Index(b.Min[0], j, k)
			copy(m.Mask[mi:mi+s[0]], mask[row:row+s[0]])
			mi += s[0]
		}
	}
	return m, nil
}

// fromIndices builds a Modifier from a list of linear voxel indices of g.
func fromIndices(g volume.Grid, idxs []int32, mode Mode, value uint8) Modifier {
	if len(idxs) == 0 {
		return Modifier{Mode: mode, Value: value}
	}
	b := Box{Min: g.Dims}
	for _, idx := range idxs {
		i, j, k := g.Coords(int(idx))
		p := [3]int{i, j, k}
		for a := range 3 {
			b.Min[a] = min(b.Min[a], p[a])
			b.Max[a] = max(b.Max[a], p[a]+1)
		}
	}
	m := Modifier{Box: b, Mask: make([]bool, b.Len()), Mode: mode, Value: value}
	for _, idx := range idxs {
		i, j, k := g.Coords(int(idx))
		m.Mask[b.index(i, j, k)] = true
	}
	return m
}

// IntensityRange restricts an edit to voxels whose intensity on Image (a
// sequence on the label's grid) lies in [Lo, Hi]: Slicer's "editable
// intensity range", ITK-SNAP's threshold-constrained paint.
type IntensityRange struct {
	Image  *volume.Volume
	Lo, Hi float32
}

// Validate checks the range against the label grid g.
func (r IntensityRange) Validate(g volume.Grid) error {
	if r.Image == nil {
		return fmt.Errorf("intensity range has no image")
	}
	if !r.Image.SameGeometry(g, 1e-3) {
		return fmt.Errorf("intensity range image (%v) is not on the label grid (%v); resample it first", r.Image.Dims, g.Dims)
	}
	if r.Lo != r.Lo || r.Hi != r.Hi || r.Lo > r.Hi {
		return fmt.Errorf("intensity range [%g, %g] is empty or not a number", r.Lo, r.Hi)
	}
	return nil
}

func (r IntensityRange) contains(idx int) bool {
	x := r.Image.Data[idx]
	return x >= r.Lo && x <= r.Hi
}

// Constrain clears the mask bits of m whose intensity on r.Image is outside
// [r.Lo, r.Hi]. It is how the threshold brush (and any tool with an editable
// intensity range) is made: build the plain modifier, then constrain it.
func Constrain(m Modifier, r IntensityRange) (Modifier, error) {
	if err := r.Validate(r.Image.Grid); err != nil {
		return Modifier{}, err
	}
	if len(m.Mask) != m.Box.Len() || m.Box.Intersect(GridBox(r.Image.Grid)) != m.Box {
		return Modifier{}, fmt.Errorf("constrain: modifier box %v does not fit the %v image", m.Box, r.Image.Dims)
	}
	out := m
	out.Mask = append([]bool(nil), m.Mask...)
	s := m.Box.Size()
	mi := 0
	for k := m.Box.Min[2]; k < m.Box.Max[2]; k++ {
		for j := m.Box.Min[1]; j < m.Box.Max[1]; j++ {
			row := r.Image.Index(m.Box.Min[0], j, k)
			for di := range s[0] {
				if out.Mask[mi] && !r.contains(row+di) {
					out.Mask[mi] = false
				}
				mi++
			}
		}
	}
	return out, nil
}

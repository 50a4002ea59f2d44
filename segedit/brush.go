package segedit

import (
	"fmt"
	"math"

	"metascope/volume"
)

// MaxBrushRadiusMM bounds brush sizes: larger brushes are a fill, not a brush.
const MaxBrushRadiusMM = 100

// BrushOptions describe the brush: a disc on a plane (2D) or a sphere (3D),
// round in millimetres on the grid's possibly anisotropic or oblique voxels.
type BrushOptions struct {
	RadiusMM float64 // 0 paints the single voxel under the cursor
	Sphere   bool    // 3D sphere; otherwise a 2D disc on Plane
	Plane    Plane   // the slice a 2D brush paints on
	Mode     Mode
	Value    uint8
	// Range, when set, makes this the threshold brush: only voxels whose
	// intensity on Range.Image is inside [Lo, Hi] are painted.
	Range *IntensityRange
}

// Validate checks the options against the label grid g.
func (o BrushOptions) Validate(g volume.Grid) error {
	if math.IsNaN(o.RadiusMM) || o.RadiusMM < 0 || o.RadiusMM > MaxBrushRadiusMM {
		return fmt.Errorf("brush RadiusMM is %g; must be in [0, %d]", o.RadiusMM, MaxBrushRadiusMM)
	}
	if !o.Sphere && !o.Plane.Valid() {
		return fmt.Errorf("brush Plane %v is not axial, coronal or sagittal", o.Plane)
	}
	if err := (Modifier{Mode: o.Mode, Value: o.Value}).Validate(g); err != nil {
		return fmt.Errorf("brush: %w", err)
	}
	if o.Range != nil {
		if err := o.Range.Validate(g); err != nil {
			return fmt.Errorf("brush: %w", err)
		}
	}
	return nil
}

// Brush is one dab of the brush centred on voxel c.
func Brush(g volume.Grid, c [3]int, o BrushOptions) (Modifier, error) {
	return BrushSegment(g, c, c, o)
}

// Eraser is one dab that clears every label value under the brush; o.Mode
// and o.Value are ignored.
func Eraser(g volume.Grid, c [3]int, o BrushOptions) (Modifier, error) {
	o.Mode, o.Value = ModeRemove, 0
	return BrushSegment(g, c, c, o)
}

// ThresholdBrush is one dab that paints only voxels with intensity in r.
func ThresholdBrush(g volume.Grid, c [3]int, o BrushOptions, r IntensityRange) (Modifier, error) {
	o.Range = &r
	return BrushSegment(g, c, c, o)
}

// BrushSegment sweeps the brush from voxel a to voxel b: every voxel within
// RadiusMM (in mm, through the affine) of the segment ab is selected, so a
// fast mouse move leaves no gaps. A 2D brush needs a and b on the same slice
// of its plane. Parts outside the grid are clipped.
func BrushSegment(g volume.Grid, a, b [3]int, o BrushOptions) (Modifier, error) {
	if err := o.Validate(g); err != nil {
		return Modifier{}, err
	}
	n := -1
	if !o.Sphere {
		n = o.Plane.NormalAxis(g)
		if a[n] != b[n] {
			return Modifier{}, fmt.Errorf("2D brush segment %v-%v crosses %v slices", a, b, o.Plane)
		}
	}
	ext, err := reach(g, o.RadiusMM)
	if err != nil {
		return Modifier{}, err
	}
	var box Box
	for ax := range 3 {
		box.Min[ax] = min(a[ax], b[ax]) - ext[ax]
		box.Max[ax] = max(a[ax], b[ax]) + ext[ax] + 1
	}
	if n >= 0 {
		box.Min[n], box.Max[n] = a[n], a[n]+1
	}
	box = box.Intersect(GridBox(g))
	m := Modifier{Box: box, Mask: make([]bool, box.Len()), Mode: o.Mode, Value: o.Value}
	if box.Empty() {
		return m, nil
	}
	G := gridMetric(g)
	af, bf := toF(a), toF(b)
	ab := [3]float64{bf[0] - af[0], bf[1] - af[1], bf[2] - af[2]}
	abab := G.norm2(ab)
	r2 := o.RadiusMM*o.RadiusMM*(1+1e-9) + 1e-9
	mi := 0
	for k := box.Min[2]; k < box.Max[2]; k++ {
		for j := box.Min[1]; j < box.Max[1]; j++ {
			for i := box.Min[0]; i < box.Max[0]; i++ {
				d := [3]float64{float64(i) - af[0], float64(j) - af[1], float64(k) - af[2]}
				if abab > 0 {
					t := min(1, max(0, G.dot(d, ab)/abab))
					d[0] -= t * ab[0]
					d[1] -= t * ab[1]
					d[2] -= t * ab[2]
				}
				m.Mask[mi] = G.norm2(d) <= r2
				mi++
			}
		}
	}
	if o.Range != nil {
		return Constrain(m, *o.Range)
	}
	return m, nil
}

// Stroke is one press-drag-release of the brush on a label: each point paints
// at once (so every view shows it while the mouse moves), segments between
// successive points are swept without gaps, and End returns the whole stroke
// as one Delta, one history step.
type Stroke struct {
	l      *volume.Label
	o      BrushOptions
	last   [3]int
	deltas []Delta
	dirty  Box
}

// BeginStroke validates o and paints the dab at the press point.
func BeginStroke(l *volume.Label, at [3]int, o BrushOptions) (*Stroke, error) {
	if err := o.Validate(l.Grid); err != nil {
		return nil, err
	}
	s := &Stroke{l: l, o: o, last: at}
	if err := s.paint(at, at); err != nil {
		return nil, err
	}
	return s, nil
}

// To paints the segment from the previous point to p.
func (s *Stroke) To(p [3]int) error {
	if err := s.paint(s.last, p); err != nil {
		return err
	}
	s.last = p
	return nil
}

func (s *Stroke) paint(a, b [3]int) error {
	m, err := BrushSegment(s.l.Grid, a, b, s.o)
	if err != nil {
		return err
	}
	d, err := Apply(s.l, m)
	if err != nil {
		return err
	}
	if !d.Empty() {
		s.deltas = append(s.deltas, d)
		s.dirty = s.dirty.Union(m.Box)
	}
	return nil
}

// Dirty is the box of voxels the stroke may have changed so far.
func (s *Stroke) Dirty() Box { return s.dirty }

// End returns the composed delta of the whole stroke. The label already
// holds its effect; the caller records the delta (Session does).
func (s *Stroke) End() Delta {
	d := Compose(s.deltas...)
	s.deltas = nil
	return d
}

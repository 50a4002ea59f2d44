package dicomio

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"metascope/volume"
)

// Tolerances for deciding that two slices share a geometry.
const (
	orientTol   = 1e-4 // direction cosines
	spacingTol  = 1e-4 // mm, pixel spacing
	samePosTol  = 1e-2 // mm along the normal: the same slice position
	unevenRatio = 0.05 // a step more than 5 % off the median is uneven
	gapRatio    = 1.5  // a step over 1.5 medians means slices are missing
)

// stack orders the slices of one series along the slice normal and builds
// the voxel-to-RAS affine, or says why they do not form one volume.
func stack(ins []*instance) (order []int, aff volume.Affine, err error) {
	if len(ins) == 0 {
		return nil, aff, errors.New("no images")
	}
	for _, in := range ins {
		for _, t := range in.imageType {
			if strings.EqualFold(t, "LOCALIZER") {
				return nil, aff, fmt.Errorf("localiser (ImageType %s in %s): not a volume", strings.Join(in.imageType, `\`), in.path)
			}
		}
	}
	f := ins[0]
	for _, in := range ins {
		switch {
		case len(in.ipp) != 3:
			return nil, aff, fmt.Errorf("%s: no ImagePositionPatient (0020,0032)", in.path)
		case len(in.iop) != 6:
			return nil, aff, fmt.Errorf("%s: no ImageOrientationPatient (0020,0037)", in.path)
		case len(in.pixelSpacing) != 2 || !(in.pixelSpacing[0] > 0) || !(in.pixelSpacing[1] > 0):
			return nil, aff, fmt.Errorf("%s: no valid PixelSpacing (0028,0030)", in.path)
		}
		if in.rows != f.rows || in.cols != f.cols {
			return nil, aff, fmt.Errorf("mixed image sizes: %s is %dx%d, %s is %dx%d", f.path, f.cols, f.rows, in.path, in.cols, in.rows)
		}
		for a := range 6 {
			if math.Abs(in.iop[a]-f.iop[a]) > orientTol {
				if len(ins) <= 3 {
					return nil, aff, fmt.Errorf("mixed orientations in %d images (%s, %s): a localiser, not a volume", len(ins), f.path, in.path)
				}
				return nil, aff, fmt.Errorf("mixed orientations: %s and %s differ in ImageOrientationPatient", f.path, in.path)
			}
		}
		for a := range 2 {
			if math.Abs(in.pixelSpacing[a]-f.pixelSpacing[a]) > spacingTol {
				return nil, aff, fmt.Errorf("mixed pixel spacing: %s has %v, %s has %v", f.path, f.pixelSpacing, in.path, in.pixelSpacing)
			}
		}
	}
	row := [3]float64{f.iop[0], f.iop[1], f.iop[2]}
	col := [3]float64{f.iop[3], f.iop[4], f.iop[5]}
	if math.Abs(norm(row)-1) > 1e-3 || math.Abs(norm(col)-1) > 1e-3 || math.Abs(dot(row, col)) > 1e-3 {
		return nil, aff, fmt.Errorf("ImageOrientationPatient %v is not two orthonormal vectors", f.iop)
	}
	row, col = scale(row, 1/norm(row)), scale(col, 1/norm(col))
	normal := cross(row, col)
	pos := make([]float64, len(ins))
	order = make([]int, len(ins))
	for i, in := range ins {
		pos[i] = dot([3]float64(in.ipp), normal)
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return pos[order[a]] < pos[order[b]] })

	// The same position twice: other echoes or time points, or a duplicate.
	for k := 1; k < len(order); k++ {
		a, b := ins[order[k-1]], ins[order[k]]
		if pos[order[k]]-pos[order[k-1]] > samePosTol {
			continue
		}
		switch {
		case a.te != b.te || a.echoNumber != b.echoNumber:
			return nil, aff, fmt.Errorf("several echoes mixed: slice position %.2f mm occurs with EchoTime %g and %g ms (%s, %s); split the series by echo", pos[order[k]], a.te, b.te, a.path, b.path)
		case a.temporalPos != b.temporalPos || a.acquisition != b.acquisition || a.triggerTime != b.triggerTime:
			return nil, aff, fmt.Errorf("several time points mixed: slice position %.2f mm occurs in acquisitions %q/%q, temporal positions %q/%q (%s, %s)", pos[order[k]], a.acquisition, b.acquisition, a.temporalPos, b.temporalPos, a.path, b.path)
		}
		return nil, aff, fmt.Errorf("duplicate slice: %s and %s are both at position %.2f mm", a.path, b.path, pos[order[k]])
	}

	cs, rs := f.pixelSpacing[1], f.pixelSpacing[0] // between columns, between rows
	first := [3]float64(ins[order[0]].ipp)
	var step [3]float64
	if len(ins) == 1 {
		th := f.sliceThick
		if !(th > 0) {
			th = 1
		}
		step = scale(normal, th)
	} else {
		steps := make([]float64, len(order)-1)
		for k := 1; k < len(order); k++ {
			steps[k-1] = pos[order[k]] - pos[order[k-1]]
		}
		sorted := append([]float64(nil), steps...)
		sort.Float64s(sorted)
		med := sorted[len(sorted)/2]
		for k, d := range steps {
			if d > gapRatio*med {
				missing := int(math.Round(d/med)) - 1
				at := add([3]float64(ins[order[k]].ipp), scale(normal, med)) // LPS
				return nil, aff, fmt.Errorf("missing slice: %d slice(s) absent between %s (%.2f mm) and %s (%.2f mm); the first missing one is at %.2f mm along the normal (RAS %.1f, %.1f, %.1f), spacing %.3g mm",
					max(missing, 1), ins[order[k]].path, pos[order[k]], ins[order[k+1]].path, pos[order[k+1]], pos[order[k]]+med, -at[0], -at[1], at[2], med)
			}
		}
		for k, d := range steps {
			if math.Abs(d-med) > unevenRatio*med+1e-3 {
				return nil, aff, fmt.Errorf("uneven slice spacing: %.3f mm between %s and %s, median %.3f mm", d, ins[order[k]].path, ins[order[k+1]].path, med)
			}
		}
		last := [3]float64(ins[order[len(order)-1]].ipp)
		step = scale(sub(last, first), 1/float64(len(order)-1))
		for k, idx := range order {
			want := add(first, scale(step, float64(k)))
			if norm(sub([3]float64(ins[idx].ipp), want)) > unevenRatio*med+1e-2 {
				return nil, aff, fmt.Errorf("slice positions are not on one line: %s is %.2f mm off (gantry tilt changing?)", ins[idx].path, norm(sub([3]float64(ins[idx].ipp), want)))
			}
		}
	}
	// Columns of the LPS affine, then LPS -> RAS: negate x and y.
	cols := [3][3]float64{scale(row, cs), scale(col, rs), step}
	aff = volume.Identity()
	for r := range 3 {
		sign := 1.0
		if r < 2 {
			sign = -1
		}
		for c := range 3 {
			aff[r][c] = sign * cols[c][r]
		}
		aff[r][3] = sign * first[r]
	}
	return order, aff, nil
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func norm(a [3]float64) float64   { return math.Sqrt(dot(a, a)) }
func scale(a [3]float64, s float64) [3]float64 {
	return [3]float64{a[0] * s, a[1] * s, a[2] * s}
}
func add(a, b [3]float64) [3]float64 { return [3]float64{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }
func sub(a, b [3]float64) [3]float64 { return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func cross(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

// Package ptest builds the test images the preprocessing tests share: the
// real MNI head (read with gonii until volume/nifti lands), smooth synthetic
// bias fields, rigid misalignments and thick-slice resampling, and a
// white-matter mask for measuring bias correction.
package ptest

import (
	"math"
	"sync"
	"testing"

	"github.com/okieraised/gonii"

	"metascope/internal/testdata"
	"metascope/preprocess/internal/imgops"
	"metascope/volume"
)

var (
	mniOnce sync.Once
	mniVol  *volume.Volume
	mniErr  error
)

// MNI returns the MNI head (182 x 218 x 182, 1 mm) as a volume. Callers must
// not modify it (it is shared; Clone first).
func MNI(tb testing.TB) *volume.Volume {
	tb.Helper()
	path := testdata.MNIHead(tb)
	mniOnce.Do(func() { mniVol, mniErr = readGonii(path) })
	if mniErr != nil {
		tb.Fatalf("reading %s: %v", path, mniErr)
	}
	return mniVol
}

// MNIAt returns the MNI head block-averaged to about mm millimetres.
func MNIAt(tb testing.TB, mm float64) *volume.Volume {
	v := MNI(tb)
	if mm <= 1 {
		return v.Clone()
	}
	return imgops.ShrinkVolume(v, imgops.FactorsFor(v.Spacing(), mm))
}

func readGonii(path string) (*volume.Volume, error) {
	r, err := gonii.NewNiiReader(gonii.WithReadImageFile(path))
	if err != nil {
		return nil, err
	}
	if err := r.Parse(); err != nil {
		return nil, err
	}
	n := r.GetNiiData()
	sh := n.GetImgShape()
	a := n.GetAffine()
	var aff volume.Affine
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			aff[i][j] = a.M[i][j]
		}
	}
	g := volume.Grid{Dims: [3]int{int(sh[0]), int(sh[1]), int(sh[2])}, Affine: aff}
	v := volume.New(g)
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			for i := 0; i < g.Dims[0]; i++ {
				v.Set(i, j, k, float32(n.GetAt(int64(i), int64(j), int64(k), 0)))
			}
		}
	}
	return v, nil
}

// BiasField is a smooth multiplicative field on g with values in about
// [1-amp, 1+amp], most of that range reached inside the head: a saturated
// sum of low-frequency terms over the world extent.
func BiasField(g volume.Grid, amp float64) *volume.Volume {
	f := volume.New(g)
	// World bounding box centre and size.
	c0 := g.VoxelToWorld([3]float64{0, 0, 0})
	c1 := g.VoxelToWorld([3]float64{float64(g.Dims[0] - 1), float64(g.Dims[1] - 1), float64(g.Dims[2] - 1)})
	var ctr, half [3]float64
	for a := 0; a < 3; a++ {
		ctr[a] = (c0[a] + c1[a]) / 2
		half[a] = math.Max(math.Abs(c1[a]-c0[a])/2, 1)
	}
	for idx := range f.Data {
		i, j, k := g.Coords(idx)
		p := g.VoxelToWorld([3]float64{float64(i), float64(j), float64(k)})
		x, y, z := (p[0]-ctr[0])/half[0], (p[1]-ctr[1])/half[1], (p[2]-ctr[2])/half[2]
		s := 0.5*x + 0.35*math.Sin(1.3*y+0.4) + 0.3*z*x - 0.25*math.Cos(1.7*z)
		f.Data[idx] = float32(1 + amp*math.Tanh(2*s))
	}
	return f
}

// Multiply returns v * f voxelwise.
func Multiply(v, f *volume.Volume) *volume.Volume {
	out := v.Clone()
	for i := range out.Data {
		out.Data[i] *= f.Data[i]
	}
	return out
}

// WhiteMatter selects the white matter of a clean T1 head: voxels in the
// brightest tissue class of the central region, within 7 % of its modal
// intensity, eroded by one voxel against partial volume.
func WhiteMatter(clean *volume.Volume) []bool {
	d := clean.Dims
	// An ellipsoid inside the skull of the MNI head (brain, not scalp),
	// above the skull base.
	inBox := func(idx int) bool {
		i, j, k := clean.Coords(idx)
		x := (float64(i) - 0.5*float64(d[0])) / (0.33 * float64(d[0]))
		y := (float64(j) - 0.53*float64(d[1])) / (0.36 * float64(d[1]))
		z := (float64(k) - 0.58*float64(d[2])) / (0.30 * float64(d[2]))
		return x*x+y*y+z*z < 1
	}
	box := make([]bool, len(clean.Data))
	for i := range box {
		box[i] = inBox(i)
	}
	ps, _ := imgops.Percentiles(clean.Data, box, []float64{50, 99}, 200000)
	// Mode of the upper half.
	bins := 100
	h := make([]int, bins)
	for i, x := range clean.Data {
		if box[i] && float64(x) > ps[0] && float64(x) < ps[1] {
			b := int((float64(x) - ps[0]) / (ps[1] - ps[0]) * float64(bins))
			h[min(b, bins-1)]++
		}
	}
	best := 0
	for b := range h {
		if h[b] > h[best] {
			best = b
		}
	}
	mode := ps[0] + (float64(best)+0.5)/float64(bins)*(ps[1]-ps[0])
	m := make([]bool, len(clean.Data))
	for i, x := range clean.Data {
		m[i] = box[i] && math.Abs(float64(x)-mode) < 0.07*mode
	}
	return imgops.Erode(m, d, clean.Spacing(), 1)
}

// CV is the coefficient of variation of v inside mask.
func CV(v *volume.Volume, mask []bool) float64 {
	m, s, err := imgops.MeanStd(v.Data, mask)
	if err != nil || m == 0 {
		return math.NaN()
	}
	return s / m
}

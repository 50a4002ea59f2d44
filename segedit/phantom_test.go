package segedit

import (
	"math"
	"testing"

	"metascope/lesion"
	"metascope/phantom"
	"metascope/volume"
	"metascope/volume/nifti"
)

func phantomCase(t *testing.T) *phantom.Case {
	t.Helper()
	o := phantom.DefaultOptions(phantom.Small)
	o.Seed = 1
	o.MinLesions, o.MaxLesions = 3, 3
	o.MinVolumeCM3, o.MedianVolumeCM3, o.MaxVolumeCM3 = 2, 4, 8
	c, err := phantom.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func dice(a, b []bool) float64 {
	inter, na, nb := 0, 0, 0
	for i := range a {
		if a[i] {
			na++
		}
		if b[i] {
			nb++
		}
		if a[i] && b[i] {
			inter++
		}
	}
	return 2 * float64(inter) / float64(na+nb)
}

// A reader's session on a phantom case: outline one metastasis on every
// other slice and interpolate, accept another as an AI candidate, paint the
// third with the threshold brush, delete and restore one; the lesion table
// follows, and a crash loses nothing.
func TestPhantomReaderWorkflow(t *testing.T) {
	c := phantomCase(t)
	gt := c.Label
	g := gt.Grid
	t1c := c.Images[volume.T1c]
	if !t1c.SameGeometry(g, 1e-6) {
		t.Fatalf("phantom T1c is not on the label grid")
	}
	ids, comps := lesion.Components(gt, lesion.Conn26)
	if len(comps) < 3 {
		t.Fatalf("phantom has %d lesions, the test needs 3", len(comps))
	}
	member := func(id int) []bool {
		m := make([]bool, len(ids))
		for i, x := range ids {
			m[i] = int(x) == id
		}
		return m
	}
	o := sessionOpts(t, g)
	s := mustOpen(t, o)

	// Lesion 1: outlines on every other axial slice, then interpolation in
	// a box around it.
	l1 := comps[0]
	want1 := member(l1.ID)
	keys := make([]bool, len(ids))
	for idx, in := range want1 {
		_, _, k := g.Coords(idx)
		if in && ((k-l1.BBoxMin[2])%2 == 0 || k == l1.BBoxMax[2]) {
			keys[idx] = true
		}
	}
	m, err := FromMask(g, keys, ModeAdd, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(m); err != nil {
		t.Fatal(err)
	}
	region := Box{Min: l1.BBoxMin, Max: l1.BBoxMax}
	for a := range 3 {
		region.Min[a] = max(0, region.Min[a]-2)
		region.Max[a] = min(g.Dims[a], region.Max[a]+3)
	}
	m, err = InterpolateSlices(s.Label(), InterpolateOptions{Value: 1, Plane: Axial, Region: &region})
	if err != nil {
		t.Fatal(err)
	}
	if m.Count() == 0 {
		t.Fatal("interpolation filled nothing")
	}
	s.Apply(m)
	got1 := make([]bool, len(ids))
	for idx, v := range s.Label().Data {
		got1[idx] = v == 1
	}
	d1, dKeys := dice(got1, want1), dice(keys, want1)
	t.Logf("lesion 1: %d voxels over %d slices; Dice of the key slices alone %.3f, interpolated %.3f",
		l1.Voxels, l1.BBoxMax[2]-l1.BBoxMin[2]+1, dKeys, d1)
	if d1 < 0.8 || d1 < dKeys+0.1 {
		t.Fatalf("interpolated lesion Dice %.3f against the truth (key slices alone %.3f)", d1, dKeys)
	}

	// Lesion 2: accepted as an AI candidate by clicking on it.
	l2 := comps[1]
	seed := [3]int{}
	for idx, in := range member(l2.ID) {
		if in {
			i, j, k := g.Coords(idx)
			seed = [3]int{i, j, k}
			break
		}
	}
	m, err = AcceptCandidateAt(g, gt, seed, ModeAdd, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := s.Apply(m)
	if d.Changed() != l2.Voxels {
		t.Fatalf("accepting lesion 2 changed %d voxels, it has %d", d.Changed(), l2.Voxels)
	}

	// Lesion 3: the threshold brush, a sphere over it, painting only
	// voxels brighter than the surrounding tissue on T1c.
	l3 := comps[2]
	cv := [3]int{int(math.Round(l3.CentroidVoxel[0])), int(math.Round(l3.CentroidVoxel[1])), int(math.Round(l3.CentroidVoxel[2]))}
	var inside []float64
	for idx, in := range member(l3.ID) {
		if in {
			inside = append(inside, float64(t1c.Data[idx]))
		}
	}
	lo := float32(minOf(inside))
	st := DefaultEditorState()
	st.Brush3D, st.BrushRadiusMM = true, math.Cbrt(3*l3.VolumeCM3*1000/(4*math.Pi))+3
	st.ThresholdOn, st.ThresholdSeq, st.ThresholdLo, st.ThresholdHi = true, volume.T1c, lo, 1e9
	bo, err := st.BrushOptions(Axial, c.Images)
	if err != nil {
		t.Fatal(err)
	}
	before := s.Label().Clone()
	stroke(t, s, bo, cv)
	painted := 0
	for idx, v := range s.Label().Data {
		if v != before.Data[idx] {
			painted++
			if t1c.Data[idx] < lo {
				t.Fatalf("threshold brush painted a voxel below %g", lo)
			}
		}
	}
	if painted < l3.Voxels/2 {
		t.Fatalf("threshold brush painted %d voxels over a %d-voxel lesion", painted, l3.Voxels)
	}

	// Delete lesion 2 by clicking it, then undo: the table follows.
	count := func() int { _, cs := lesion.Components(s.Label(), lesion.Conn26); return len(cs) }
	n := count()
	m, _ = DeleteComponent(s.Label(), seed)
	s.Apply(m)
	if count() != n-1 {
		t.Fatalf("delete: %d lesions, want %d", count(), n-1)
	}
	s.Undo()
	if count() != n {
		t.Fatalf("undo delete: %d lesions, want %d", count(), n)
	}

	want := s.Label().Clone()
	crash(s)
	r := mustOpen(t, o)
	sameBytes(t, "phantom session after crash", r.Label(), want)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	back, err := nifti.ReadLabel(o.LabelPath)
	if err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "label file after Close", back, want)
}

func minOf(x []float64) float64 {
	m := math.Inf(1)
	for _, v := range x {
		m = math.Min(m, v)
	}
	return m
}

package phantom

import (
	"testing"

	"metascope/internal/testdata"
	"metascope/volume"
)

// TestMNIBase builds a case on the real MNI head: the brain found in it has
// an adult volume, the lesions are inside it with exact labels, and the
// contrast ordering holds.
func TestMNIBase(t *testing.T) {
	o := DefaultOptions(Small)
	o.T1cSpacingMM = 2
	o.ThickSliceProb = 0
	o.Seed = 3
	o.MNIPath = testdata.MNIHead(t)
	c, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	if v := c.BrainMask.VolumeCM3(); v < 1000 || v > 2000 {
		t.Errorf("brain mask of the MNI head %.0f cm3, want 1000-2000", v)
	}
	for _, l := range c.Lesions {
		if l.LabelVoxels == 0 {
			t.Errorf("lesion %d has no voxels", l.ID)
		}
		idx := 0
		g := c.BrainMask.Grid
		forVoxelsNear(g, l.Shape.Centre, 0.5*g.Spacing()[0], func(i int, _ [3]float64) { idx = i })
		if c.BrainMask.Data[idx] == 0 {
			t.Errorf("lesion %d centre outside the brain", l.ID)
		}
	}
	for _, s := range []volume.Sequence{volume.T1, volume.T2, volume.FLAIR} {
		m := tissueMeans(c, s)
		switch s {
		case volume.T1:
			if !(m[WM] > m[GM] && m[GM] > m[CSF]) {
				t.Errorf("T1 on MNI: WM %.0f GM %.0f CSF %.0f", m[WM], m[GM], m[CSF])
			}
		case volume.T2:
			if !(m[CSF] > m[GM] && m[GM] > m[WM]) {
				t.Errorf("T2 on MNI: CSF %.0f GM %.0f WM %.0f", m[CSF], m[GM], m[WM])
			}
		case volume.FLAIR:
			if !(m[GM] > m[WM] && m[WM] > m[CSF]) {
				t.Errorf("FLAIR on MNI: GM %.0f WM %.0f CSF %.0f", m[GM], m[WM], m[CSF])
			}
		}
	}
	if _, err := Generate(Options{}); err == nil {
		t.Error("zero options accepted")
	}
	bad := o
	bad.MNIPath = "/nonexistent/mni.nii.gz"
	if _, err := Generate(bad); err == nil {
		t.Error("missing MNI file accepted")
	}
}

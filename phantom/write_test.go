package phantom

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"metascope/volume"
)

func TestWriteReadCaseRoundTrip(t *testing.T) {
	c := smallCase(t, 50, nil)
	dir := t.TempDir()
	if err := WriteCase(dir, c); err != nil {
		t.Fatal(err)
	}
	if err := WriteBiasFields(dir, c); err != nil {
		t.Fatal(err)
	}
	r, err := ReadCase(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range volume.Sequences {
		if !r.Images[s].SameGeometry(c.Images[s].Grid, 1e-4) {
			t.Errorf("%s: geometry changed on disk", s)
		}
		if !reflect.DeepEqual(r.Images[s].Data, c.Images[s].Data) {
			t.Errorf("%s: voxels changed on disk (int16 must hold them exactly)", s)
		}
		if r.BiasFields[s] == nil || !reflect.DeepEqual(r.BiasFields[s].Data, c.BiasFields[s].Data) {
			t.Errorf("%s: bias field changed on disk", s)
		}
		if r.WorldToSequence[s] != c.WorldToSequence[s] {
			t.Errorf("%s: transform changed on disk", s)
		}
	}
	if !reflect.DeepEqual(r.Label.Data, c.Label.Data) || !reflect.DeepEqual(r.Tissue.Data, c.Tissue.Data) ||
		!reflect.DeepEqual(r.BrainMask.Data, c.BrainMask.Data) {
		t.Error("label, tissue or brain mask changed on disk")
	}
	if len(r.Lesions) != len(c.Lesions) || r.Lesions[0].Shape != c.Lesions[0].Shape ||
		r.Lesions[0].VolumeCM3 != c.Lesions[0].VolumeCM3 {
		t.Error("lesions changed on disk")
	}
	// The shapes read back still reproduce the label exactly.
	l := r.Lesions[0]
	forVoxelsNear(r.Label.Grid, l.Shape.Centre, l.Shape.MaxRadiusMM()+1, func(idx int, p [3]float64) {
		if l.Shape.Contains(p) && r.Label.Data[idx] == 0 {
			t.Fatalf("lesion 1 read from disk contains a voxel the label lacks")
		}
	})

	// Bad files give errors that name them.
	if err := os.WriteFile(filepath.Join(dir, LesionsFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCase(dir); err == nil || !strings.Contains(err.Error(), LesionsFile) {
		t.Errorf("corrupt lesions.json: error %v does not name the file", err)
	}
	os.Remove(filepath.Join(dir, ImageFile(volume.T2)))
	if _, err := ReadCase(dir); err == nil || !strings.Contains(err.Error(), "t2.nii.gz") {
		t.Errorf("missing t2: error %v does not name the file", err)
	}
}

func TestCohortIsIndependentOfWorkers(t *testing.T) {
	o := DefaultCohortOptions(Small)
	o.Cases = 3
	o.Seed = 4
	o.ControlFraction = 1.0 / 3
	o.TestFraction = 1.0 / 3
	var manifests []Manifest
	for _, w := range []int{1, 2} {
		o.Workers = w
		dir := t.TempDir()
		var last float64
		m, err := GenerateCohort(context.Background(), o, dir, func(stage string, done float64) { last = done })
		if err != nil {
			t.Fatal(err)
		}
		if last != 1 {
			t.Errorf("progress ended at %g", last)
		}
		read, err := ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(read.Train, m.Train) || len(read.Cases) != 3 {
			t.Error("manifest on disk differs from the returned one")
		}
		for _, mc := range m.Cases {
			if _, err := os.Stat(filepath.Join(dir, mc.Dir, ImageFile(volume.T1c))); err != nil {
				t.Errorf("case %s not written: %v", mc.Name, err)
			}
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("left behind %s", e.Name())
			}
		}
		manifests = append(manifests, m)
	}
	a, b := manifests[0], manifests[1]
	if !reflect.DeepEqual(a, b) {
		t.Error("the cohort depends on the number of workers")
	}
	if len(a.Test) != 1 || len(a.Train) != 2 {
		t.Errorf("split %v / %v, want 2 train and 1 test", a.Train, a.Test)
	}
	controls := 0
	for _, mc := range a.Cases {
		if mc.Control {
			controls++
			if len(mc.Lesions) != 0 {
				t.Errorf("control %s has lesions", mc.Name)
			}
		}
	}
	if controls != 1 {
		t.Errorf("%d controls, want 1", controls)
	}
	// The study's split: 55 train, 14 test of 69.
	def := DefaultCohortOptions(Small)
	if n := int(float64(def.Cases)*def.TestFraction + 0.5); n != 14 || def.Cases != 69 {
		t.Errorf("default split holds out %d of %d", n, def.Cases)
	}
}

func TestCohortCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := DefaultCohortOptions(Small)
	o.Cases = 5
	if _, err := GenerateCohort(ctx, o, t.TempDir(), nil); err == nil {
		t.Error("cancelled cohort returned no error")
	}
}

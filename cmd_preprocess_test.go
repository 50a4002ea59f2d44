package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"metascope/internal/testdata"
	"metascope/preprocess"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// writeMNICase writes a small four-sequence case folder from the real MNI
// head at 4 mm: T1c as is, the others rotated and shifted a little.
func writeMNICase(t *testing.T) string {
	t.Helper()
	mni, err := nifti.ReadVolume(testdata.MNIHead(t))
	if err != nil {
		t.Fatal(err)
	}
	g := volume.Grid{Dims: [3]int{46, 55, 46}, Affine: mni.Affine.Mul(volume.Diagonal([3]float64{4, 4, 4}, [3]float64{1, 1, 1}))}
	dir := t.TempDir()
	c := g.VoxelToWorld([3]float64{23, 27, 23})
	for i, s := range volume.Sequences {
		tr := volume.RigidTransform([3]float64{0.03 * float64(i), -0.02 * float64(i), 0.04}, [3]float64{2 * float64(i), -float64(i), 3}, c)
		if s == volume.T1c {
			tr = volume.Identity()
		}
		inv, _ := tr.Inverse()
		v := volume.ResampleTransformed(mni, g, inv, volume.Linear)
		if err := nifti.WriteVolume(filepath.Join(dir, s.String()+".nii.gz"), v); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCmdPreprocessCaseFolder(t *testing.T) {
	dir := writeMNICase(t)
	var out, errb bytes.Buffer
	code := run([]string{"preprocess", "--spacing", "3", "--quiet", dir}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"bias correction", "registration", "skull stripping", "total"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	r, err := preprocess.ReadResult(filepath.Join(dir, "preproc"))
	if err != nil {
		t.Fatal(err)
	}
	if cm3 := r.BrainMask.VolumeCM3(); cm3 < 1200 || cm3 > 2100 {
		t.Errorf("brain %.0f cm3", cm3)
	}

	// Four files and --out.
	out2 := filepath.Join(t.TempDir(), "pp")
	args := []string{"preprocess", "--quiet", "--spacing", "3", "--no-bias", "--out", out2}
	for _, s := range volume.Sequences {
		args = append(args, "--"+s.String(), filepath.Join(dir, s.String()+".nii.gz"))
	}
	if code := run(args, &out, &errb); code != exitOK {
		t.Fatalf("four files: exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(out2, "brain_mask.nii.gz")); err != nil {
		t.Error(err)
	}
}

func TestCmdPreprocessWorkspaceCase(t *testing.T) {
	dir := writeMNICase(t)
	w, err := workspace.OpenOrCreate(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	src := map[volume.Sequence]string{}
	for _, s := range volume.Sequences {
		src[s] = filepath.Join(dir, s.String()+".nii.gz")
	}
	c, err := w.AddCase("case-01", src)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"preprocess", "--quiet", "--spacing", "3", "--no-bias", "--workspace", w.Dir(), "--case", "case-01"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if _, err := preprocess.ReadResult(c.PreprocDir()); err != nil {
		t.Errorf("workspace case preproc folder: %v", err)
	}
}

func TestCmdPreprocessUsageAndErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"preprocess"}, &out, &errb); code != exitUsage {
		t.Errorf("no arguments: exit %d, want usage", code)
	}
	if code := run([]string{"preprocess", "--t1", "a.nii.gz"}, &out, &errb); code != exitUsage {
		t.Errorf("one file: exit %d, want usage", code)
	}
	errb.Reset()
	if code := run([]string{"preprocess", t.TempDir()}, &out, &errb); code != exitError || !strings.Contains(errb.String(), "t1.nii.gz") {
		t.Errorf("empty folder: exit %d, stderr %q; want an error naming t1.nii.gz", code, errb.String())
	}
}

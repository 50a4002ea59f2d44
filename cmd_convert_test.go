package main

import (
	"path/filepath"
	"strings"
	"testing"

	"metascope/internal/testdata"
	"metascope/volume/nifti"
)

func TestConvertNIfTI(t *testing.T) {
	in := testdata.GoniiFile(t, "int16.nii.gz")
	src, err := nifti.ReadVolume(in)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		out, flag, datatype string
	}{
		{filepath.Join(dir, "a.nii.gz"), "", "int16"},
		{filepath.Join(dir, "b.nii"), "--float32", "float32"},
	} {
		args := []string{"convert", in, c.out}
		if c.flag != "" {
			args = append(args, c.flag) // flags may follow the arguments
		}
		code, out, errs := runCmd(args...)
		if code != exitOK || !strings.Contains(out, "240x240x155") {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
		h, err := nifti.ReadHeader(c.out)
		if err != nil || h.Datatype != c.datatype || h.SformCode != 1 || h.QformCode != 1 {
			t.Fatalf("%s header %+v %v", c.out, h, err)
		}
		back, err := nifti.ReadVolume(c.out)
		if err != nil {
			t.Fatal(err)
		}
		if !back.SameGeometry(src.Grid, 1e-5) {
			t.Fatalf("affine %v; want %v", back.Affine, src.Affine)
		}
		for i := range src.Data {
			if back.Data[i] != src.Data[i] {
				t.Fatalf("voxel %d = %v; want %v", i, back.Data[i], src.Data[i])
			}
		}
	}
}

func TestConvertDICOM(t *testing.T) {
	v := smallHead(t)
	dir, t1cUID, _ := dicomFolder(t, v)
	out := filepath.Join(t.TempDir(), "t1c.nii.gz")
	code, _, errs := runCmd("convert", dir, out)
	if code != exitError || !strings.Contains(errs, t1cUID) || !strings.Contains(errs, "2 series") {
		t.Fatalf("two series without --series: exit %d: %s", code, errs)
	}
	code, stdout, errs := runCmd("convert", "--series", t1cUID, dir, out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(stdout, "t1c") || !strings.Contains(errs, "notes.txt") {
		t.Errorf("stdout %q stderr %q: want the class and the skipped file", stdout, errs)
	}
	one, _ := filepath.Glob(filepath.Join(dir, "s1", "*"))
	if code, _, errs := runCmd("convert", one[0], out); code != exitError || !strings.Contains(errs, "folder") {
		t.Fatalf("one DICOM file: %d %s", code, errs)
	}
	back, err := nifti.ReadVolume(out)
	if err != nil {
		t.Fatal(err)
	}
	if back.Dims != v.Dims || !back.Affine.AlmostEqual(v.Affine, 1e-4) {
		t.Fatalf("geometry %v %v; want %v %v", back.Dims, back.Affine, v.Dims, v.Affine)
	}
	for i := range v.Data {
		if back.Data[i] != v.Data[i] {
			t.Fatalf("voxel %d = %v; want %v", i, back.Data[i], v.Data[i])
		}
	}
}

func TestConvertUsage(t *testing.T) {
	if code, _, _ := runCmd("convert", "only-one"); code != exitUsage {
		t.Fatalf("one arg: %d", code)
	}
	if code, _, errs := runCmd("convert", testdata.MNIHead(t), filepath.Join(t.TempDir(), "x.png")); code != exitUsage || !strings.Contains(errs, ".nii") {
		t.Fatalf("bad extension: %d %s", code, errs)
	}
	if code, _, _ := runCmd("convert", "--nosuchflag", "a", "b.nii"); code != exitUsage {
		t.Fatalf("bad flag: %d", code)
	}
	if code, _, errs := runCmd("convert", "--series", "1.2.3", testdata.MNIHead(t), filepath.Join(t.TempDir(), "x.nii")); code != exitError || !strings.Contains(errs, "DICOM") {
		t.Fatalf("--series on a NIfTI: %d %s", code, errs)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"metascope/internal/testdata"
	"metascope/volume"
	"metascope/volume/dicomio"
	"metascope/volume/nifti"
)

// runCmd runs the program with args and returns exit code, stdout, stderr.
func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// smallHead is a real brain: the MNI head cut to a small block around its
// centre (so DICOM tests stay fast), with whole-number intensities.
func smallHead(t *testing.T) *volume.Volume {
	t.Helper()
	mni, err := nifti.ReadVolume(testdata.MNIHead(t))
	if err != nil {
		t.Fatal(err)
	}
	g := volume.Grid{Dims: [3]int{24, 20, 12}}
	origin := mni.Affine.Apply([3]float64{80, 100, 85})
	g.Affine = volume.Diagonal([3]float64{2, 2, 3}, origin)
	v := volume.Resample(mni, g)
	for i, x := range v.Data {
		v.Data[i] = float32(int(x / 10))
	}
	return v
}

// dicomFolder writes two series (T1 post-contrast, axial; FLAIR) from the
// head plus one junk file into a fresh folder.
func dicomFolder(t *testing.T, v *volume.Volume) (dir, t1cUID, flairUID string) {
	t.Helper()
	dir = t.TempDir()
	t1cUID, flairUID = "1.2.826.0.1.3680043.2.1143.1", "1.2.826.0.1.3680043.2.1143.2"
	if err := dicomio.WriteSeries(filepath.Join(dir, "s1"), v, dicomio.WriteOptions{
		SeriesUID: t1cUID, SeriesNumber: 5, Description: "AX T1 MPRAGE POST", ContrastAgent: "Gadobutrol",
		RepetitionTime: 2000, EchoTime: 3, InversionTime: 900,
	}); err != nil {
		t.Fatal(err)
	}
	if err := dicomio.WriteSeries(filepath.Join(dir, "s2"), v, dicomio.WriteOptions{
		SeriesUID: flairUID, SeriesNumber: 7, Description: "AX T2 FLAIR",
		RepetitionTime: 9000, EchoTime: 120, InversionTime: 2500,
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not DICOM"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, t1cUID, flairUID
}

func TestInfoNIfTI(t *testing.T) {
	code, out, errs := runCmd("info", testdata.MNIHead(t))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got infoNIfTI
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	wantAff := volume.Affine{{-1, 0, 0, 90}, {0, 1, 0, -126}, {0, 0, 1, -72}, {0, 0, 0, 1}}
	if got.Dims != [3]int{182, 218, 182} || got.Datatype != "float32" || got.AffineSource != "sform" ||
		got.AxisCodes != "LAS" || !got.Affine.AlmostEqual(wantAff, 1e-9) || got.Spacing != [3]float64{1, 1, 1} {
		t.Fatalf("info %+v", got)
	}
	if got.Range == nil || got.Range[0] != 0 || got.Range[1] != 9999 || !got.Readable {
		t.Fatalf("range %v readable %v", got.Range, got.Readable)
	}

	// A file ReadVolume refuses is still described, with the reason.
	code, out, _ = runCmd("info", testdata.GoniiFile(t, "tensor_rgb.nii.gz"))
	if code != exitOK || !strings.Contains(out, `"readable": false`) || !strings.Contains(out, "dimension 5") {
		t.Fatalf("tensor file: exit %d\n%s", code, out)
	}
}

func TestInfoDICOM(t *testing.T) {
	v := smallHead(t)
	dir, t1cUID, flairUID := dicomFolder(t, v)
	code, out, errs := runCmd("info", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got infoDICOM
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(got.Series) != 2 || got.Problems != 1 || !strings.Contains(got.Skipped[0], "notes.txt") {
		t.Fatalf("series %d, skipped %v", len(got.Series), got.Skipped)
	}
	byUID := map[string]infoSeries{}
	for _, s := range got.Series {
		byUID[s.UID] = s
	}
	t1c, flair := byUID[t1cUID], byUID[flairUID]
	if t1c.Class != "t1c" || flair.Class != "flair" || t1c.ClassReason == "" || t1c.Files != v.Dims[2] {
		t.Fatalf("classes: %+v / %+v", t1c, flair)
	}
	if t1c.Image == nil || t1c.Image.Dims != v.Dims || !t1c.Image.Affine.AlmostEqual(v.Affine, 1e-4) {
		t.Fatalf("T1c image %+v; want dims %v affine %v", t1c.Image, v.Dims, v.Affine)
	}
	lo, hi := v.Range()
	if t1c.Image.Range != [2]float64{float64(lo), float64(hi)} {
		t.Fatalf("range %v; want %v %v", t1c.Image.Range, lo, hi)
	}
}

func TestInfoUsageAndErrors(t *testing.T) {
	if code, _, errs := runCmd("info"); code != exitUsage || !strings.Contains(errs, "Usage: metascope info") {
		t.Fatalf("no args: %d %s", code, errs)
	}
	if code, _, _ := runCmd("info", "-h"); code != exitOK {
		t.Fatalf("-h: %d", code)
	}
	if code, _, _ := runCmd("info", "a", "b"); code != exitUsage {
		t.Fatalf("two args: %d", code)
	}
	bad := filepath.Join(t.TempDir(), "bad.nii")
	os.WriteFile(bad, []byte("garbage garbage garbage"), 0o644)
	if code, _, errs := runCmd("info", bad); code != exitError || !strings.Contains(errs, bad) {
		t.Fatalf("garbage file: %d %s", code, errs)
	}
	if code, _, errs := runCmd("info", filepath.Join(t.TempDir(), "missing.nii")); code != exitError || !strings.Contains(errs, "missing.nii") {
		t.Fatalf("missing file: %d %s", code, errs)
	}
}

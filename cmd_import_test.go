package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// importSources writes T1, T2 and FLAIR as NIfTI and T1c as a DICOM folder
// (the post-contrast series of dicomFolder), all from the real head.
func importSources(t *testing.T) (args []string, head *volume.Volume) {
	head = smallHead(t)
	dir := t.TempDir()
	dcm, t1cUID, _ := dicomFolder(t, head)
	for _, s := range []volume.Sequence{volume.T1, volume.T2, volume.FLAIR} {
		p := filepath.Join(dir, "sub-01_"+s.String()+".nii.gz")
		if err := nifti.WriteVolume(p, head); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--"+s.String(), p)
	}
	args = append(args, "--t1c", dcm, "--t1c-series", t1cUID)
	return args, head
}

func TestImportAndCases(t *testing.T) {
	srcArgs, head := importSources(t)
	ws := filepath.Join(t.TempDir(), "ws")

	// Without --create a missing workspace is an error.
	args := append([]string{"import", "--workspace", ws, "--case", "case-01"}, srcArgs...)
	if code, _, errs := runCmd(args...); code != exitError || !strings.Contains(errs, "workspace") {
		t.Fatalf("no --create: %d %s", code, errs)
	}
	code, out, errs := runCmd(append(args, "--create", "--by", "tester")...)
	if code != exitOK {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, `imported case "case-01"`) || !strings.Contains(out, "t1c") {
		t.Errorf("import output %q", out)
	}
	w, err := workspace.Open(ws)
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.Case("case-01")
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := c.Sequence(volume.T1c)
	if rec.Format != "dicom" || rec.Class != "t1c" || rec.SeriesUID == "" {
		t.Errorf("T1c record %+v", rec)
	}
	t1c, err := nifti.ReadVolume(c.ImagePath(volume.T1c))
	if err != nil {
		t.Fatal(err)
	}
	if !t1c.SameGeometry(head.Grid, 1e-4) {
		t.Fatalf("T1c geometry %v; want %v", t1c.Affine, head.Affine)
	}
	for i := range head.Data {
		if t1c.Data[i] != head.Data[i] {
			t.Fatalf("T1c voxel %d = %v; want %v", i, t1c.Data[i], head.Data[i])
		}
	}

	// The same name again fails and changes nothing.
	if code, _, errs := runCmd(args...); code != exitError || !strings.Contains(errs, "already exists") {
		t.Fatalf("duplicate: %d %s", code, errs)
	}

	if err := c.SetReaderStatus("Dr A", workspace.InProgress); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCmd("cases", "--workspace", ws)
	if code != exitOK {
		t.Fatalf("cases: %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "case-01") || !strings.Contains(lines[1], "reading") ||
		!strings.Contains(lines[1], "Dr A: in progress") || !strings.Contains(lines[1], "T1 T2 T1c FLAIR") {
		t.Fatalf("cases table:\n%s", out)
	}
	code, out, _ = runCmd("cases", "--json", "--workspace", ws)
	if code != exitOK || !strings.Contains(out, `"status": "reading"`) || !strings.Contains(out, `"consensus": "not started"`) {
		t.Fatalf("cases --json: %d\n%s", code, out)
	}
}

func TestImportFailures(t *testing.T) {
	srcArgs, _ := importSources(t)
	ws := filepath.Join(t.TempDir(), "ws")
	base := []string{"import", "--create", "--workspace", ws}
	if code, _, errs := runCmd(append(base, srcArgs...)...); code != exitUsage || !strings.Contains(errs, "--case") {
		t.Fatalf("no --case: %d %s", code, errs)
	}
	if code, _, errs := runCmd(append(base, "--case", "x", "--t1", "a.nii")...); code != exitUsage || !strings.Contains(errs, "--t2 is required") {
		t.Fatalf("missing sequences: %d %s", code, errs)
	}
	bad := filepath.Join(t.TempDir(), "flair.nii.gz")
	os.WriteFile(bad, []byte("not an image"), 0o644)
	args := append(append(base, "--case", "c1"), srcArgs...)
	args = append(args, "--flair", bad) // the later flag wins
	if code, _, errs := runCmd(args...); code != exitError || !strings.Contains(errs, bad) {
		t.Fatalf("corrupt FLAIR: %d %s", code, errs)
	}
	if code, _, errs := runCmd(append(append(base, "--case", "../up"), srcArgs...)...); code != exitError || !strings.Contains(errs, "name") {
		t.Fatalf("bad case name: %d %s", code, errs)
	}
	code, out, _ := runCmd("cases", "--workspace", ws)
	if code != exitOK || !strings.Contains(out, "no cases") {
		t.Fatalf("failed imports left a case: %s", out)
	}
	if code, _, _ := runCmd("cases"); code != exitUsage {
		t.Fatalf("cases without --workspace: %d", code)
	}
	if code, _, _ := runCmd("cases", "--workspace", t.TempDir()); code != exitError {
		t.Fatalf("cases on a non-workspace: %d", code)
	}
}

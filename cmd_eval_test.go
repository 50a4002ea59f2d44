package main

import (
	"bytes"
	"encoding/csv"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// evalFixture writes two cases whose every count is known:
//
//	case a: lesions L1, L2; fused finds both; fold1 finds both + 2 FP
//	case b: lesion L3;      fused misses it, 1 FP; fold1 finds it + 2 FP
//
// fused: sensitivity 2/3, precision 2/3, F1 0.67, missed 1, 0.50 FP/scan;
// fold1: sensitivity 3/3, precision 3/7 = 43 %, F1 0.60, missed 0, 2.00.
// Truth is laid out as phantom case folders (<case>/label.nii.gz),
// predictions as <case>.nii.gz files.
func evalFixture(t *testing.T) (root string) {
	t.Helper()
	root = t.TempDir()
	g := volume.Grid{Dims: [3]int{24, 16, 12}, Affine: volume.Diagonal([3]float64{1, 1, 1.5}, [3]float64{-12, -8, -9})}
	box := func(l *volume.Label, lo, hi [3]int) {
		for k := lo[2]; k <= hi[2]; k++ {
			for j := lo[1]; j <= hi[1]; j++ {
				for i := lo[0]; i <= hi[0]; i++ {
					l.Set(i, j, k, 1)
				}
			}
		}
	}
	write := func(path string, l *volume.Label) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := nifti.WriteLabel(path, l); err != nil {
			t.Fatal(err)
		}
	}
	l1 := [2][3]int{{2, 2, 2}, {4, 4, 4}}
	l2 := [2][3]int{{10, 2, 2}, {13, 5, 4}}
	l3 := [2][3]int{{15, 9, 6}, {17, 11, 8}}
	fp1 := [2][3]int{{20, 13, 9}, {21, 14, 10}}
	fp2 := [2][3]int{{2, 12, 9}, {3, 13, 10}}
	mk := func(boxes ...[2][3]int) *volume.Label {
		l := volume.NewLabel(g)
		for _, b := range boxes {
			box(l, b[0], b[1])
		}
		return l
	}
	write(filepath.Join(root, "truth", "a", "label.nii.gz"), mk(l1, l2))
	write(filepath.Join(root, "truth", "b", "label.nii.gz"), mk(l3))
	write(filepath.Join(root, "fused", "a.nii.gz"), mk(l1, l2))
	write(filepath.Join(root, "fused", "b.nii.gz"), mk(fp1))
	write(filepath.Join(root, "fold1", "a.nii.gz"), mk(l1, l2, fp1, fp2))
	write(filepath.Join(root, "fold1", "b.nii.gz"), mk(l3, fp1, fp2))
	// Probability maps: 0.8 on the fused lesions, 0.4 on fold1's extras.
	os.MkdirAll(filepath.Join(root, "prob"), 0o755)
	for _, c := range []string{"a", "b"} {
		fused, _ := nifti.ReadLabel(filepath.Join(root, "fused", c+".nii.gz"))
		fold, _ := nifti.ReadLabel(filepath.Join(root, "fold1", c+".nii.gz"))
		p := volume.New(g)
		for i := range p.Data {
			switch {
			case fused.Data[i] != 0:
				p.Data[i] = 0.8
			case fold.Data[i] != 0:
				p.Data[i] = 0.4
			}
		}
		if err := nifti.WriteVolume(filepath.Join(root, "prob", c+".nii.gz"), p); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestEvalFolders(t *testing.T) {
	root := evalFixture(t)
	out := filepath.Join(t.TempDir(), "out")
	os.Mkdir(out, 0o755)
	var stdout, stderr bytes.Buffer
	code := cmdEval([]string{
		"--truth", filepath.Join(root, "truth"),
		"--pred", filepath.Join(root, "fused"), "--pred", "Fold 1=" + filepath.Join(root, "fold1"),
		"--prob", "ensemble=" + filepath.Join(root, "prob"), "--thresholds", "4",
		"--csv", filepath.Join(out, "table.csv"), "--froc", filepath.Join(out, "froc.png"),
		"--froc-csv", filepath.Join(out, "froc.csv"), "--per-case",
	}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	text := stdout.String()
	if os.Getenv("EVAL_SHOW") != "" {
		t.Log(text)
	}
	for _, row := range []string{
		"| | fused | Fold 1 | Study (Cologne, published) |",
		"| Sensitivity | 67% | 100% | 88% |",
		"| Precision | 67% | 43% | 74% |",
		"| F1 score | 0.67 | 0.60 | 0.80 |",
		"| Missed | 1 | 0 | 4 |",
		"| FPs/scan | 0.50 | 2.00 | 0.71 |",
		"| Dice coefficient | 1.00 | 1.00 | 0.75 |",
		"| Detected | 2/3 | 3/3 | 28/32 |",
		"| b | fused | 1 | 0 | 1 | 1 | 0 | 0.00 | n/a |",
		"2 cases, 3 reference lesions",
		"trained on synthetic data",
	} {
		if !strings.Contains(text, row) {
			t.Errorf("output lacks %q:\n%s", row, text)
		}
	}
	// The table as CSV: fractions, for other tools.
	f, err := os.Open(filepath.Join(out, "table.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if recs[0][1] != "fused" || recs[2][0] != "Precision" || recs[2][2] != "0.42857142857142855" {
		t.Errorf("table CSV %v", recs)
	}
	// FROC at thresholds 0.2, 0.4, 0.6, 0.8: fold1's extras (0.4) are in
	// up to 0.4, the fused lesions up to 0.8.
	data, _ := os.ReadFile(filepath.Join(out, "froc.csv"))
	for _, row := range []string{
		"ensemble,0.2,1,2,3,0,4,2", // everything: 3 found, 4 FP
		"ensemble,0.6,0.6666666666666666,0.5,2,1,1,2",
		"ensemble,0.8,0.6666666666666666,0.5,2,1,1,2",
	} {
		if !strings.Contains(string(data), row+"\n") {
			t.Errorf("FROC CSV lacks %q:\n%s", row, data)
		}
	}
	pf, err := os.Open(filepath.Join(out, "froc.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if _, err := png.Decode(pf); err != nil {
		t.Errorf("FROC plot: %v", err)
	}
}

func TestEvalErrors(t *testing.T) {
	root := evalFixture(t)
	truth := filepath.Join(root, "truth")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no truth", []string{"--pred", root}, exitUsage, "--truth is required"},
		{"bad conn", []string{"--truth", truth, "--conn", "8"}, exitUsage, "connectivity"},
		{"froc without prob", []string{"--truth", truth, "--pred", filepath.Join(root, "fused"), "--froc", "x.png"}, exitUsage, "probability maps"},
		{"no predictions", []string{"--truth", truth}, exitError, "no predictions"},
		{"missing case", []string{"--truth", truth, "--pred", filepath.Join(root, "truth", "a")}, exitError, "no map for case a"},
		{"probability as label", []string{"--truth", truth, "--pred", filepath.Join(root, "prob")}, exitError, "not a label map"},
		{"empty truth", []string{"--truth", t.TempDir(), "--pred", root}, exitError, "no cases"},
	} {
		var stdout, stderr bytes.Buffer
		code := cmdEval(tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", tc.name, code, stderr.String(), tc.code, tc.want)
		}
	}
	// A prediction on another grid: an error naming both files.
	g := volume.Grid{Dims: [3]int{24, 16, 13}, Affine: volume.Identity()}
	other := filepath.Join(t.TempDir(), "other")
	os.MkdirAll(other, 0o755)
	for _, c := range []string{"a", "b"} {
		nifti.WriteLabel(filepath.Join(other, c+".nii.gz"), volume.NewLabel(g))
	}
	var stdout, stderr bytes.Buffer
	if code := cmdEval([]string{"--truth", truth, "--pred", other}, &stdout, &stderr); code != exitError ||
		!strings.Contains(stderr.String(), filepath.Join(other, "a.nii.gz")) || !strings.Contains(stderr.String(), "different grids") {
		t.Errorf("grid mismatch: exit %d, %q", code, stderr.String())
	}
	// A corrupt file: an error naming it, no panic.
	bad := filepath.Join(t.TempDir(), "bad")
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "a.nii.gz"), []byte("not a nifti file"), 0o644)
	os.WriteFile(filepath.Join(bad, "b.nii.gz"), []byte("not a nifti file"), 0o644)
	stderr.Reset()
	if code := cmdEval([]string{"--truth", truth, "--pred", bad}, &stdout, &stderr); code != exitError ||
		!strings.Contains(stderr.String(), filepath.Join(bad, "a.nii.gz")) {
		t.Errorf("corrupt file: exit %d, %q", code, stderr.String())
	}
}

// TestEvalWorkspace scores a workspace: truth is each case's consensus,
// predictions default to candidates/*.nii.gz, one column per model, label
// maps in the table and probability maps as FROC curves.
func TestEvalWorkspace(t *testing.T) {
	root := evalFixture(t)
	ws, err := workspace.Create(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "img.nii.gz")
	truthA, _ := nifti.ReadLabel(filepath.Join(root, "truth", "a", "label.nii.gz"))
	if err := nifti.WriteVolume(img, truthA.ToVolume()); err != nil {
		t.Fatal(err)
	}
	src := map[volume.Sequence]string{}
	for _, s := range volume.Sequences {
		src[s] = img
	}
	copyFile := func(from, to string) {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"a", "b", "c"} {
		c, err := ws.AddCase(name, src)
		if err != nil {
			t.Fatal(err)
		}
		if name == "c" {
			continue // no consensus yet: skipped
		}
		copyFile(filepath.Join(root, "truth", name, "label.nii.gz"), c.ConsensusPath())
		copyFile(filepath.Join(root, "fused", name+".nii.gz"), filepath.Join(c.CandidatesDir(), "fused.nii.gz"))
		copyFile(filepath.Join(root, "fold1", name+".nii.gz"), filepath.Join(c.CandidatesDir(), "fold1.nii.gz"))
		copyFile(filepath.Join(root, "prob", name+".nii.gz"), filepath.Join(c.CandidatesDir(), "ensemble-prob.nii.gz"))
	}
	var stdout, stderr bytes.Buffer
	if code := cmdEval([]string{"--truth", ws.Dir(), "--study=false"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, row := range []string{
		"| | fold1 | fused |",
		"| Sensitivity | 100% | 67% |",
		"| FPs/scan | 2.00 | 0.50 |",
		"1 workspace cases without consensus skipped",
		"  ensemble-prob: 0.05:1.00@2.00",
	} {
		if !strings.Contains(stdout.String(), row) {
			t.Errorf("output lacks %q:\n%s", row, stdout.String())
		}
	}
}

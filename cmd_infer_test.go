package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"metascope/assets"
	"metascope/inference"
	"metascope/internal/testdata"
	"metascope/lesion"
	"metascope/preprocess"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// writePreprocessedCase writes a case folder whose preproc/ holds a block of
// the real MNI head at 1 mm, z-scored inside a brain mask, with a T1c
// reference grid of 2 mm voxels over the same field.
func writePreprocessedCase(t *testing.T) (string, *preprocess.Result) {
	t.Helper()
	mni, err := nifti.ReadVolume(testdata.MNIHead(t))
	if err != nil {
		t.Fatal(err)
	}
	centre := mni.VoxelToWorld([3]float64{float64(mni.Dims[0]) / 2, float64(mni.Dims[1]) / 2, float64(mni.Dims[2]) / 2})
	g := volume.Grid{Dims: [3]int{36, 40, 30}, Affine: volume.Diagonal([3]float64{1, 1, 1}, [3]float64{centre[0] - 18, centre[1] - 20, centre[2] - 15})}
	ref := volume.Grid{Dims: [3]int{18, 20, 15}, Affine: volume.Diagonal([3]float64{2, 2, 2}, [3]float64{centre[0] - 17.5, centre[1] - 19.5, centre[2] - 14.5})}
	head := volume.Resample(mni, g)
	mask := volume.NewLabel(g)
	lo, hi := head.Range()
	for i, v := range head.Data {
		if v > lo+0.3*(hi-lo) {
			mask.Data[i] = 1
		}
	}
	res := &preprocess.Result{BrainMask: mask, Grid: g, ReferenceGrid: ref, Options: preprocess.DefaultOptions()}
	for _, s := range volume.Sequences {
		v, _, err := preprocess.ZScoreNormalise(head, maskBools(mask))
		if err != nil {
			t.Fatal(err)
		}
		res.Images[s] = v
		res.Transforms[s] = preprocess.SequenceTransform{Sequence: s.String(), ReferenceToSequence: volume.Identity()}
	}
	dir := t.TempDir()
	if err := preprocess.WriteResult(filepath.Join(dir, "preproc"), res); err != nil {
		t.Fatal(err)
	}
	return dir, res
}

func maskBools(l *volume.Label) []bool {
	b := make([]bool, len(l.Data))
	for i, v := range l.Data {
		b[i] = v != 0
	}
	return b
}

func writeTinyModel(t *testing.T) string {
	t.Helper()
	cfg := inference.DefaultConfig()
	cfg.Channels = []int{3, 3, 4, 4}
	cfg.Residual = []int{4}
	cfg.FC = []int{6}
	var folds []*inference.Network
	for i := 0; i < 3; i++ {
		n, err := inference.NewNetwork(cfg, uint64(i+1), nil)
		if err != nil {
			t.Fatal(err)
		}
		folds = append(folds, n)
	}
	dir := filepath.Join(t.TempDir(), "tiny")
	info := inference.ModelInfo{Name: "tiny", SyntheticData: true, Notice: inference.SyntheticNotice, Threshold: 0.5, MinComponentCM3: 0.003}
	if err := inference.SaveModel(dir, info, folds); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestInferCaseFolder(t *testing.T) {
	caseDir, res := writePreprocessedCase(t)
	model := writeTinyModel(t)
	var out, errb bytes.Buffer
	if code := run([]string{"infer", "--quiet", "--model", model, "--segment", "12", caseDir}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	list, lp, pp := inference.CandidatePaths(filepath.Join(caseDir, "candidates"), "tiny")
	data, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	var rep inference.CandidateReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	label, err := nifti.ReadLabel(lp)
	if err != nil {
		t.Fatal(err)
	}
	prob, err := nifti.ReadVolume(pp)
	if err != nil {
		t.Fatal(err)
	}
	// Maps come back in the T1c grid, and the list describes the map.
	if !label.Grid.SameGeometry(res.ReferenceGrid, 1e-3) || !prob.Grid.SameGeometry(res.ReferenceGrid, 1e-3) {
		t.Fatalf("maps on grid %v, want the T1c grid %v", label.Dims, res.ReferenceGrid.Dims)
	}
	if comps := lesion.ComponentList(label, lesion.Conn26); len(comps) != len(rep.Candidates) {
		t.Errorf("label map has %d components, list %d", len(comps), len(rep.Candidates))
	}
	if !rep.SyntheticData || rep.Folds != 3 || !strings.Contains(out.String(), "not a medical device") {
		t.Errorf("report %+v, output %q", rep, out.String())
	}
	for _, c := range rep.Candidates {
		// A majority of the three folds marks every fused voxel; the mean
		// probability need not reach the threshold (two folds at 0.6, one
		// at 0 average 0.4).
		if c.Folds < 2 || c.Folds > 3 || !(c.MaxProb > 0 && c.MaxProb <= 1) {
			t.Errorf("candidate %+v", c)
		}
	}
}

func TestInferErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"infer", "--segment", "10", "x"}, &out, &errb); code != exitUsage {
		t.Errorf("segment 10: exit %d", code)
	}
	if code := run([]string{"infer"}, &out, &errb); code != exitUsage {
		t.Errorf("no case: exit %d", code)
	}
	caseDir, _ := writePreprocessedCase(t)
	t.Run("no demo model", func(t *testing.T) {
		if _, ok := assets.DemoModel(); ok {
			t.Skip("this build embeds the demo model")
		}
		t.Chdir(t.TempDir())
		errb.Reset()
		if code := run([]string{"infer", "--quiet", caseDir}, &out, &errb); code != exitError || !strings.Contains(errb.String(), "demo model") {
			t.Errorf("no model: exit %d, %q", code, errb.String())
		}
	})
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "model.json"), []byte(`{"format":"metascope-model"`), 0o644)
	errb.Reset()
	if code := run([]string{"infer", "--quiet", "--model", bad, caseDir}, &out, &errb); code != exitError || !strings.Contains(errb.String(), bad) {
		t.Errorf("corrupt model: exit %d, %q", code, errb.String())
	}
}

// TestInferWorkspaceCase runs infer on a workspace case: candidates land in
// the case's candidates/ folder and the audit log records the run.
func TestInferWorkspaceCase(t *testing.T) {
	src, res := writePreprocessedCase(t)
	w, err := workspace.Create(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	sources := map[volume.Sequence]string{}
	for _, s := range volume.Sequences {
		p := filepath.Join(src, s.String()+".nii.gz")
		if err := nifti.WriteVolume(p, res.Images[s]); err != nil {
			t.Fatal(err)
		}
		sources[s] = p
	}
	c, err := w.AddCase("case-01", sources)
	if err != nil {
		t.Fatal(err)
	}
	if err := preprocess.WriteResult(c.PreprocDir(), res); err != nil {
		t.Fatal(err)
	}
	model := writeTinyModel(t)
	var out, errb bytes.Buffer
	if code := run([]string{"infer", "--quiet", "--model", model, "--segment", "12", "--workspace", w.Dir(), "--case", "case-01"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	list, lp, pp := inference.CandidatePaths(c.CandidatesDir(), "tiny")
	for _, p := range []string{list, lp, pp} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	log, err := c.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	if len(log) == 0 || log[len(log)-1].Action != "AI candidates" {
		t.Errorf("audit log %+v", log)
	}
}

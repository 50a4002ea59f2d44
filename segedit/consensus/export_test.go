package consensus

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"metascope/preprocess"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// finalised is the scripted case with its consensus made (union of item
// 1, A's lesion 2, B's lesion 3), plus a second case still being read.
func finalised(t *testing.T) *scripted {
	t.Helper()
	s := newScripted(t)
	s.inWorkspace(t)
	s.submitBoth(t)
	sess, err := Open(s.ws, s.c, "Dr A", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range map[int]Resolution{1: Union, 2: AcceptA, 3: AcceptB} {
		if err := sess.Resolve("Dr A", id, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sess.Finalise("Dr B"); err != nil {
		t.Fatal(err)
	}
	req := workspace.ImportRequest{Name: "case-02", Sources: map[volume.Sequence]workspace.Source{}}
	for seq, p := range s.imagePath {
		req.Sources[seq] = workspace.Source{Path: p}
	}
	c2, err := s.ws.Import(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := mkdirWriteLabel(c2.LabelPath("Dr A"), s.a); err != nil {
		t.Fatal(err)
	}
	if err := c2.SetReaderStatus("Dr A", workspace.Submitted); err != nil {
		t.Fatal(err)
	}
	if err := c2.SetReaderStatus("Dr B", workspace.InProgress); err != nil {
		t.Fatal(err)
	}
	return s
}

// fakePreproc writes a preproc/ folder for the case: the four images on a
// grid of 2x coarser voxels (no registration), a brain mask of ones.
func fakePreproc(t *testing.T, c *workspace.Case) *preprocess.Result {
	t.Helper()
	t1c, err := nifti.ReadVolume(c.ImagePath(volume.T1c))
	if err != nil {
		t.Fatal(err)
	}
	g := t1c.Grid
	g2 := volume.Grid{Dims: [3]int{(g.Dims[0] + 1) / 2, (g.Dims[1] + 1) / 2, (g.Dims[2] + 1) / 2}, Affine: g.Affine}
	for r := range 3 {
		for col := range 3 {
			g2.Affine[r][col] *= 2
		}
	}
	r := &preprocess.Result{Grid: g2, ReferenceGrid: g, BrainMask: volume.NewLabel(g2)}
	for i := range r.BrainMask.Data {
		r.BrainMask.Data[i] = 1
	}
	for _, s := range volume.Sequences {
		img, err := nifti.ReadVolume(c.ImagePath(s))
		if err != nil {
			t.Fatal(err)
		}
		r.Images[s] = volume.Resample(img, g2)
		r.Transforms[s] = preprocess.SequenceTransform{Sequence: s.String(), ReferenceToSequence: volume.Identity()}
	}
	if err := preprocess.WriteResult(c.PreprocDir(), r); err != nil {
		t.Fatal(err)
	}
	back, err := preprocess.ReadResult(c.PreprocDir())
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func readBack(t *testing.T, dir string) datasetJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "dataset.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dj datasetJSON
	if err := json.Unmarshal(b, &dj); err != nil {
		t.Fatal(err)
	}
	if dj.NumTraining != 1 || dj.FileEnding != ".nii.gz" || dj.Labels["background"] != 0 || dj.Labels["metastasis"] != 1 ||
		len(dj.ChannelNames) != 4 || dj.ChannelNames["2"] != "T1c" || dj.ChannelNames["3"] != "FLAIR" {
		t.Errorf("dataset.json: %+v", dj)
	}
	// Complete: exactly the files of case-01, nothing of case-02.
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	want := []string{"dataset.json", "imagesTr/case-01_0000.nii.gz", "imagesTr/case-01_0001.nii.gz", "imagesTr/case-01_0002.nii.gz",
		"imagesTr/case-01_0003.nii.gz", "labelsT1c/case-01.nii.gz", "labelsTr/case-01.nii.gz"}
	for _, f := range files {
		if !slices.Contains(want, f) && filepath.Dir(filepath.Dir(f)) != Preproc {
			t.Errorf("unexpected file %s in the dataset", f)
		}
	}
	for _, f := range want {
		if !slices.Contains(files, f) {
			t.Errorf("missing %s", f)
		}
	}
	return dj
}

func sameVolume(t *testing.T, what string, got, want *volume.Volume) {
	t.Helper()
	if !got.Grid.SameGeometry(want.Grid, 1e-3) {
		t.Errorf("%s: grid %v, want %v", what, got.Grid, want.Grid)
		return
	}
	for i := range got.Data {
		if got.Data[i] != want.Data[i] {
			t.Errorf("%s: voxel %d is %v, want %v", what, i, got.Data[i], want.Data[i])
			return
		}
	}
}

func sameLabel(t *testing.T, what string, got, want *volume.Label) {
	t.Helper()
	if !got.Grid.SameGeometry(want.Grid, 1e-3) || !slices.Equal(got.Data, want.Data) {
		t.Errorf("%s: %d voxels on %v, want %d on %v", what, got.Count(), got.Dims, want.Count(), want.Dims)
	}
}

func TestExport(t *testing.T) {
	s := finalised(t)
	c := s.c
	consensus, err := nifti.ReadLabel(c.ConsensusPath())
	if err != nil {
		t.Fatal(err)
	}
	var imgs [4]*volume.Volume
	for _, seq := range volume.Sequences {
		if imgs[seq], err = nifti.ReadVolume(c.ImagePath(seq)); err != nil {
			t.Fatal(err)
		}
	}
	t1c := imgs[volume.T1c].Grid
	check := func(dir string, wantImgs [4]*volume.Volume, wantLabel *volume.Label) {
		t.Helper()
		readBack(t, dir)
		for _, seq := range volume.Sequences {
			got, err := nifti.ReadVolume(filepath.Join(dir, ImagesTr, ImageName("case-01", seq)))
			if err != nil {
				t.Fatal(err)
			}
			sameVolume(t, seq.Title(), got, wantImgs[seq])
		}
		got, err := nifti.ReadLabel(filepath.Join(dir, LabelsTr, "case-01.nii.gz"))
		if err != nil {
			t.Fatal(err)
		}
		sameLabel(t, "labelsTr", got, wantLabel)
		orig, err := nifti.ReadLabel(filepath.Join(dir, LabelsT1c, "case-01.nii.gz"))
		if err != nil {
			t.Fatal(err)
		}
		sameLabel(t, "labelsT1c", orig, consensus)
	}

	// No preprocessing: the T1c grid, the T1c itself unchanged.
	dir := filepath.Join(t.TempDir(), "ds")
	rep, err := Export(s.ws, ExportOptions{Dir: dir, By: "Admin"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Cases) != 1 || rep.Cases[0].Space != "original T1c" || rep.Skipped["case-02"] == "" {
		t.Errorf("report %+v", rep)
	}
	var want [4]*volume.Volume
	for _, seq := range volume.Sequences {
		want[seq] = volume.Resample(imgs[seq], t1c)
	}
	sameVolume(t, "T1c is the imported one", want[volume.T1c], imgs[volume.T1c])
	check(dir, want, consensus)
	if _, err := Export(s.ws, ExportOptions{Dir: dir}); err == nil {
		t.Error("exported into a folder that is not empty")
	}

	// With preprocessing: its space by default ...
	pre := fakePreproc(t, c)
	dir = filepath.Join(t.TempDir(), "pre")
	if rep, err = Export(s.ws, ExportOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if rep.Cases[0].Space != "preprocessed" {
		t.Errorf("space %q", rep.Cases[0].Space)
	}
	check(dir, pre.Images, volume.ResampleLabel(consensus, pre.Grid))
	if cp, err := preprocess.ReadResult(filepath.Join(dir, Preproc, "case-01")); err != nil || !cp.ReferenceGrid.SameGeometry(pre.Grid, 1e-3) {
		t.Errorf("preproc of the preprocessed export: %v", err)
	}

	// ... and the original T1c space on request, with preproc/ alongside.
	dir = filepath.Join(t.TempDir(), "orig")
	if _, err = Export(s.ws, ExportOptions{Dir: dir, OriginalSpace: true}); err != nil {
		t.Fatal(err)
	}
	check(dir, want, consensus)
	if _, err := preprocess.ReadResult(filepath.Join(dir, Preproc, "case-01")); err != nil {
		t.Errorf("preproc copy: %v", err)
	}
	log, err := c.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(slices.DeleteFunc(log, func(e workspace.AuditEntry) bool { return e.Action != "export" })); n != 3 {
		t.Errorf("%d export audit lines, want 3", n)
	}
}

// TestExportRespectsBlinding: nothing is exported while no consensus is
// final, even with every reader's labels on disk.
func TestExportRespectsBlinding(t *testing.T) {
	s := newScripted(t)
	s.inWorkspace(t)
	if err := s.c.Submit("Dr A"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ds")
	if _, err := Export(s.ws, ExportOptions{Dir: dir}); err == nil {
		t.Fatal("exported a workspace without a ready case")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Error("a failed export left a folder behind")
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 0 {
		t.Errorf("a failed export left %d entries", len(entries))
	}
}

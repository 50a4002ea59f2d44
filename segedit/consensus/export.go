package consensus

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"metascope/internal/atomicfile"
	"metascope/preprocess"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// Export writes a training dataset in the nnU-Net v2 / Medical
// Segmentation Decathlon layout. It lives here rather than in workspace
// because it reads the preprocessing folders (preprocess sits beside
// workspace in DESIGN.md's layers) and because only consensus decides what
// may leave the workspace.

// ChannelNames are dataset.json's channels: the sequences in
// volume.Sequences order (imagesTr/<case>_0000 is T1, ..._0003 FLAIR).
var ChannelNames = map[string]string{"0": "T1", "1": "T2", "2": "T1c", "3": "FLAIR"}

// ExportOptions say where and in which space to export.
type ExportOptions struct {
	// Dir is the dataset folder; it must not exist or be empty. The
	// dataset is written to a temporary sibling and renamed into place
	// when complete.
	Dir string
	// OriginalSpace exports images and labels on each case's original T1c
	// grid (T1, T2 and FLAIR resampled into it, through the registration
	// of preproc/ when there is one). Otherwise a case with preproc/ is
	// exported in its preprocessed 1 mm space (the label resampled by
	// nearest neighbour) and a case without it on its T1c grid. Either way
	// a case with preproc/ gets preproc/<case>/ in the dataset, the
	// preprocessing of the exported images (in the preprocessed space with
	// the exported grid as its reference grid), so that Metascope's
	// training reads the dataset without preprocessing again.
	OriginalSpace bool
	// By is who exports (for each case's audit log).
	By string
}

// ExportedCase says what was exported for one case.
type ExportedCase struct {
	Name  string `json:"name"`
	Space string `json:"space"` // "preprocessed" or "original T1c"
	Dims  [3]int `json:"dims"`
	// LabelVoxels counts the label's voxels in the exported space.
	LabelVoxels int `json:"label_voxels"`
}

// ExportReport lists the exported cases and why others were left out.
type ExportReport struct {
	Dir     string            `json:"dir"`
	Cases   []ExportedCase    `json:"cases"`
	Skipped map[string]string `json:"skipped"`
}

type datasetJSON struct {
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	ChannelNames map[string]string `json:"channel_names"`
	Labels       map[string]int    `json:"labels"`
	NumTraining  int               `json:"numTraining"`
	FileEnding   string            `json:"file_ending"`
	Metascope    datasetMeta       `json:"metascope"`
}

type datasetMeta struct {
	Note string `json:"note"`
	// Space is "preprocessed" (per case: see cases) or "original T1c".
	OriginalSpace bool           `json:"original_space"`
	Cases         []ExportedCase `json:"cases"`
	// LabelsT1c names the folder of the labels on each case's original T1c
	// grid (with its affine).
	LabelsT1c string `json:"labels_t1c"`
}

// Dataset folder names.
const (
	ImagesTr  = "imagesTr"
	LabelsTr  = "labelsTr"
	LabelsT1c = "labelsT1c"
	Preproc   = "preproc"
)

// ImageName is imagesTr's file name of a case's sequence.
func ImageName(cas string, s volume.Sequence) string {
	return fmt.Sprintf("%s_%04d.nii.gz", cas, int(s))
}

// Export writes the consensus labels of every case of w marked ready for
// training, with the case's four sequences, as a training dataset:
// imagesTr/<case>_000{0..3}.nii.gz, labelsTr/<case>.nii.gz, dataset.json,
// and labelsT1c/<case>.nii.gz, the consensus on the case's original T1c
// grid. Only consensus labels leave the workspace, read through
// workspace.OpenConsensusLabel as workspace.NoViewer: a reader's own
// labels are never exported. It fails when no case is ready.
func Export(w *workspace.Workspace, opts ExportOptions) (rep *ExportReport, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("export: internal error: %v\n%s", r, debug.Stack())
		}
	}()
	if opts.Dir == "" {
		return nil, errors.New("export: no output folder")
	}
	if entries, err := os.ReadDir(opts.Dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("export: %s is not empty", opts.Dir)
	} else if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("export: %w", err)
	}
	cases, err := w.Cases()
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	parent := filepath.Dir(filepath.Clean(opts.Dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(opts.Dir)+".partial-")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	for _, d := range []string{ImagesTr, LabelsTr, LabelsT1c} {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o755); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	rep = &ExportReport{Dir: opts.Dir, Skipped: map[string]string{}, Cases: []ExportedCase{}}
	for _, c := range cases {
		if !c.ReadyForTraining() {
			rep.Skipped[c.Name()] = fmt.Sprintf("not ready for training (consensus %s)", c.Consensus())
			continue
		}
		ec, err := exportCase(w, c, tmp, opts)
		if err != nil {
			return nil, fmt.Errorf("export: case %q: %w", c.Name(), err)
		}
		rep.Cases = append(rep.Cases, ec)
	}
	if len(rep.Cases) == 0 {
		return nil, fmt.Errorf("export: no case of %s is ready for training", w.Dir())
	}
	dj := datasetJSON{
		Name:         "Metascope",
		Description:  "Brain metastases: consensus labels of two readers on T1, T2, T1c and FLAIR, exported by Metascope (not a medical device).",
		ChannelNames: ChannelNames,
		Labels:       map[string]int{"background": 0, "metastasis": 1},
		NumTraining:  len(rep.Cases),
		FileEnding:   ".nii.gz",
		Metascope: datasetMeta{
			Note:          "labelsTr is on each case's imagesTr grid; labelsT1c holds the same consensus on the case's original T1c grid; preproc/<case> (when present) is the preprocessing of imagesTr, with imagesTr's grid as reference.",
			OriginalSpace: opts.OriginalSpace, Cases: rep.Cases, LabelsT1c: LabelsT1c,
		},
	}
	b, err := json.MarshalIndent(dj, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(tmp, "dataset.json"), append(b, '\n')); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	// An empty folder left by the caller is replaced by the complete one.
	if err := os.Remove(opts.Dir); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmp, opts.Dir); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	done = true
	for _, ec := range rep.Cases {
		if c, err := w.Case(ec.Name); err == nil {
			if err := c.Audit(opts.By, "export", map[string]any{"dir": opts.Dir, "space": ec.Space}); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

func exportCase(w *workspace.Workspace, c *workspace.Case, dir string, opts ExportOptions) (ExportedCase, error) {
	ec := ExportedCase{Name: c.Name()}
	label, err := w.OpenConsensusLabel(c, workspace.NoViewer)
	if err != nil {
		return ec, err
	}
	var imgs [4]*volume.Volume
	for _, s := range volume.Sequences {
		if imgs[s], err = nifti.ReadVolume(c.ImagePath(s)); err != nil {
			return ec, err
		}
	}
	t1c := imgs[volume.T1c].Grid
	if !label.Grid.SameGeometry(t1c, 1e-3) {
		return ec, fmt.Errorf("%s is not on the T1c grid of %s", c.ConsensusPath(), c.ImagePath(volume.T1c))
	}
	var pre *preprocess.Result
	if _, err := os.Stat(filepath.Join(c.PreprocDir(), preprocess.ManifestFile)); err == nil {
		if pre, err = preprocess.ReadResult(c.PreprocDir()); err != nil {
			return ec, err
		}
		if !pre.ReferenceGrid.SameGeometry(t1c, 1e-3) {
			return ec, fmt.Errorf("%s was made from another T1c grid", c.PreprocDir())
		}
	}
	var out [4]*volume.Volume
	outLabel := label
	switch {
	case pre != nil && !opts.OriginalSpace:
		ec.Space = "preprocessed"
		out = pre.Images
		outLabel = volume.ResampleLabel(label, pre.Grid)
	default:
		ec.Space = "original T1c"
		for _, s := range volume.Sequences {
			worldT := volume.Identity()
			if pre != nil {
				worldT = pre.Transforms[s].ReferenceToSequence
			}
			out[s] = volume.ResampleTransformed(imgs[s], t1c, worldT, volume.Linear)
		}
	}
	for _, s := range volume.Sequences {
		if err := nifti.WriteVolume(filepath.Join(dir, ImagesTr, ImageName(c.Name(), s)), out[s]); err != nil {
			return ec, err
		}
	}
	if err := nifti.WriteLabel(filepath.Join(dir, LabelsTr, c.Name()+".nii.gz"), binarise(outLabel)); err != nil {
		return ec, err
	}
	if err := nifti.WriteLabel(filepath.Join(dir, LabelsT1c, c.Name()+".nii.gz"), binarise(label)); err != nil {
		return ec, err
	}
	if pre != nil {
		// preproc/<case> is the preprocessing of this dataset's images, so
		// that a reader of the dataset (Metascope's training) need not
		// preprocess again: as it is in the original space; in the
		// preprocessed space, with the exported grid as its reference.
		cp := *pre
		if !opts.OriginalSpace {
			cp.ReferenceGrid = pre.Grid
			for _, s := range volume.Sequences {
				cp.Transforms[s].ReferenceToSequence = volume.Identity()
			}
		}
		if err := preprocess.WriteResult(filepath.Join(dir, Preproc, c.Name()), &cp); err != nil {
			return ec, err
		}
	}
	ec.Dims, ec.LabelVoxels = outLabel.Dims, outLabel.Count()
	return ec, nil
}

// binarise maps every non-zero label to 1, dataset.json's "metastasis".
func binarise(l *volume.Label) *volume.Label {
	out := volume.NewLabel(l.Grid)
	for i, x := range l.Data {
		if x != 0 {
			out.Data[i] = 1
		}
	}
	return out
}

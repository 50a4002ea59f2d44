package inference

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"metascope/internal/atomicfile"
	"metascope/volume"
	"metascope/volume/nifti"
)

// CandidateReport is the candidate list written into a case
// (candidates/<model>.json) beside the label map (<model>.nii.gz) and the
// mean probability map (<model>_prob.nii.gz), all on the case's T1c grid.
type CandidateReport struct {
	Format        string  `json:"format"` // "metascope-candidates"
	Version       int     `json:"version"`
	Model         string  `json:"model"`
	ModelDir      string  `json:"model_dir"`
	SyntheticData bool    `json:"synthetic_data"`
	Notice        string  `json:"notice"`
	Created       string  `json:"created"`
	Threshold     float64 `json:"threshold"`
	MinCM3        float64 `json:"min_component_cm3"`
	Folds         int     `json:"folds"`
	// Removed is how many fused components were dropped as too small.
	Removed int `json:"removed_small"`
	// Dims and Affine are the grid of the maps (the case's T1c).
	Dims       [3]int        `json:"dims"`
	Affine     volume.Affine `json:"affine"`
	Seconds    float64       `json:"seconds"`
	Candidates []Candidate   `json:"candidates"`
}

// NewReport describes a prediction of model e on grid g.
func NewReport(e *Ensemble, name string, g volume.Grid, removed int, cands []Candidate, seconds float64) CandidateReport {
	notice := e.Info.Notice
	if notice == "" {
		notice = "Research software, not a medical device."
	}
	if cands == nil {
		cands = []Candidate{}
	}
	return CandidateReport{
		Format: "metascope-candidates", Version: 1, Model: name, ModelDir: e.Dir,
		SyntheticData: e.Info.SyntheticData, Notice: notice, Created: time.Now().UTC().Format(time.RFC3339),
		Threshold: e.Info.Threshold, MinCM3: e.Info.MinComponentCM3, Folds: len(e.Folds), Removed: removed,
		Dims: g.Dims, Affine: g.Affine, Seconds: seconds, Candidates: cands,
	}
}

// CandidatePaths are the three files of a model's candidates in a folder.
func CandidatePaths(dir, model string) (list, label, prob string) {
	return filepath.Join(dir, model+".json"), filepath.Join(dir, model+".nii.gz"), filepath.Join(dir, model+"_prob.nii.gz")
}

// WriteCandidates writes the report, label map and probability map into dir
// (created if needed), each file atomically; the list is written last, so
// a reader that finds it finds the maps too.
func WriteCandidates(dir string, rep CandidateReport, label *volume.Label, prob *volume.Volume) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write candidates: %w", err)
	}
	list, lp, pp := CandidatePaths(dir, rep.Model)
	if err := nifti.WriteLabel(lp, label); err != nil {
		return fmt.Errorf("write candidates: %w", err)
	}
	if err := nifti.WriteVolume(pp, prob); err != nil {
		return fmt.Errorf("write candidates: %w", err)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("write candidates: %w", err)
	}
	return atomicfile.WriteBytes(list, append(js, '\n'))
}

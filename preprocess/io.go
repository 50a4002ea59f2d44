package preprocess

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"metascope/internal/atomicfile"
	"metascope/volume"
	"metascope/volume/nifti"
)

// File names inside a preprocessing folder.
const (
	BrainMaskFile  = "brain_mask.nii.gz"
	TransformsFile = "transforms.json"
	ManifestFile   = "preprocess.json"
)

// ImageFile is the file name of a preprocessed sequence ("t1c.nii.gz").
func ImageFile(s volume.Sequence) string { return s.String() + ".nii.gz" }

// manifestVersion changes when preprocess.json's meaning changes.
const manifestVersion = 1

// gridJSON is a grid as written to JSON.
type gridJSON struct {
	Dims   [3]int        `json:"dims"`
	Affine volume.Affine `json:"affine"`
}

type manifest struct {
	Version        int       `json:"version"`
	Note           string    `json:"note"`
	ReferenceGrid  gridJSON  `json:"reference_grid"`
	Grid           gridJSON  `json:"grid"`
	Normalisation  [4]ZScore `json:"normalisation"`
	BiasIterations [4]int    `json:"bias_iterations"`
	BrainCM3       float64   `json:"brain_volume_cm3"`
	Timings        []Timing  `json:"timings"`
	TotalSeconds   float64   `json:"total_seconds"`
	Options        Options   `json:"options"`
}

type transformsJSON struct {
	Note       string               `json:"note"`
	Transforms [4]SequenceTransform `json:"transforms"`
}

// WriteResult writes r into dir (created if needed): t1, t2, t1c, flair
// and brain_mask .nii.gz on the output grid, transforms.json (each
// sequence's 4x4 reference-to-sequence matrix and rigid parameters) and
// preprocess.json (grids, normalisation, timings, options). Every file is
// written atomically; the manifest is written last, so a folder with a
// manifest is complete.
func WriteResult(dir string, r *Result) error {
	if r == nil || r.BrainMask == nil {
		return errors.New("preprocess: nothing to write")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("preprocess: %w", err)
	}
	// A stale manifest would vouch for a half-written folder.
	if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("preprocess: %w", err)
	}
	for _, s := range volume.Sequences {
		if r.Images[s] == nil {
			return fmt.Errorf("preprocess: %s image missing from the result", s.Title())
		}
		if err := nifti.WriteVolume(filepath.Join(dir, ImageFile(s)), r.Images[s]); err != nil {
			return fmt.Errorf("preprocess: %w", err)
		}
	}
	if err := nifti.WriteLabel(filepath.Join(dir, BrainMaskFile), r.BrainMask); err != nil {
		return fmt.Errorf("preprocess: %w", err)
	}
	tj := transformsJSON{
		Note:       "reference_to_sequence maps T1c world mm (RAS) to the sequence's world mm; rigid: p' = R(p - centre) + centre + translation, R = Rz Ry Rx",
		Transforms: r.Transforms,
	}
	if err := writeJSON(filepath.Join(dir, TransformsFile), tj); err != nil {
		return err
	}
	m := manifest{
		Version:        manifestVersion,
		Note:           "Metascope preprocessing (not a medical device). Images are z-scored inside the brain mask on grid; reference_grid is the T1c's.",
		ReferenceGrid:  gridJSON{r.ReferenceGrid.Dims, r.ReferenceGrid.Affine},
		Grid:           gridJSON{r.Grid.Dims, r.Grid.Affine},
		Normalisation:  r.Normalisation,
		BiasIterations: r.BiasIterations,
		BrainCM3:       r.BrainMask.VolumeCM3(),
		Timings:        r.Timings,
		TotalSeconds:   r.TotalSeconds(),
		Options:        r.Options,
	}
	return writeJSON(filepath.Join(dir, ManifestFile), m)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("preprocess: %s: %w", path, err)
	}
	if err := atomicfile.WriteBytes(path, append(b, '\n')); err != nil {
		return fmt.Errorf("preprocess: %w", err)
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("preprocess: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("preprocess: %s: %w", path, err)
	}
	return nil
}

// ReadResult reads a folder written by WriteResult and checks that its
// files agree with each other (every image on the manifest's grid, a
// non-empty mask, valid grids).
func ReadResult(dir string) (*Result, error) {
	var m manifest
	mp := filepath.Join(dir, ManifestFile)
	if err := readJSON(mp, &m); err != nil {
		return nil, err
	}
	if m.Version != manifestVersion {
		return nil, fmt.Errorf("preprocess: %s: version %d, this program reads %d", mp, m.Version, manifestVersion)
	}
	r := &Result{
		Grid:           volume.Grid{Dims: m.Grid.Dims, Affine: m.Grid.Affine},
		ReferenceGrid:  volume.Grid{Dims: m.ReferenceGrid.Dims, Affine: m.ReferenceGrid.Affine},
		Normalisation:  m.Normalisation,
		BiasIterations: m.BiasIterations,
		Timings:        m.Timings,
		Options:        m.Options,
	}
	if err := r.Grid.Validate(); err != nil {
		return nil, fmt.Errorf("preprocess: %s: grid: %w", mp, err)
	}
	if err := r.ReferenceGrid.Validate(); err != nil {
		return nil, fmt.Errorf("preprocess: %s: reference grid: %w", mp, err)
	}
	var tj transformsJSON
	tp := filepath.Join(dir, TransformsFile)
	if err := readJSON(tp, &tj); err != nil {
		return nil, err
	}
	for _, s := range volume.Sequences {
		t := tj.Transforms[s]
		if t.Sequence != s.String() {
			return nil, fmt.Errorf("preprocess: %s: transform %d is for %q, want %q", tp, s, t.Sequence, s.String())
		}
		if !t.ReferenceToSequence.IsFinite() {
			return nil, fmt.Errorf("preprocess: %s: %s transform is not finite", tp, s.Title())
		}
		if _, err := t.ReferenceToSequence.Inverse(); err != nil {
			return nil, fmt.Errorf("preprocess: %s: %s transform: %w", tp, s.Title(), err)
		}
	}
	r.Transforms = tj.Transforms
	for _, s := range volume.Sequences {
		p := filepath.Join(dir, ImageFile(s))
		v, err := nifti.ReadVolume(p)
		if err != nil {
			return nil, fmt.Errorf("preprocess: %w", err)
		}
		if !v.Grid.SameGeometry(r.Grid, 1e-3) {
			return nil, fmt.Errorf("preprocess: %s is not on the grid recorded in %s", p, mp)
		}
		r.Images[s] = v
	}
	bp := filepath.Join(dir, BrainMaskFile)
	l, err := nifti.ReadLabel(bp)
	if err != nil {
		return nil, fmt.Errorf("preprocess: %w", err)
	}
	if !l.Grid.SameGeometry(r.Grid, 1e-3) {
		return nil, fmt.Errorf("preprocess: %s is not on the grid recorded in %s", bp, mp)
	}
	if l.Count() == 0 {
		return nil, fmt.Errorf("preprocess: %s is empty", bp)
	}
	r.BrainMask = l
	return r, nil
}

package phantom

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

// File names of a case folder written by WriteCase.
const (
	LabelFile     = "label.nii.gz"      // ground truth, T1c grid
	BrainMaskFile = "brain_mask.nii.gz" // true brain mask, T1c grid
	TissueFile    = "tissue.nii.gz"     // tissue classes, T1c grid
	LesionsFile   = "lesions.json"
	TruthFile     = "truth.json" // grids, transforms, parameters
)

// ImageFile is the file of sequence s ("t1c.nii.gz").
func ImageFile(s volume.Sequence) string { return s.String() + ".nii.gz" }

// BiasFile is the file of the true bias field of sequence s, written only by
// WriteBiasFields.
func BiasFile(s volume.Sequence) string { return "bias_" + s.String() + ".nii.gz" }

// LesionsDoc is the content of lesions.json.
type LesionsDoc struct {
	// Note says what the data are; the demo model is trained on them.
	Note           string   `json:"note"`
	Seed           int64    `json:"seed"`
	LabelVolumeCM3 float64  `json:"label_volume_cm3"`
	Lesions        []Lesion `json:"lesions"`
}

// TruthDoc is the content of truth.json: everything a test of
// preprocessing needs to know about how the case was acquired.
type TruthDoc struct {
	Seed     int64   `json:"seed"`
	Size     string  `json:"size"`
	Options  Options `json:"options"`
	Params   Params  `json:"params"`
	Sequence [4]struct {
		Name            string        `json:"name"`
		Dims            [3]int        `json:"dims"`
		Affine          volume.Affine `json:"affine"`
		WorldToSequence volume.Affine `json:"world_to_sequence"`
	} `json:"sequences"`
	// TissueNames gives the name of each value of tissue.nii.gz.
	TissueNames []string `json:"tissue_names"`
}

const dataNote = "Synthetic phantom (metascope phantom): not patient data."

// WriteCase writes a case into dir (created if needed): t1, t2, t1c and
// flair as int16 .nii.gz on their own grids, label, brain_mask and tissue on
// the T1c grid, lesions.json and truth.json. Every file is written
// atomically.
func WriteCase(dir string, c *Case) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("phantom: write case: %w", err)
	}
	for _, s := range volume.Sequences {
		if err := nifti.WriteVolumeInt16(filepath.Join(dir, ImageFile(s)), c.Images[s]); err != nil {
			return fmt.Errorf("phantom: write case: %w", err)
		}
	}
	for name, l := range map[string]*volume.Label{LabelFile: c.Label, BrainMaskFile: c.BrainMask, TissueFile: c.Tissue} {
		if err := nifti.WriteLabel(filepath.Join(dir, name), l); err != nil {
			return fmt.Errorf("phantom: write case: %w", err)
		}
	}
	ld := LesionsDoc{Note: dataNote, Seed: c.Options.Seed, LabelVolumeCM3: c.Label.VolumeCM3(), Lesions: c.Lesions}
	if ld.Lesions == nil {
		ld.Lesions = []Lesion{}
	}
	if err := writeJSON(filepath.Join(dir, LesionsFile), ld); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, TruthFile), truthOf(c))
}

func truthOf(c *Case) TruthDoc {
	td := TruthDoc{Seed: c.Options.Seed, Size: c.Options.Size.String(), Options: c.Options, Params: c.Params}
	for _, s := range volume.Sequences {
		sq := &td.Sequence[s]
		sq.Name = s.String()
		sq.Dims = c.Images[s].Dims
		sq.Affine = c.Images[s].Affine
		sq.WorldToSequence = c.WorldToSequence[s]
	}
	for t := Tissue(0); t < numTissues; t++ {
		td.TissueNames = append(td.TissueNames, t.String())
	}
	return td
}

// WriteBiasFields writes the true bias field of each sequence as float32
// bias_<seq>.nii.gz (for bias-correction tests; large at full size).
func WriteBiasFields(dir string, c *Case) error {
	for _, s := range volume.Sequences {
		if err := nifti.WriteVolume(filepath.Join(dir, BiasFile(s)), c.BiasFields[s]); err != nil {
			return fmt.Errorf("phantom: write bias fields: %w", err)
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("phantom: %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}

// ReadCase reads a case folder written by WriteCase: images, label, brain
// mask, tissue map, lesions and the true transforms and parameters. Bias
// fields are read when their files exist. Errors name the file.
func ReadCase(dir string) (*Case, error) {
	c := &Case{}
	for _, s := range volume.Sequences {
		v, err := nifti.ReadVolume(filepath.Join(dir, ImageFile(s)))
		if err != nil {
			return nil, fmt.Errorf("phantom: read case: %w", err)
		}
		c.Images[s] = v
		bp := filepath.Join(dir, BiasFile(s))
		if _, err := os.Stat(bp); err == nil {
			if c.BiasFields[s], err = nifti.ReadVolume(bp); err != nil {
				return nil, fmt.Errorf("phantom: read case: %w", err)
			}
		}
	}
	var err error
	if c.Label, err = nifti.ReadLabel(filepath.Join(dir, LabelFile)); err != nil {
		return nil, fmt.Errorf("phantom: read case: %w", err)
	}
	for name, dst := range map[string]**volume.Label{BrainMaskFile: &c.BrainMask, TissueFile: &c.Tissue} {
		if *dst, err = nifti.ReadLabel(filepath.Join(dir, name)); err != nil {
			return nil, fmt.Errorf("phantom: read case: %w", err)
		}
	}
	var ld LesionsDoc
	if err := readJSON(filepath.Join(dir, LesionsFile), &ld); err != nil {
		return nil, err
	}
	c.Lesions = ld.Lesions
	var td TruthDoc
	if err := readJSON(filepath.Join(dir, TruthFile), &td); err != nil {
		return nil, err
	}
	c.Options, c.Params = td.Options, td.Params
	for _, s := range volume.Sequences {
		c.WorldToSequence[s] = td.Sequence[s].WorldToSequence
		if _, err := c.WorldToSequence[s].Inverse(); err != nil {
			return nil, fmt.Errorf("phantom: %s: %s world_to_sequence: %w", filepath.Join(dir, TruthFile), s, err)
		}
	}
	if !c.Label.SameGeometry(c.Images[volume.T1c].Grid, 1e-4) {
		return nil, fmt.Errorf("phantom: %s: label is not on the T1c grid", filepath.Join(dir, LabelFile))
	}
	return c, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("phantom: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("phantom: %s: invalid JSON at byte %d: %w", path, se.Offset, err)
		}
		return fmt.Errorf("phantom: %s: %w", path, err)
	}
	return nil
}

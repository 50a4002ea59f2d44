package inference

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"metascope/inference/kernels"
	"metascope/internal/atomicfile"
)

// A model folder describes itself (as nnU-Net's do):
//
//	<model>/model.json       ModelInfo: architecture, preprocessing, data,
//	                         metrics, fusion settings, the fold files
//	<model>/fold-N.weights   one weights file per cross-validation fold
//
// LoadModel needs nothing else.

// ModelFile is the name of the description in a model folder.
const ModelFile = "model.json"

// SyntheticNotice is shown wherever a user sees results of a model trained
// on synthetic data (the shipped demo model).
const SyntheticNotice = "Research software, not a medical device. The demo model is trained on synthetic phantom data; its candidates are not clinical findings."

// ModelInfo is model.json.
type ModelInfo struct {
	Format      string `json:"format"` // "metascope-model"
	Version     int    `json:"version"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Created     string `json:"created,omitempty"`
	// SyntheticData marks a model trained on phantoms; Notice is shown with
	// its results.
	SyntheticData bool   `json:"synthetic_data"`
	Notice        string `json:"notice,omitempty"`

	Config        Config        `json:"config"`
	Preprocessing Preprocessing `json:"preprocessing"`
	// Data describes the training data (free-form: source, cases, folds).
	Data json.RawMessage `json:"data,omitempty"`
	// Metrics are validation results, by name.
	Metrics map[string]float64 `json:"metrics,omitempty"`

	// Threshold turns each fold's probability into its binary map.
	Threshold float64 `json:"threshold"`
	// MinComponentCM3: fused components below it are dropped as noise.
	MinComponentCM3 float64 `json:"min_component_cm3"`
	// Folds are the weights files, relative to the folder.
	Folds []string `json:"folds"`
}

// Validate checks the fields LoadModel relies on.
func (m *ModelInfo) Validate() error {
	if m.Format != "metascope-model" {
		return fmt.Errorf("format %q, want metascope-model", m.Format)
	}
	if m.Version != 1 {
		return fmt.Errorf("version %d; this program reads version 1", m.Version)
	}
	if err := m.Config.Validate(); err != nil {
		return err
	}
	if !(m.Threshold > 0 && m.Threshold < 1) {
		return fmt.Errorf("threshold %g: must be in (0, 1)", m.Threshold)
	}
	if !(m.MinComponentCM3 >= 0 && m.MinComponentCM3 < 1000) {
		return fmt.Errorf("min_component_cm3 %g: must be in [0, 1000)", m.MinComponentCM3)
	}
	if len(m.Folds) == 0 || len(m.Folds) > 255 {
		return fmt.Errorf("%d fold files: must be 1..255", len(m.Folds))
	}
	for _, f := range m.Folds {
		if f == "" || filepath.IsAbs(f) || strings.Contains(filepath.ToSlash(f), "/") || strings.HasPrefix(f, ".") {
			return fmt.Errorf("fold file %q: must be a plain file name inside the model folder", f)
		}
	}
	return nil
}

// Ensemble is a loaded model: its description and one network per fold.
type Ensemble struct {
	Dir   string
	Info  ModelInfo
	Folds []*Network
}

// LoadModel reads a model folder with the default backend.
func LoadModel(dir string) (*Ensemble, error) { return LoadModelOn(dir, kernels.Default()) }

// LoadModelOn reads a model folder, checking every fold's weights against
// the architecture model.json states.
func LoadModelOn(dir string, be kernels.Backend) (*Ensemble, error) {
	return loadModel(os.DirFS(dir), dir, be)
}

// LoadModelFS reads a model folder from a file system (an embedded demo
// model: go:embed the folder and pass its fs.Sub); name is used in errors
// and as the Ensemble's Dir.
func LoadModelFS(fsys fs.FS, name string) (*Ensemble, error) {
	return loadModel(fsys, name, kernels.Default())
}

func loadModel(fsys fs.FS, dir string, be kernels.Backend) (*Ensemble, error) {
	path := filepath.Join(dir, ModelFile)
	st, err := fs.Stat(fsys, ModelFile)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	if st.Size() > 16<<20 {
		return nil, fmt.Errorf("model %s: %d bytes, too large", path, st.Size())
	}
	data, err := fs.ReadFile(fsys, ModelFile)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	var info ModelInfo
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&info); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	if err := info.Validate(); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	e := &Ensemble{Dir: dir, Info: info}
	for _, f := range info.Folds {
		wpath := filepath.Join(dir, f)
		st, err := fs.Stat(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("model %s: weights %s: %w", dir, wpath, err)
		}
		if st.Size() > maxWeightsFile {
			return nil, fmt.Errorf("model %s: weights %s: %d bytes, more than any Metascope network", dir, wpath, st.Size())
		}
		wdata, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("model %s: weights %s: %w", dir, wpath, err)
		}
		n, h, err := DecodeWeights(wdata, be)
		if err != nil {
			return nil, fmt.Errorf("model %s: weights %s: %w", dir, wpath, err)
		}
		if !reflect.DeepEqual(h.Config, info.Config) {
			return nil, fmt.Errorf("model %s: weights %s have architecture %+v, model.json states %+v", dir, f, h.Config, info.Config)
		}
		if !reflect.DeepEqual(h.Preprocessing, info.Preprocessing) {
			return nil, fmt.Errorf("model %s: weights %s expect preprocessing %+v, model.json states %+v", dir, f, h.Preprocessing, info.Preprocessing)
		}
		e.Folds = append(e.Folds, n)
	}
	return e, nil
}

// SaveModel writes a model folder: one fold-N.weights per network (N from
// 1) and model.json, whose Config, Preprocessing and Folds it fills in. All
// networks must share info.Config.
func SaveModel(dir string, info ModelInfo, folds []*Network) error {
	if len(folds) == 0 {
		return errors.New("save model: no folds")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	info.Format, info.Version = "metascope-model", 1
	info.Config = folds[0].Config
	if reflect.ValueOf(info.Preprocessing).IsZero() {
		info.Preprocessing = DefaultPreprocessing()
	}
	info.Folds = nil
	for i, n := range folds {
		if !reflect.DeepEqual(n.Config, info.Config) {
			return fmt.Errorf("save model: fold %d has another architecture", i+1)
		}
		name := fmt.Sprintf("fold-%d.weights", i+1)
		meta := map[string]string{"model": info.Name, "fold": fmt.Sprint(i + 1)}
		if err := SaveWeights(filepath.Join(dir, name), n, info.Preprocessing, meta); err != nil {
			return fmt.Errorf("save model: %w", err)
		}
		info.Folds = append(info.Folds, name)
	}
	if err := info.Validate(); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	js, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return atomicfile.WriteBytes(filepath.Join(dir, ModelFile), append(js, '\n'))
}

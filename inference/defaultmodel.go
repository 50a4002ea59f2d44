package inference

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"metascope/assets"
	"metascope/workspace"
)

// DemoModelName is the demo model's name: its folder in a workspace's
// models/ and the name its candidates are stored under.
const DemoModelName = "demo"

// DefaultModel loads the model that `metascope infer` and the workstation
// use when none is named: the workspace's models/demo when present (w may
// be nil), else the demo model embedded in this build, else an error that
// says how to train one. It returns the model and its name.
func DefaultModel(w *workspace.Workspace) (*Ensemble, string, error) {
	embedded, _ := assets.DemoModel()
	return defaultModel(w, embedded)
}

// defaultModel is DefaultModel with the embedded folder passed in (nil:
// none), so that tests need not depend on what this build embeds.
func defaultModel(w *workspace.Workspace, embedded fs.FS) (*Ensemble, string, error) {
	if w != nil {
		d, err := w.ModelDir(DemoModelName)
		if err == nil {
			_, err = os.Stat(filepath.Join(d, ModelFile))
		}
		switch {
		case err == nil:
			e, err := LoadModel(d)
			return e, DemoModelName, err
		case !errors.Is(err, fs.ErrNotExist):
			return nil, "", fmt.Errorf("demo model: %w", err)
		}
	}
	if embedded != nil {
		if _, err := fs.Stat(embedded, ModelFile); err == nil {
			e, err := LoadModelFS(embedded, "built-in demo model")
			return e, DemoModelName, err
		}
	}
	where := "this build embeds none"
	if w != nil {
		where = "the workspace has no models/" + DemoModelName + " and " + where
	}
	return nil, "", fmt.Errorf("no demo model: %s; train one with `metascope demomodel --work DIR` "+
		"(writes assets/demomodel; rebuild to embed it) or name a model folder", where)
}

// FindModel loads the model named by ref: a model folder, or the name of a
// model in the workspace w (which may be nil). An empty ref is
// DefaultModel. It returns the model and its name (the folder's name).
func FindModel(ref string, w *workspace.Workspace) (*Ensemble, string, error) {
	if ref == "" {
		return DefaultModel(w)
	}
	dir := ""
	if st, err := os.Stat(ref); err == nil && st.IsDir() {
		dir = ref
	} else if w != nil {
		if d, err := w.ModelDir(ref); err == nil {
			if _, err := os.Stat(filepath.Join(d, ModelFile)); err == nil {
				dir = d
			}
		}
	}
	if dir == "" {
		return nil, "", fmt.Errorf("model %q: no such model folder", ref)
	}
	e, err := LoadModel(dir)
	if err != nil {
		return nil, "", err
	}
	return e, filepath.Base(filepath.Clean(dir)), nil
}

// Package workspace is Metascope's on-disk case store: a folder a user can
// copy or back up, in which every file is a format other tools read.
//
//	<workspace>/workspace.json            cases, readers, settings
//	<workspace>/cases/<case>/case.json    sequences, status per reader, consensus state
//	    images/{t1,t2,t1c,flair}.nii.gz   as imported (DICOM converted once, on import)
//	    preproc/  labels/<reader>.nii.gz  labels/consensus.nii.gz
//	    candidates/  audit.jsonl          who did what, when (append-only)
//	<workspace>/models/<model>/model.json
//
// Every JSON file is written atomically (temp file, fsync, rename); a case is
// imported into a hidden temporary folder and renamed into place only when
// complete, so a failed import leaves nothing behind. Loading refuses bad
// JSON with an error naming the file.
package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

const (
	workspaceFormat = "metascope-workspace"
	caseFormat      = "metascope-case"
	formatVersion   = 1
	workspaceFile   = "workspace.json"
	casesDir        = "cases"
	modelsDir       = "models"
	tempPrefix      = ".import-"
)

// Reader is a person who works in the workspace.
type Reader struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// Settings are the workspace-wide options.
type Settings struct {
	// Blinding hides other readers' labels from a reader until they have
	// submitted their own (on by default, as in the study's protocol).
	Blinding bool `json:"blinding"`
}

type workspaceRecord struct {
	Format   string    `json:"format"`
	Version  int       `json:"version"`
	Created  time.Time `json:"created"`
	Cases    []string  `json:"cases"`
	Readers  []Reader  `json:"readers"`
	Settings Settings  `json:"settings"`
}

// Workspace is an open workspace folder.
type Workspace struct {
	dir string
	rec workspaceRecord
}

// ErrNotWorkspace is returned by Open for a folder without workspace.json.
var ErrNotWorkspace = errors.New("not a Metascope workspace (no workspace.json)")

// Create makes a new workspace in dir, which must not exist or be empty.
func Create(dir string) (*Workspace, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("create workspace %s: folder is not empty", dir)
	} else if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("create workspace %s: %w", dir, err)
	}
	for _, d := range []string{dir, filepath.Join(dir, casesDir), filepath.Join(dir, modelsDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create workspace %s: %w", dir, err)
		}
	}
	w := &Workspace{dir: dir, rec: workspaceRecord{
		Format:   workspaceFormat,
		Version:  formatVersion,
		Created:  time.Now().UTC(),
		Cases:    []string{},
		Readers:  []Reader{},
		Settings: Settings{Blinding: true},
	}}
	if err := w.save(); err != nil {
		return nil, err
	}
	return w, nil
}

// Open opens an existing workspace, checking workspace.json.
func Open(dir string) (*Workspace, error) {
	path := filepath.Join(dir, workspaceFile)
	var rec workspaceRecord
	if err := readJSON(path, &rec); err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("open %s: %w", dir, ErrNotWorkspace)
		}
		return nil, fmt.Errorf("open workspace: %w", err)
	}
	if rec.Format != workspaceFormat {
		return nil, fmt.Errorf("open workspace: %s: format is %q, want %q", path, rec.Format, workspaceFormat)
	}
	if rec.Version != formatVersion {
		return nil, fmt.Errorf("open workspace: %s: version %d is not supported (want %d)", path, rec.Version, formatVersion)
	}
	seen := map[string]bool{}
	for _, r := range rec.Readers {
		if err := ValidName(r.Name); err != nil {
			return nil, fmt.Errorf("open workspace: %s: reader: %w", path, err)
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("open workspace: %s: reader %q listed twice", path, r.Name)
		}
		seen[r.Name] = true
	}
	for _, c := range rec.Cases {
		if err := ValidName(c); err != nil {
			return nil, fmt.Errorf("open workspace: %s: case: %w", path, err)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, casesDir)); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("open workspace %s: no cases folder", dir)
	}
	if rec.Cases == nil {
		rec.Cases = []string{}
	}
	if rec.Readers == nil {
		rec.Readers = []Reader{}
	}
	return &Workspace{dir: dir, rec: rec}, nil
}

// OpenOrCreate opens dir, creating the workspace when dir does not exist or
// is empty.
func OpenOrCreate(dir string) (*Workspace, error) {
	w, err := Open(dir)
	if errors.Is(err, ErrNotWorkspace) {
		return Create(dir)
	}
	return w, err
}

func (w *Workspace) save() error {
	return writeJSON(filepath.Join(w.dir, workspaceFile), w.rec)
}

// Dir is the workspace folder.
func (w *Workspace) Dir() string { return w.dir }

// Settings returns the workspace settings.
func (w *Workspace) Settings() Settings { return w.rec.Settings }

// SetSettings stores new settings.
func (w *Workspace) SetSettings(s Settings) error {
	w.rec.Settings = s
	return w.save()
}

// Readers lists the workspace's readers.
func (w *Workspace) Readers() []Reader { return slices.Clone(w.rec.Readers) }

// Reader returns the reader with that name.
func (w *Workspace) Reader(name string) (Reader, bool) {
	for _, r := range w.rec.Readers {
		if r.Name == name {
			return r, true
		}
	}
	return Reader{}, false
}

// AddReader adds a reader, or changes the role of an existing one.
func (w *Workspace) AddReader(name string, role Role) error {
	if err := ValidName(name); err != nil {
		return fmt.Errorf("add reader: %w", err)
	}
	if _, err := role.MarshalText(); err != nil {
		return fmt.Errorf("add reader %q: %w", name, err)
	}
	for i, r := range w.rec.Readers {
		if r.Name == name {
			w.rec.Readers[i].Role = role
			return w.save()
		}
	}
	w.rec.Readers = append(w.rec.Readers, Reader{Name: name, Role: role})
	return w.save()
}

func (w *Workspace) caseDir(name string) string { return filepath.Join(w.dir, casesDir, name) }

// CaseNames lists the cases on disk (folders of cases/ holding a case.json),
// sorted by name. The folders are the truth; workspace.json's list is an
// index kept for other tools.
func (w *Workspace) CaseNames() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(w.dir, casesDir))
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if _, err := os.Stat(filepath.Join(w.caseDir(e.Name()), caseFile)); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Cases loads every case. A case whose case.json is broken makes the whole
// call fail with an error naming the file: the list must not silently omit
// a patient.
func (w *Workspace) Cases() ([]*Case, error) {
	names, err := w.CaseNames()
	if err != nil {
		return nil, err
	}
	cases := make([]*Case, 0, len(names))
	for _, n := range names {
		c, err := w.Case(n)
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	return cases, nil
}

// Case loads one case by name.
func (w *Workspace) Case(name string) (*Case, error) {
	if err := ValidName(name); err != nil {
		return nil, fmt.Errorf("case: %w", err)
	}
	return loadCase(w.caseDir(name), name)
}

// Model is a trained model folder: models/<name>/model.json.
type Model struct {
	Name     string
	Dir      string
	Manifest string // path of model.json
}

// Models lists the model folders that hold a model.json, sorted by name.
func (w *Workspace) Models() ([]Model, error) {
	dir := filepath.Join(w.dir, modelsDir)
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	var out []Model
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		m := Model{Name: e.Name(), Dir: filepath.Join(dir, e.Name())}
		m.Manifest = filepath.Join(m.Dir, "model.json")
		if _, err := os.Stat(m.Manifest); err == nil {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ModelDir is the folder a model called name is (or will be) stored in.
func (w *Workspace) ModelDir(name string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", fmt.Errorf("model: %w", err)
	}
	return filepath.Join(w.dir, modelsDir, name), nil
}

package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"metascope/internal/atomicfile"
)

// appState is what Metascope remembers between runs, in
// os.UserConfigDir()/metascope/state.json.
type appState struct {
	LastWorkspace string `json:"last_workspace"`
	LastReader    string `json:"last_reader,omitempty"`
	LastCase      string `json:"last_case,omitempty"`
}

func statePath() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "metascope", "state.json"), nil
}

func loadState() (appState, error) {
	var s appState
	p, err := statePath()
	if err != nil {
		return s, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return appState{}, fmt.Errorf("%s: %w", p, err)
	}
	return s, nil
}

func saveState(s appState) error {
	p, err := statePath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(p, append(b, '\n'))
}

// LastWorkspace is the workspace Metascope had open last (if it still
// exists), with the reader and case that were open.
func LastWorkspace() (dir, reader, caseName string, ok bool) {
	s, err := loadState()
	if err != nil || s.LastWorkspace == "" {
		return "", "", "", false
	}
	if _, err := os.Stat(filepath.Join(s.LastWorkspace, "workspace.json")); err != nil {
		return "", "", "", false
	}
	return s.LastWorkspace, s.LastReader, s.LastCase, true
}

// DefaultDemoDir is ~/.metascope/demo.
func DefaultDemoDir() (string, error) {
	h, err := os.UserHomeDir()
	if err != nil {
		return "", errors.New("no home folder for the demo workspace; pass --workspace")
	}
	return filepath.Join(h, ".metascope", "demo"), nil
}

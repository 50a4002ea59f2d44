// Package testdata finds the real data files that tests read: the NIfTI
// images shipped inside the gonii module (including the MNI head).
package testdata

import (
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var goniiDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/okieraised/gonii").Output()
	if err != nil {
		return "", err
	}
	return filepath.Join(strings.TrimSpace(string(out)), "test_data"), nil
})

// GoniiFile returns the path of a file in gonii's test_data folder (for
// example "nii2_mni.nii.gz", the MNI head), skipping the test when the module
// source is not available.
func GoniiFile(tb testing.TB, name string) string {
	tb.Helper()
	dir, err := goniiDir()
	if err != nil || dir == "" {
		tb.Skipf("gonii module source not found (go list: %v)", err)
	}
	return filepath.Join(dir, name)
}

// MNIHead is the path of the real MNI head image shipped with gonii.
func MNIHead(tb testing.TB) string { return GoniiFile(tb, "nii2_mni.nii.gz") }

// Package arch checks the arrows of DESIGN.md: which Metascope packages may
// import which. It has no code, only this test.
package arch

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "metascope"

// layer of each package (by import path prefix, longest match wins). A
// package may import packages of strictly lower layers only; exceptions are
// listed in allowedSameLayer.
var layers = map[string]int{
	"metascope/internal": 0,
	"metascope/job":      0,
	"metascope/volume":   0,
	"metascope/assets":   0,

	"metascope/volume/nifti":   1,
	"metascope/volume/dicomio": 1,

	"metascope/lesion":     2,
	"metascope/phantom":    2,
	"metascope/workspace":  2,
	"metascope/preprocess": 2,

	"metascope/inference": 3,
	"metascope/segedit":   3,
	"metascope/viewer":    3,

	"metascope/training": 4,

	"metascope/app": 5,
	"metascope":     6,
}

// Packages within one layer that may import each other (sub-packages of one
// idea), as importer -> imported prefix.
var allowedSameLayer = map[string][]string{}

// Stricter rules than the layers alone.
var forbidden = map[string][]string{
	// volume knows nothing above it.
	"metascope/volume": {"metascope/"},
	// lesion depends only on volume.
	"metascope/lesion": {"metascope/phantom", "metascope/workspace", "metascope/preprocess", "metascope/volume/dicomio"},
}

func layerOf(pkg string) (int, string, bool) {
	best, bestLen, bestKey := -1, -1, ""
	for prefix, l := range layers {
		if pkg == prefix || strings.HasPrefix(pkg, prefix+"/") {
			if len(prefix) > bestLen {
				best, bestLen, bestKey = l, len(prefix), prefix
			}
		}
	}
	return best, bestKey, best >= 0
}

func listImports(t *testing.T) map[string][]string {
	out, err := exec.Command("go", "list", "-e", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	return m
}

func TestArrows(t *testing.T) {
	for pkg, imps := range listImports(t) {
		pl, pkey, ok := layerOf(pkg)
		if !ok {
			t.Errorf("package %s has no layer in DESIGN.md's map (add it to internal/arch)", pkg)
			continue
		}
		for _, imp := range imps {
			if strings.HasPrefix(imp, "fyne.io/fyne/v2/app") || strings.HasPrefix(imp, "fyne.io/fyne/v2/driver/glfw") ||
				strings.HasPrefix(imp, "fyne.io/fyne/v2/driver/software") {
				if !(pkg == "metascope/app" || strings.HasPrefix(pkg, "metascope/app/")) {
					t.Errorf("%s imports %s: only app may import fyne's app and concrete drivers", pkg, imp)
				}
			}
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			for _, bad := range forbidden[pkey] {
				if (imp == strings.TrimSuffix(bad, "/") || strings.HasPrefix(imp, bad)) && !strings.HasPrefix(imp, pkey+"/") && imp != pkey {
					t.Errorf("%s imports %s, which DESIGN.md forbids", pkg, imp)
				}
			}
			il, ikey, ok := layerOf(imp)
			if !ok {
				continue
			}
			if ikey == pkey {
				continue // within one package tree
			}
			if il < pl {
				continue
			}
			okSame := false
			for _, a := range allowedSameLayer[pkey] {
				if strings.HasPrefix(imp, a) {
					okSame = true
				}
			}
			if !okSame {
				t.Errorf("%s (layer %d) imports %s (layer %d): arrows point down only", pkg, pl, imp, il)
			}
		}
	}
}

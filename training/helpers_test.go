package training

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"metascope/inference"
	"metascope/phantom"
	"metascope/preprocess"
	"metascope/volume"
)

// idealCase writes a small phantom case and its ideal preprocessing (the
// true registration and brain mask, z-scored) into dir: realistic data in
// a fraction of a second, where the real pipeline would take many.
func idealCase(t testing.TB, dir string, seed int64) Case {
	t.Helper()
	o := phantom.DefaultOptions(phantom.Small)
	o.Seed = seed
	o.MinLesions, o.MaxLesions = 2, 4
	c, err := phantom.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := phantom.WriteCase(dir, c); err != nil {
		t.Fatal(err)
	}
	g := c.Label.Grid
	mask := make([]bool, len(c.BrainMask.Data))
	for i, m := range c.BrainMask.Data {
		mask[i] = m != 0
	}
	r := &preprocess.Result{BrainMask: c.BrainMask, Grid: g, ReferenceGrid: g, Options: preprocess.DefaultOptions()}
	for _, s := range volume.Sequences {
		img := volume.ResampleTransformed(c.Images[s], g, c.WorldToSequence[s], volume.Linear)
		z, zs, err := preprocess.ZScoreNormalise(img, mask)
		if err != nil {
			t.Fatal(err)
		}
		zs.Sequence = s.String()
		r.Images[s], r.Normalisation[s] = z, zs
		r.Transforms[s] = preprocess.SequenceTransform{Sequence: s.String(), ReferenceToSequence: c.WorldToSequence[s]}
	}
	pd := filepath.Join(dir, "preproc")
	if err := preprocess.WriteResult(pd, r); err != nil {
		t.Fatal(err)
	}
	cs := Case{Name: filepath.Base(dir), Label: filepath.Join(dir, phantom.LabelFile), PreprocDir: pd}
	for _, s := range volume.Sequences {
		cs.Images[s] = filepath.Join(dir, phantom.ImageFile(s))
	}
	return cs
}

var (
	cohortOnce sync.Once
	cohortDir  string
	cohortSet  []Case
)

// testCases returns n ideal phantom cases (shared by the package's tests,
// written once into a temporary folder).
func testCases(t testing.TB, n int) []Case {
	t.Helper()
	cohortOnce.Do(func() {
		dir, err := osMkdirTemp()
		if err != nil {
			t.Fatal(err)
		}
		cohortDir = dir
		for i := 0; i < 8; i++ {
			cohortSet = append(cohortSet, idealCase(t, filepath.Join(dir, fmt.Sprintf("case-%02d", i+1)), int64(100+i)))
		}
	})
	if n > len(cohortSet) {
		t.Fatalf("only %d test cases", len(cohortSet))
	}
	return cohortSet[:n]
}

// tinyOptions trains a network of three 4-channel layers per pathway on
// 6^3 patches: seconds per epoch.
func tinyOptions() Options {
	o := DefaultOptions()
	c := NetworkConfig(Tiny)
	c.Channels = []int{4, 4, 4}
	c.Residual = nil
	o.Network = c
	o.PatchSize = 6
	o.BatchSize = 4
	o.PatchesPerEpoch = 40
	o.Epochs = 3
	o.ValPatches = 16
	o.CasesLoaded = 2
	o.Folds = 2
	o.LearningRate = 3e-3
	return o
}

var _ = inference.DefaultConfig

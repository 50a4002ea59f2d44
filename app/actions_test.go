package app

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"metascope/inference"
	"metascope/preprocess"
	"metascope/volume"
	"metascope/workspace"
)

// saveTinyDemoModel puts a three-fold model of tiny networks in the
// workspace's models/demo, where the default model is looked for first.
func saveTinyDemoModel(t *testing.T, dir string) {
	t.Helper()
	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	md, err := ws.ModelDir(inference.DemoModelName)
	if err != nil {
		t.Fatal(err)
	}
	cfg := inference.DefaultConfig()
	cfg.Channels = []int{3, 3, 4, 4}
	cfg.Residual = []int{4}
	cfg.FC = []int{6}
	var folds []*inference.Network
	for i := range 3 {
		n, err := inference.NewNetwork(cfg, uint64(i+1), nil)
		if err != nil {
			t.Fatal(err)
		}
		folds = append(folds, n)
	}
	info := inference.ModelInfo{Name: "demo", SyntheticData: true, Notice: inference.SyntheticNotice, Threshold: 0.5, MinComponentCM3: 0.003}
	if err := inference.SaveModel(md, info, folds); err != nil {
		t.Fatal(err)
	}
}

// TestFindCandidatesProgressAndCancel runs AI > Find candidates on a case
// with no preproc/ folder: the job bar shows the stages and a rising
// fraction, and its Cancel button stops the run with nothing written.
func TestFindCandidatesProgressAndCancel(t *testing.T) {
	dir := smallDemo(t)
	saveTinyDemoModel(t, dir)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	c := w.cd.c
	done := make(chan error, 1)
	w.jobs.onDone = func(name string, err error) { done <- err }

	w.FindCandidates()
	if !w.jobs.Busy() {
		t.Fatal("no job started")
	}
	// The bar moves past zero while the case is being preprocessed.
	var stage string
	var frac float64
	deadline := time.Now().Add(60 * time.Second)
	for frac <= 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no progress in 60 s (stage %q)", stage)
		}
		select {
		case err := <-done:
			t.Fatalf("job ended before any progress: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		fyne.DoAndWait(func() { stage, frac = w.jobs.label.Text, w.jobs.bar.Value })
	}
	if !strings.HasPrefix(stage, "Finding candidates in demo-01: preprocess: ") || frac >= 1 {
		t.Errorf("progress %q at %.2f", stage, frac)
	}

	test.Tap(w.jobs.stop)
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled job ended with %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("job did not stop within 60 s of Cancel")
	}
	if w.jobs.Busy() {
		t.Error("job bar still busy")
	}
	list, _, _ := inference.CandidatePaths(c.CandidatesDir(), inference.DemoModelName)
	for _, p := range []string{filepath.Join(c.PreprocDir(), preprocess.ManifestFile), list} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a cancelled run left %s (%v)", p, err)
		}
	}
}

// TestFindCandidatesCompletes runs AI > Find candidates on a preprocessed
// case: the candidates are written by the same code as 'metascope infer',
// audited as the reader's, and shown as layers when the case reopens.
func TestFindCandidatesCompletes(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: preprocessing takes seconds")
	}
	dir := smallDemo(t)
	saveTinyDemoModel(t, dir)
	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ws.Case("demo-01")
	if err != nil {
		t.Fatal(err)
	}
	var files preprocess.CaseFiles
	for _, s := range volume.Sequences {
		files[s] = c.ImagePath(s)
	}
	po := preprocess.DefaultOptions()
	po.SkipBias, po.SpacingMM = true, 3
	if _, err := preprocess.RunCase(context.Background(), files, c.PreprocDir(), po, nil); err != nil {
		t.Fatal(err)
	}
	loaded := make(chan error, 8)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	done := make(chan error, 1)
	w.jobs.onDone = func(name string, err error) { done <- err }
	w.onLoaded = func(_ string, err error) { loaded <- err }

	w.FindCandidates()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(120 * time.Second):
		t.Fatal("Find candidates did not finish in 120 s")
	}
	waitLoaded(t, loaded)
	list, _, _ := inference.CandidatePaths(c.CandidatesDir(), inference.DemoModelName)
	if _, err := os.Stat(list); err != nil {
		t.Fatal(err)
	}
	audit, err := c.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	if last := audit[len(audit)-1]; last.Action != "AI candidates" || last.Who != "Dr A" {
		t.Errorf("last audit entry %+v", last)
	}
	var names []string
	for _, l := range w.cd.layers {
		names = append(names, l.name)
	}
	if !slices.Contains(names, "AI demo") {
		t.Errorf("layers after the run: %q", names)
	}
}

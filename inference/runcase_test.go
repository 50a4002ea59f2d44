package inference

import (
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"metascope/assets"
	"metascope/preprocess"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// tinyModelDir saves a three-fold model of tiny networks on four channels.
func tinyModelDir(t *testing.T, dir string) string {
	t.Helper()
	c := tinyConfig()
	c.InChannels = 4
	var folds []*Network
	for i := range 3 {
		n, err := NewNetwork(c, uint64(i+11), nil)
		if err != nil {
			t.Fatal(err)
		}
		folds = append(folds, n)
	}
	info := ModelInfo{Name: "tiny", SyntheticData: true, Notice: SyntheticNotice, Threshold: 0.5, MinComponentCM3: 0.003}
	if err := SaveModel(dir, info, folds); err != nil {
		t.Fatal(err)
	}
	return dir
}

// preprocessedFolder writes a case folder with its four images and a
// preproc/ folder holding them as the preprocessed result (reference grid
// of 2 mm voxels over the same field).
func preprocessedFolder(t *testing.T) (string, *preprocess.Result) {
	t.Helper()
	in, mask := testCase(rand.New(rand.NewPCG(3, 9)), [3]int{24, 24, 18})
	g := mask.Grid
	ref := volume.Grid{Dims: [3]int{12, 12, 9}, Affine: volume.Diagonal([3]float64{2, 2, 2}, g.VoxelToWorld([3]float64{0.5, 0.5, 0.5}))}
	res := &preprocess.Result{BrainMask: mask, Grid: g, ReferenceGrid: ref, Options: preprocess.DefaultOptions()}
	dir := t.TempDir()
	for _, s := range volume.Sequences {
		res.Images[s] = in[s]
		res.Transforms[s] = preprocess.SequenceTransform{Sequence: s.String(), ReferenceToSequence: volume.Identity()}
		if err := nifti.WriteVolume(filepath.Join(dir, preprocess.ImageFile(s)), in[s]); err != nil {
			t.Fatal(err)
		}
	}
	if err := preprocess.WriteResult(filepath.Join(dir, "preproc"), res); err != nil {
		t.Fatal(err)
	}
	return dir, res
}

// progressLog records progress reports from any goroutine.
type progressLog struct {
	mu      sync.Mutex
	stages  []string
	fracs   []float64
	onEvent func(stage string, done float64)
}

func (l *progressLog) report(stage string, done float64) {
	l.mu.Lock()
	l.stages, l.fracs = append(l.stages, stage), append(l.fracs, done)
	f := l.onEvent
	l.mu.Unlock()
	if f != nil {
		f(stage, done)
	}
}

func TestRunCaseWorkspaceCase(t *testing.T) {
	src, res := preprocessedFolder(t)
	w, err := workspace.Create(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	sources := map[volume.Sequence]string{}
	for _, s := range volume.Sequences {
		sources[s] = filepath.Join(src, preprocess.ImageFile(s))
	}
	c, err := w.AddCase("case-01", sources)
	if err != nil {
		t.Fatal(err)
	}
	if err := preprocess.WriteResult(c.PreprocDir(), res); err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(tinyModelDir(t, filepath.Join(t.TempDir(), "tiny")))
	if err != nil {
		t.Fatal(err)
	}
	j := WorkspaceJob(c, "Dr A", m, "tiny")
	j.Options.Segment = 12
	var log progressLog
	run, err := RunCase(context.Background(), j, log.report)
	if err != nil {
		t.Fatal(err)
	}
	if run.Preprocessed {
		t.Error("preprocessed again although preproc/ was there")
	}
	list, lp, pp := CandidatePaths(c.CandidatesDir(), "tiny")
	if run.ListPath != list {
		t.Errorf("list path %s, want %s", run.ListPath, list)
	}
	for _, p := range []string{list, lp, pp} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	label, err := nifti.ReadLabel(lp)
	if err != nil {
		t.Fatal(err)
	}
	if !label.Grid.SameGeometry(res.ReferenceGrid, 1e-3) {
		t.Errorf("label on %v, want the T1c grid %v", label.Dims, res.ReferenceGrid.Dims)
	}
	if run.Report.Folds != 3 || !run.Report.SyntheticData {
		t.Errorf("report %+v", run.Report)
	}
	audit, err := c.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	if last := audit[len(audit)-1]; last.Action != "AI candidates" || last.Who != "Dr A" {
		t.Errorf("last audit entry %+v", last)
	}
	// Progress rises to 1 and names the networks' stages.
	for i := 1; i < len(log.fracs); i++ {
		if log.fracs[i] < log.fracs[i-1]-1e-9 {
			t.Fatalf("progress went back: %v", log.fracs)
		}
	}
	if n := len(log.fracs); n < 3 || log.fracs[n-1] != 1 {
		t.Errorf("progress %v", log.fracs)
	}
}

func TestRunCaseCancel(t *testing.T) {
	m, err := LoadModel(tinyModelDir(t, filepath.Join(t.TempDir(), "tiny")))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("during the networks", func(t *testing.T) {
		dir, _ := preprocessedFolder(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var log progressLog
		log.onEvent = func(stage string, done float64) {
			if done > 0.1 {
				cancel()
			}
		}
		j := FolderJob(dir, m, "tiny")
		j.Options.Segment = 6
		if _, err := RunCase(ctx, j, log.report); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled run returned %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "candidates")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a cancelled run wrote candidates (%v)", err)
		}
	})
	t.Run("during preprocessing", func(t *testing.T) {
		dir, _ := preprocessedFolder(t)
		if err := os.RemoveAll(filepath.Join(dir, "preproc")); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var log progressLog
		log.onEvent = func(stage string, done float64) {
			// Cancel inside preprocess.Run, past reading the images.
			if strings.HasPrefix(stage, "preprocess: ") && !strings.Contains(stage, "reading") {
				cancel()
			}
		}
		if _, err := RunCase(ctx, FolderJob(dir, m, "tiny"), log.report); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled run returned %v", err)
		}
		for _, sub := range []string{"preproc", "candidates"} {
			if _, err := os.Stat(filepath.Join(dir, sub)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a cancelled run wrote %s (%v)", sub, err)
			}
		}
	})
}

func TestRunCaseErrors(t *testing.T) {
	dir := t.TempDir() // no images, no preproc/
	m, err := LoadModel(tinyModelDir(t, filepath.Join(t.TempDir(), "tiny")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = RunCase(context.Background(), FolderJob(dir, m, "tiny"), nil)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "t1.nii.gz")) {
		t.Errorf("missing images: %v", err)
	}
	if _, err := RunCase(context.Background(), FolderJob(dir, nil, "tiny"), nil); err == nil {
		t.Error("no model accepted")
	}
}

// TestDefaultModel checks the order: the workspace's models/demo, then the
// embedded model, then an error saying how to train one.
func TestDefaultModel(t *testing.T) {
	embeddedDir := tinyModelDir(t, filepath.Join(t.TempDir(), "embedded"))
	embedded := os.DirFS(embeddedDir)
	w, err := workspace.Create(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}

	if _, _, err := defaultModel(w, nil); err == nil || !strings.Contains(err.Error(), "metascope demomodel") {
		t.Errorf("no model anywhere: %v", err)
	}
	if _, _, err := defaultModel(nil, nil); err == nil || !strings.Contains(err.Error(), "metascope demomodel") {
		t.Errorf("no workspace, no embedded model: %v", err)
	}
	e, name, err := defaultModel(w, embedded)
	if err != nil || name != DemoModelName || e.Dir != "built-in demo model" || len(e.Folds) != 3 {
		t.Fatalf("embedded: %v, %q, %+v", err, name, e)
	}
	e, _, err = defaultModel(nil, embedded)
	if err != nil || e.Dir != "built-in demo model" {
		t.Fatalf("embedded without workspace: %v", err)
	}

	d, err := w.ModelDir(DemoModelName)
	if err != nil {
		t.Fatal(err)
	}
	tinyModelDir(t, d)
	e, name, err = defaultModel(w, embedded)
	if err != nil || name != DemoModelName || e.Dir != d {
		t.Fatalf("workspace demo model: %v, %q, dir %q want %q", err, name, e.Dir, d)
	}
	// A broken workspace model is an error naming it, not a silent fall
	// back to the embedded one.
	if err := os.WriteFile(filepath.Join(d, ModelFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := defaultModel(w, embedded); err == nil || !strings.Contains(err.Error(), d) {
		t.Errorf("broken workspace model: %v", err)
	}

	// FindModel: a folder, a workspace name, or nothing for the default.
	if e, name, err := FindModel(embeddedDir, nil); err != nil || name != "embedded" || len(e.Folds) != 3 {
		t.Errorf("model folder: %v, %q", err, name)
	}
	if _, _, err := FindModel("nosuch", w); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("unknown model: %v", err)
	}
}

// TestEmbeddedDemoModel loads the demo model this build embeds, if any: it
// must load, and say it was trained on synthetic data.
func TestEmbeddedDemoModel(t *testing.T) {
	fsys, ok := assets.DemoModel()
	if !ok {
		t.Skip("this build embeds no demo model (run metascope demomodel)")
	}
	e, err := LoadModelFS(fsys, "built-in demo model")
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Folds) == 0 || !e.Info.SyntheticData || e.Info.Notice == "" {
		t.Errorf("embedded demo model: %d folds, synthetic %v, notice %q", len(e.Folds), e.Info.SyntheticData, e.Info.Notice)
	}
	d, name, err := DefaultModel(nil)
	if err != nil || name != DemoModelName || len(d.Folds) != len(e.Folds) {
		t.Errorf("DefaultModel without a workspace: %v, %q", err, name)
	}
}

package app

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"metascope/phantom"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// demoWorkspace makes a workspace of small phantom cases once per test
// binary and returns a fresh copy of its folder for each test (tests edit
// labels, so they must not share one).
var (
	demoOnce sync.Once
	demoDir  string
	demoErr  error
)

func smallDemo(t *testing.T) string {
	t.Helper()
	demoOnce.Do(func() {
		dir, err := osMkdirTemp()
		if err != nil {
			demoErr = err
			return
		}
		ws, err := PrepareDemo(filepath.Join(dir, "ws"))
		if err != nil {
			demoErr = err
			return
		}
		demoErr = MakeDemoCases(context.Background(), ws, DemoOptions{Cases: 1, Size: phantom.Small, Seed: 7}, nil, nil)
		demoDir = ws.Dir()
	})
	if demoErr != nil {
		t.Fatalf("demo workspace: %v", demoErr)
	}
	dst := filepath.Join(t.TempDir(), "ws")
	if err := copyTree(demoDir, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// openStation builds a workstation on Fyne's test app for the workspace in
// dir and waits until its first case has loaded.
func openStation(t *testing.T, dir string, opts Options) *Workstation {
	t.Helper()
	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	loaded := make(chan error, 8)
	opts.onLoaded = func(_ string, err error) { loaded <- err }
	a := test.NewTempApp(t)
	w, err := NewWorkstation(a, ws, opts)
	if err != nil {
		t.Fatal(err)
	}
	waitLoaded(t, loaded)
	w.onLoaded = nil
	return w
}

func waitLoaded(t *testing.T, loaded chan error) {
	t.Helper()
	select {
	case err := <-loaded:
		if err != nil {
			t.Fatalf("case load: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("case did not load in 60 s")
	}
}

// press, drag through the points and release, as the desktop driver does:
// MouseDown, one Dragged per segment, DragEnd, MouseUp.
func dragThrough(v desktop.Mouseable, d fyne.Draggable, pts []fyne.Position) {
	v.MouseDown(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: pts[0]}, Button: desktop.MouseButtonPrimary})
	for i := 1; i < len(pts); i++ {
		d.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: pts[i]}, Dragged: fyne.NewDelta(pts[i].X-pts[i-1].X, pts[i].Y-pts[i-1].Y)})
	}
	d.DragEnd()
	v.MouseUp(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: pts[len(pts)-1]}, Button: desktop.MouseButtonPrimary})
}

func click(v desktop.Mouseable, p fyne.Position) {
	v.MouseDown(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: p}, Button: desktop.MouseButtonPrimary})
	v.MouseUp(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: p}, Button: desktop.MouseButtonPrimary})
}

func sameLabel(a, b *volume.Label) (diff int) {
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			diff++
		}
	}
	return diff
}

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "metascope-app-test-") }

func TestMain(m *testing.M) {
	code := m.Run()
	if demoDir != "" {
		os.RemoveAll(filepath.Dir(demoDir))
	}
	os.Exit(code)
}

// copyTree copies a folder of regular files.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
}

// openDemoCase opens case demo-01 of the workspace in dir and reads its T1c,
// the reference grid that labels and candidates are drawn on.
func openDemoCase(t *testing.T, dir string) (*workspace.Workspace, *workspace.Case, *volume.Volume) {
	t.Helper()
	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ws.Case("demo-01")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := nifti.ReadVolume(c.ImagePath(volume.T1c))
	if err != nil {
		t.Fatal(err)
	}
	return ws, c, ref
}

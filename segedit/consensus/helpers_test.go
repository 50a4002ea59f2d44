package consensus

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"metascope/lesion"
	"metascope/phantom"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// The scripted two-reader case: a phantom case with three metastases, read
// by two readers who disagree in known ways. Lesion 1 (first in raster
// order) both found, A outlining it one voxel wider, B one voxel shifted
// along i; lesion 2 only A found; lesion 3 only B found.
type scripted struct {
	pc        *phantom.Case
	truth     *volume.Label
	les       [3][]int // voxel indices of each true lesion (component order)
	a, b      *volume.Label
	a1, b1    map[int]bool // each reader's voxels of lesion 1
	ws        *workspace.Workspace
	c         *workspace.Case
	imagePath map[volume.Sequence]string
}

var (
	phantomOnce sync.Once
	phantomCase *phantom.Case
	phantomErr  error
)

func threeLesionPhantom(t testing.TB) *phantom.Case {
	t.Helper()
	phantomOnce.Do(func() {
		o := phantom.DefaultOptions(phantom.Small)
		o.Seed = 11
		o.MinLesions, o.MaxLesions = 3, 3
		o.MinVolumeCM3, o.MedianVolumeCM3 = 0.3, 0.8
		phantomCase, phantomErr = phantom.Generate(o)
	})
	if phantomErr != nil {
		t.Fatal(phantomErr)
	}
	return phantomCase
}

func newScripted(t *testing.T) *scripted {
	t.Helper()
	pc := threeLesionPhantom(t)
	s := &scripted{pc: pc, truth: pc.Label, a1: map[int]bool{}, b1: map[int]bool{}}
	ids, comps := lesion.Components(pc.Label, lesion.Conn26)
	if len(comps) != 3 {
		t.Fatalf("phantom has %d lesion components, want 3", len(comps))
	}
	for v, id := range ids {
		if id != 0 {
			s.les[id-1] = append(s.les[id-1], v)
		}
	}
	g := pc.Label.Grid
	s.a, s.b = volume.NewLabel(g), volume.NewLabel(g)
	nx := g.Dims[0]
	// Lesion 1: A dilates by one voxel (6-neighbourhood), B shifts +1 in i.
	for _, v := range s.les[0] {
		i, j, k := g.Coords(v)
		for _, d := range [][3]int{{0, 0, 0}, {1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}} {
			if g.Contains(i+d[0], j+d[1], k+d[2]) {
				w := g.Index(i+d[0], j+d[1], k+d[2])
				s.a.Data[w], s.a1[w] = 1, true
			}
		}
		if i+1 < nx {
			s.b.Data[v+1], s.b1[v+1] = 1, true
		}
	}
	for _, v := range s.les[1] {
		s.a.Data[v] = 1
	}
	for _, v := range s.les[2] {
		s.b.Data[v] = 1
	}
	return s
}

// inWorkspace puts the scripted case in a fresh workspace: the phantom's
// four images imported, readers "Dr A" and "Dr B" (readers), "Dr S"
// (adjudicator) and "Admin" (admin), both readers' label files written and
// both readers in progress.
func (s *scripted) inWorkspace(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	s.imagePath = map[volume.Sequence]string{}
	for _, seq := range volume.Sequences {
		p := filepath.Join(src, seq.String()+".nii.gz")
		if err := mkdirWrite(p, s.pc.Images[seq]); err != nil {
			t.Fatal(err)
		}
		s.imagePath[seq] = p
	}
	w, err := workspace.Create(filepath.Join(dir, "ws"))
	if err != nil {
		t.Fatal(err)
	}
	for name, role := range map[string]workspace.Role{"Dr A": workspace.RoleReader, "Dr B": workspace.RoleReader, "Dr S": workspace.RoleAdjudicator, "Admin": workspace.RoleAdmin} {
		if err := w.AddReader(name, role); err != nil {
			t.Fatal(err)
		}
	}
	req := workspace.ImportRequest{Name: "case-01", By: "Admin", Sources: map[volume.Sequence]workspace.Source{}}
	for seq, p := range s.imagePath {
		req.Sources[seq] = workspace.Source{Path: p}
	}
	c, err := w.Import(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for r, l := range map[string]*volume.Label{"Dr A": s.a, "Dr B": s.b} {
		if err := mkdirWriteLabel(c.LabelPath(r), l); err != nil {
			t.Fatal(err)
		}
		if err := c.SetReaderStatus(r, workspace.InProgress); err != nil {
			t.Fatal(err)
		}
	}
	s.ws, s.c = w, c
}

func (s *scripted) submitBoth(t *testing.T) {
	t.Helper()
	for _, r := range []string{"Dr A", "Dr B"} {
		if err := s.c.Submit(r); err != nil {
			t.Fatal(err)
		}
	}
}

func mkdirWrite(p string, v *volume.Volume) error {
	if err := mkdirFor(p); err != nil {
		return err
	}
	return nifti.WriteVolume(p, v)
}

func mkdirWriteLabel(p string, l *volume.Label) error {
	if err := mkdirFor(p); err != nil {
		return err
	}
	return nifti.WriteLabel(p, l)
}

// setOf lists a map's non-zero voxels.
func setOf(l *volume.Label) map[int]bool {
	out := map[int]bool{}
	for v, x := range l.Data {
		if x != 0 {
			out[v] = true
		}
	}
	return out
}

func sameSet(t *testing.T, what string, got *volume.Label, want map[int]bool) {
	t.Helper()
	g := setOf(got)
	extra, missing := 0, 0
	for v := range g {
		if !want[v] {
			extra++
		}
	}
	for v := range want {
		if !g[v] {
			missing++
		}
	}
	if extra+missing > 0 {
		t.Errorf("%s: %d voxels, want %d (%d extra, %d missing)", what, len(g), len(want), extra, missing)
	}
}

func mkdirFor(p string) error { return os.MkdirAll(filepath.Dir(p), 0o755) }

package segedit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"metascope/volume"
	"metascope/volume/nifti"
)

func sessionOpts(t *testing.T, g volume.Grid) SessionOptions {
	dir := filepath.Join(t.TempDir(), "labels")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return SessionOptions{LabelPath: filepath.Join(dir, "dr-a.nii.gz"), Reader: "Dr A", Grid: g}
}

func mustOpen(t *testing.T, o SessionOptions) *Session {
	t.Helper()
	s, err := OpenSession(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// crash abandons a session the way a killed process does: no Close, no
// checkpoint; only the file descriptor goes (the kernel would close it).
func crash(s *Session) { s.j.f.Close() }

func stroke(t *testing.T, s *Session, o BrushOptions, pts ...[3]int) {
	t.Helper()
	if err := s.BeginStroke(pts[0], o); err != nil {
		t.Fatal(err)
	}
	for _, p := range pts[1:] {
		if err := s.StrokeTo(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.EndStroke(); err != nil {
		t.Fatal(err)
	}
}

var brush2 = BrushOptions{RadiusMM: 2, Plane: Axial, Mode: ModeSet, Value: 1}

func TestSessionCrashAfterStrokeLosesNothing(t *testing.T) {
	g := obliqueGrid([3]int{40, 36, 20})
	o := sessionOpts(t, g)
	s := mustOpen(t, o)
	empty := s.Label().Clone()
	stroke(t, s, brush2, [3]int{5, 5, 10}, [3]int{20, 15, 10}, [3]int{30, 30, 10})
	one := s.Label().Clone()
	fill, err := FloodFill(s.Label(), [3]int{20, 20, 4}, FloodOptions{Plane: Axial, Mode: ModeSet, Value: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(fill); err != nil {
		t.Fatal(err)
	}
	two := s.Label().Clone()
	if !s.Unsaved() {
		t.Fatal("journalled edits not reported as unsaved")
	}
	crash(s)
	if _, err := os.Stat(o.LabelPath); !os.IsNotExist(err) {
		t.Fatalf("label file written before any checkpoint: %v", err)
	}

	r := mustOpen(t, o)
	if w := r.Warnings(); len(w) != 0 {
		t.Fatalf("warnings on a clean replay: %v", w)
	}
	sameBytes(t, "reopened after crash", r.Label(), two)
	// The undo history comes back with the label.
	if ok, err := r.Undo(); !ok || err != nil {
		t.Fatalf("undo after reopen: %v %v", ok, err)
	}
	sameBytes(t, "undo after reopen", r.Label(), one)
	r.Undo()
	sameBytes(t, "second undo after reopen", r.Label(), empty)
	r.Redo()
	crash(r)
	q := mustOpen(t, o)
	sameBytes(t, "undo, undo, redo replayed", q.Label(), one)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(o.LabelPath); err != nil {
		t.Fatalf("Close wrote no label: %v", err)
	}
}

// Random strokes, undos, redos and one-shot edits, with a crash at a random
// point: reopening always gives the label as it was, byte for byte.
func TestSessionReplayAfterRandomEdits(t *testing.T) {
	g := anisoGrid([3]int{30, 28, 12})
	for trial := range 6 {
		o := sessionOpts(t, g)
		s := mustOpen(t, o)
		for op := range 25 + trial*5 {
			c := [3]int{(op * 7) % 30, (op * 11) % 28, (op * 5) % 12}
			switch (op * (trial + 3)) % 7 {
			case 0, 1, 2:
				b := brush2
				b.Value = uint8(1 + op%3)
				b.Sphere = op%2 == 0
				stroke(t, s, b, c, [3]int{(c[0] + 9) % 30, c[1], c[2]})
			case 3:
				s.Undo()
			case 4:
				s.Redo()
			case 5:
				m, _ := DeleteComponent(s.Label(), c)
				s.Apply(m)
			case 6:
				if trial%2 == 1 {
					if err := s.Checkpoint(); err != nil {
						t.Fatal(err)
					}
				} else {
					s.Undo()
				}
			}
		}
		want := s.Label().Clone()
		crash(s)
		r := mustOpen(t, o)
		if w := r.Warnings(); len(w) != 0 {
			t.Fatalf("trial %d: warnings %v", trial, w)
		}
		sameBytes(t, "replayed", r.Label(), want)
		crash(r)
	}
}

func TestSessionSurvivesTornJournalTail(t *testing.T) {
	g := anisoGrid([3]int{30, 30, 10})
	o := sessionOpts(t, g)
	s := mustOpen(t, o)
	stroke(t, s, brush2, [3]int{5, 5, 5}, [3]int{10, 5, 5})
	stroke(t, s, brush2, [3]int{5, 15, 5}, [3]int{10, 15, 5})
	two := s.Label().Clone()
	stroke(t, s, brush2, [3]int{5, 25, 5}, [3]int{10, 25, 5})
	crash(s)
	// Power cut mid-append: the last record is only partly on disk.
	st, _ := os.Stat(o.JournalPath())
	if err := os.Truncate(o.JournalPath(), st.Size()-5); err != nil {
		t.Fatal(err)
	}
	r := mustOpen(t, o)
	sameBytes(t, "after torn tail", r.Label(), two)
	if w := r.Warnings(); len(w) != 1 || !strings.Contains(w[0], "torn") {
		t.Fatalf("want one warning about the torn record, got %v", w)
	}
	// Work continues, appended after the last good record.
	stroke(t, r, brush2, [3]int{20, 20, 5})
	want := r.Label().Clone()
	crash(r)
	q := mustOpen(t, o)
	if w := q.Warnings(); len(w) != 0 {
		t.Fatalf("warnings after recovering: %v", w)
	}
	sameBytes(t, "after recovering", q.Label(), want)
	crash(q)

	// A corrupt byte inside a record: that record and the ones after it
	// are dropped, the ones before still apply.
	data, _ := os.ReadFile(o.JournalPath())
	data[journalHeaderLen+6] ^= 0xff // inside the first record's body
	os.WriteFile(o.JournalPath(), data, 0o644)
	z := mustOpen(t, o)
	if z.Label().Count() != 0 || len(z.Warnings()) != 1 || !strings.Contains(z.Warnings()[0], "checksum") {
		t.Fatalf("corrupt first record: %d voxels, warnings %v", z.Label().Count(), z.Warnings())
	}
}

// A crash after the label was written but before the journal was emptied
// must not apply the journal twice (stroke B paints over stroke A, so a
// second replay would not even match).
func TestSessionCrashBetweenSaveAndJournalReset(t *testing.T) {
	g := anisoGrid([3]int{30, 30, 10})
	o := sessionOpts(t, g)
	s := mustOpen(t, o)
	stroke(t, s, brush2, [3]int{10, 10, 5})
	b := brush2
	b.Value, b.RadiusMM = 2, 4
	stroke(t, s, b, [3]int{11, 10, 5})
	want := s.Label().Clone()
	if err := nifti.WriteLabel(o.LabelPath, s.Label()); err != nil {
		t.Fatal(err)
	}
	crash(s)
	r := mustOpen(t, o)
	if w := r.Warnings(); len(w) != 0 {
		t.Fatalf("warnings: %v", w)
	}
	sameBytes(t, "saved label, stale journal", r.Label(), want)
	stroke(t, r, brush2, [3]int{25, 25, 5})
	want = r.Label().Clone()
	crash(r)
	sameBytes(t, "then more edits", mustOpen(t, o).Label(), want)
}

// Undo of a step made before the last checkpoint is journalled with its
// delta, so it replays although the step itself is no longer in the journal.
func TestSessionUndoAcrossCheckpoint(t *testing.T) {
	g := anisoGrid([3]int{30, 30, 10})
	o := sessionOpts(t, g)
	s := mustOpen(t, o)
	stroke(t, s, brush2, [3]int{10, 10, 5})
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if s.Unsaved() {
		t.Fatal("unsaved after checkpoint")
	}
	s.Undo()
	crash(s)
	r := mustOpen(t, o)
	if r.Label().Count() != 0 {
		t.Fatalf("undo across checkpoint lost: %d voxels", r.Label().Count())
	}
}

func TestSessionStaleJournalIsKeptAside(t *testing.T) {
	g := anisoGrid([3]int{20, 20, 6})
	o := sessionOpts(t, g)
	s := mustOpen(t, o)
	stroke(t, s, brush2, [3]int{5, 5, 3})
	crash(s)
	// Someone replaced the label file meanwhile.
	other := volume.NewLabel(g)
	other.Set(1, 1, 1, 7)
	if err := nifti.WriteLabel(o.LabelPath, other); err != nil {
		t.Fatal(err)
	}
	r := mustOpen(t, o)
	sameBytes(t, "label from disk", r.Label(), other)
	w := r.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "does not start from the saved label") {
		t.Fatalf("warnings %v", w)
	}
	aside, _ := filepath.Glob(o.JournalPath() + ".stale-*")
	if len(aside) != 1 {
		t.Fatalf("stale journal not kept aside: %v", aside)
	}
	// A journal that is not a journal is kept aside too.
	crash(r)
	os.WriteFile(o.JournalPath(), []byte("garbage that is long enough to be a header"), 0o644)
	z := mustOpen(t, o)
	if len(z.Warnings()) != 1 || !strings.Contains(z.Warnings()[0], "not a Metascope journal") {
		t.Fatalf("warnings %v", z.Warnings())
	}
}

func TestSessionResumeAndGrid(t *testing.T) {
	g := anisoGrid([3]int{20, 20, 6})
	o := sessionOpts(t, g)
	s := mustOpen(t, o)
	st := DefaultEditorState()
	st.Tool, st.BrushRadiusMM, st.ThresholdOn = ToolEraser, 5, true
	want := Resume{Cursor: [3]int{3, 4, 5}, Plane: Sagittal, Editor: st}
	if err := s.SetResume(want); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := mustOpen(t, o)
	if r.Resume() != want {
		t.Fatalf("resume %+v, want %+v", r.Resume(), want)
	}
	r.Close()
	os.WriteFile(o.ResumePath(), []byte(`{"editor":{"tool":"lasso"}}`), 0o644)
	z := mustOpen(t, o)
	if z.Resume().Editor != DefaultEditorState() || len(z.Warnings()) != 1 {
		t.Fatalf("bad resume file: %+v, warnings %v", z.Resume(), z.Warnings())
	}
	z.Close()
	o2 := o
	o2.Grid = anisoGrid([3]int{20, 20, 7})
	_, err := OpenSession(o2)
	if err == nil || !strings.Contains(err.Error(), o.LabelPath) {
		t.Fatalf("label on another grid: %v", err)
	}
	for _, bad := range []SessionOptions{
		{LabelPath: o.LabelPath, Grid: g},
		{LabelPath: "x.txt", Reader: "a", Grid: g},
		{LabelPath: o.LabelPath, Reader: "a"},
	} {
		if _, err := OpenSession(bad); err == nil {
			t.Errorf("options %+v accepted", bad)
		}
	}
}

// A threshold-brush stroke on the real MNI head, then a crash: nothing lost.
func TestSessionThresholdStrokeOnMNI(t *testing.T) {
	img := mniHead(t)
	o := sessionOpts(t, img.Grid)
	s := mustOpen(t, o)
	st := DefaultEditorState()
	st.ThresholdOn, st.ThresholdSeq, st.ThresholdLo, st.ThresholdHi = true, volume.T1, 4000, 8000
	var imgs [4]*volume.Volume
	imgs[volume.T1] = img
	bo, err := st.BrushOptions(Axial, imgs)
	if err != nil {
		t.Fatal(err)
	}
	bo.RadiusMM = 6
	stroke(t, s, bo, [3]int{80, 110, 90}, [3]int{100, 120, 90}, [3]int{110, 140, 90})
	want := s.Label().Clone()
	if want.Count() < 100 {
		t.Fatalf("stroke painted only %d voxels", want.Count())
	}
	for idx, v := range want.Data {
		if v != 0 && (img.Data[idx] < 4000 || img.Data[idx] > 8000) {
			t.Fatal("threshold stroke painted out of range")
		}
	}
	crash(s)
	sameBytes(t, "MNI stroke after crash", mustOpen(t, o).Label(), want)
}

// A checkpoint during a stroke saves the label without the unfinished
// stroke (the state replay starts from); the stroke, once ended, is
// journalled; a cancelled stroke leaves no trace.
func TestSessionCheckpointMidStrokeAndCancel(t *testing.T) {
	g := anisoGrid([3]int{30, 30, 10})
	o := sessionOpts(t, g)
	s := mustOpen(t, o)
	stroke(t, s, brush2, [3]int{5, 5, 5})
	saved := s.Label().Clone()
	if err := s.BeginStroke([3]int{20, 20, 5}, brush2); err != nil {
		t.Fatal(err)
	}
	s.StrokeTo([3]int{25, 20, 5})
	if !s.StrokeActive() || s.StrokeDirty().Empty() {
		t.Fatal("stroke not reported as active")
	}
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	onDisk, err := nifti.ReadLabel(o.LabelPath)
	if err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "checkpoint mid-stroke", onDisk, saved)
	s.StrokeTo([3]int{25, 25, 5})
	if err := s.EndStroke(); err != nil {
		t.Fatal(err)
	}
	want := s.Label().Clone()
	s.BeginStroke([3]int{10, 25, 5}, brush2)
	s.StrokeTo([3]int{15, 25, 5})
	s.CancelStroke()
	sameBytes(t, "cancelled stroke", s.Label(), want)
	if s.hist.UndoLen() != 2 {
		t.Fatalf("%d history steps, want 2", s.hist.UndoLen())
	}
	crash(s)
	r := mustOpen(t, o)
	if len(r.Warnings()) != 0 {
		t.Fatal(r.Warnings())
	}
	sameBytes(t, "reopened", r.Label(), want)
}

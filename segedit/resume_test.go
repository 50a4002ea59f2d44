package segedit

import (
	"os"
	"testing"
)

// TestSaveResumeSurvivesCrash: SetResume alone keeps the state in memory
// until a checkpoint; SaveResume makes it durable at once, and does not
// checkpoint the label.
func TestSaveResumeSurvivesCrash(t *testing.T) {
	g := anisoGrid([3]int{20, 20, 6})
	o := sessionOpts(t, g)
	s := mustOpen(t, o)
	st := DefaultEditorState()
	st.Tool, st.BrushRadiusMM = ToolEraser, 4
	first := Resume{Cursor: [3]int{2, 3, 1}, Plane: Coronal, Editor: st}
	if err := s.SetResume(first); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveResume(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(o.LabelPath); err == nil {
		t.Error("SaveResume wrote the label (a checkpoint)")
	}
	// A later SetResume without SaveResume is lost in a crash.
	if err := s.SetResume(Resume{Cursor: [3]int{9, 9, 5}, Plane: Axial, Editor: DefaultEditorState()}); err != nil {
		t.Fatal(err)
	}
	crash(s)
	r := mustOpen(t, o)
	defer r.Close()
	if r.Resume() != first {
		t.Fatalf("after crash resume is %+v, want %+v", r.Resume(), first)
	}
	if len(r.Warnings()) != 0 {
		t.Errorf("warnings %v", r.Warnings())
	}
}

package segedit

import (
	"encoding/json"
	"strings"
	"testing"

	"metascope/volume"
)

func TestEditorStateJSONRoundTrip(t *testing.T) {
	s := EditorState{Tool: ToolFill, LabelValue: 2, BrushRadiusMM: 4.5, Brush3D: true, Fill3D: true,
		Overwrite: true, ThresholdOn: true, ThresholdSeq: volume.FLAIR, ThresholdLo: -1.5, ThresholdHi: 3}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"tool":"fill"`) || !strings.Contains(string(b), `"threshold_seq":"flair"`) {
		t.Fatalf("names not written: %s", b)
	}
	var back EditorState
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != s {
		t.Fatalf("round trip: %+v, want %+v", back, s)
	}
	// Missing fields take defaults.
	var partial EditorState
	if err := json.Unmarshal([]byte(`{"tool":"eraser"}`), &partial); err != nil {
		t.Fatal(err)
	}
	if partial.Tool != ToolEraser || partial.LabelValue != 1 || partial.BrushRadiusMM != 3 || partial.ThresholdSeq != volume.T1c {
		t.Fatalf("defaults not applied: %+v", partial)
	}
	for _, bad := range []string{
		`{"tool":"lasso"}`,
		`{"label_value":0}`,
		`{"brush_radius_mm":-2}`,
		`{"threshold_lo":5,"threshold_hi":1}`,
		`{"threshold_seq":"dwi"}`,
		`{"label_value":300}`,
	} {
		var st EditorState
		if err := json.Unmarshal([]byte(bad), &st); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestEditorStateBrushOptions(t *testing.T) {
	g := anisoGrid([3]int{10, 10, 4})
	img := volume.New(g)
	var imgs [4]*volume.Volume
	imgs[volume.T2] = img
	s := DefaultEditorState()
	s.ThresholdOn, s.ThresholdSeq, s.ThresholdLo, s.ThresholdHi = true, volume.T2, 1, 2
	o, err := s.BrushOptions(Coronal, imgs)
	if err != nil {
		t.Fatal(err)
	}
	if o.Range == nil || o.Range.Image != img || o.Mode != ModeAdd || o.Plane != Coronal || o.Value != 1 {
		t.Fatalf("options %+v", o)
	}
	s.ThresholdSeq = volume.FLAIR
	if _, err := s.BrushOptions(Axial, imgs); err == nil {
		t.Fatal("threshold on a missing sequence accepted")
	}
	s.Tool, s.Overwrite = ToolEraser, true
	o, err = s.BrushOptions(Axial, imgs)
	if err != nil || o.Mode != ModeRemove || o.Value != 0 || o.Range != nil {
		t.Fatalf("eraser options %+v, %v", o, err)
	}
	s = DefaultEditorState()
	s.Overwrite, s.Fill3D = true, true
	f, err := s.FloodOptions(Sagittal, imgs)
	if err != nil || f.Mode != ModeSet || !f.ThreeD {
		t.Fatalf("flood options %+v, %v", f, err)
	}
}

package segedit

import (
	"encoding/json"
	"fmt"
	"math"

	"metascope/volume"
)

// Tool is the action of the left mouse button.
type Tool int

const (
	ToolNavigate        Tool = iota // move the crosshair; no edit
	ToolBrush                       // paint Value with the round brush
	ToolEraser                      // clear any label under the brush
	ToolFill                        // flood fill from the clicked voxel
	ToolDeleteComponent             // remove the connected lesion clicked
)

var toolNames = []string{"navigate", "brush", "eraser", "fill", "delete-component"}

func (t Tool) String() string {
	if t < 0 || int(t) >= len(toolNames) {
		return fmt.Sprintf("tool(%d)", int(t))
	}
	return toolNames[t]
}

// MarshalText writes the tool's name, so saved states read well and survive
// reordering of the constants.
func (t Tool) MarshalText() ([]byte, error) {
	if t < 0 || int(t) >= len(toolNames) {
		return nil, fmt.Errorf("unknown tool %d", int(t))
	}
	return []byte(toolNames[t]), nil
}

// UnmarshalText parses a tool name.
func (t *Tool) UnmarshalText(b []byte) error {
	for i, n := range toolNames {
		if n == string(b) {
			*t = Tool(i)
			return nil
		}
	}
	return fmt.Errorf("unknown tool %q (want one of %v)", b, toolNames)
}

// EditorState is everything about the editor that a user sets and expects to
// find again: a plain value, saved as JSON with the reader's resume state,
// never scattered over widgets.
type EditorState struct {
	Tool          Tool    `json:"tool"`
	LabelValue    uint8   `json:"label_value"`
	BrushRadiusMM float64 `json:"brush_radius_mm"`
	Brush3D       bool    `json:"brush_3d"`
	Fill3D        bool    `json:"fill_3d"`
	// Overwrite lets painting replace other label values (ModeSet);
	// otherwise it paints only background (ModeAdd).
	Overwrite bool `json:"overwrite"`
	// The threshold brush: paint only where ThresholdSeq is in
	// [ThresholdLo, ThresholdHi].
	ThresholdOn  bool            `json:"threshold_on"`
	ThresholdSeq volume.Sequence `json:"-"`
	ThresholdLo  float32         `json:"threshold_lo"`
	ThresholdHi  float32         `json:"threshold_hi"`
}

// DefaultEditorState is the brush, label 1, 3 mm radius, 2D, on T1c.
func DefaultEditorState() EditorState {
	return EditorState{Tool: ToolBrush, LabelValue: 1, BrushRadiusMM: 3, ThresholdSeq: volume.T1c, ThresholdHi: 1}
}

// Validate reports the first field that is out of range.
func (s EditorState) Validate() error {
	if s.Tool < 0 || int(s.Tool) >= len(toolNames) {
		return fmt.Errorf("editor Tool %d is unknown", int(s.Tool))
	}
	if s.LabelValue == 0 {
		return fmt.Errorf("editor LabelValue is 0; the painted label must be non-zero")
	}
	if math.IsNaN(s.BrushRadiusMM) || s.BrushRadiusMM < 0 || s.BrushRadiusMM > MaxBrushRadiusMM {
		return fmt.Errorf("editor BrushRadiusMM is %g; must be in [0, %d]", s.BrushRadiusMM, MaxBrushRadiusMM)
	}
	if s.ThresholdSeq < volume.T1 || s.ThresholdSeq > volume.FLAIR {
		return fmt.Errorf("editor ThresholdSeq %d is not a sequence", int(s.ThresholdSeq))
	}
	lo, hi := float64(s.ThresholdLo), float64(s.ThresholdHi)
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || lo > hi {
		return fmt.Errorf("editor threshold range [%g, %g] must be finite with lo <= hi", lo, hi)
	}
	return nil
}

// MarshalJSON writes the sequence by name ("t1c").
func (s EditorState) MarshalJSON() ([]byte, error) {
	type plain EditorState // drops the methods, avoiding recursion
	return json.Marshal(struct {
		plain
		Seq string `json:"threshold_seq"`
	}{plain(s), s.ThresholdSeq.String()})
}

// UnmarshalJSON reads and validates a saved state.
func (s *EditorState) UnmarshalJSON(b []byte) error {
	type plain EditorState
	var v struct {
		plain
		Seq string `json:"threshold_seq"`
	}
	v.plain = plain(DefaultEditorState())
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	st := EditorState(v.plain)
	if v.Seq != "" {
		seq, err := volume.ParseSequence(v.Seq)
		if err != nil {
			return fmt.Errorf("editor threshold_seq: %w", err)
		}
		st.ThresholdSeq = seq
	}
	if err := st.Validate(); err != nil {
		return err
	}
	*s = st
	return nil
}

// BrushOptions turns the state into options for a brush on plane, with the
// threshold image taken from images (indexed by sequence, on the label grid)
// when the threshold is on. The eraser clears every label.
func (s EditorState) BrushOptions(plane Plane, images [4]*volume.Volume) (BrushOptions, error) {
	if err := s.Validate(); err != nil {
		return BrushOptions{}, err
	}
	o := BrushOptions{RadiusMM: s.BrushRadiusMM, Sphere: s.Brush3D, Plane: plane, Mode: ModeAdd, Value: s.LabelValue}
	if s.Overwrite {
		o.Mode = ModeSet
	}
	if s.Tool == ToolEraser {
		o.Mode, o.Value = ModeRemove, 0
	}
	if s.ThresholdOn && s.Tool != ToolEraser {
		img := images[s.ThresholdSeq]
		if img == nil {
			return BrushOptions{}, fmt.Errorf("threshold brush: no %s image loaded", s.ThresholdSeq.Title())
		}
		o.Range = &IntensityRange{Image: img, Lo: s.ThresholdLo, Hi: s.ThresholdHi}
	}
	return o, nil
}

// FloodOptions turns the state into flood fill options on plane; with the
// threshold on, the fill grows through the intensity range.
func (s EditorState) FloodOptions(plane Plane, images [4]*volume.Volume) (FloodOptions, error) {
	b, err := s.BrushOptions(plane, images)
	if err != nil {
		return FloodOptions{}, err
	}
	return FloodOptions{ThreeD: s.Fill3D, Plane: plane, Range: b.Range, Mode: b.Mode, Value: b.Value}, nil
}

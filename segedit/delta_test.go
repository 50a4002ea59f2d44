package segedit

import (
	"math/rand/v2"
	"testing"

	"metascope/volume"
)

func TestApplyModes(t *testing.T) {
	g := anisoGrid([3]int{4, 1, 1})
	cases := []struct {
		mode  Mode
		value uint8
		want  [4]uint8
	}{
		{ModeSet, 5, [4]uint8{5, 5, 5, 3}},    // overwrites 0, 1, 2
		{ModeAdd, 5, [4]uint8{5, 1, 2, 3}},    // only background
		{ModeRemove, 2, [4]uint8{0, 1, 0, 3}}, // only label 2
		{ModeRemove, 0, [4]uint8{0, 0, 0, 3}}, // any label
	}
	for _, c := range cases {
		l := volume.NewLabel(g)
		copy(l.Data, []uint8{0, 1, 2, 3})
		m := Modifier{Box: Box{Max: [3]int{3, 1, 1}}, Mask: []bool{true, true, true}, Mode: c.mode, Value: c.value}
		d, err := Apply(l, m)
		if err != nil {
			t.Fatal(err)
		}
		if [4]uint8(l.Data) != c.want {
			t.Errorf("%v %d: label %v, want %v", c.mode, c.value, l.Data, c.want)
		}
		d.Undo(l)
		if [4]uint8(l.Data) != [4]uint8{0, 1, 2, 3} {
			t.Errorf("%v %d: undo gave %v", c.mode, c.value, l.Data)
		}
	}
	l := volume.NewLabel(g)
	if _, err := Apply(l, Modifier{Box: Box{Max: [3]int{5, 1, 1}}, Mask: make([]bool, 5), Mode: ModeSet, Value: 1}); err == nil {
		t.Fatal("modifier outside the grid accepted")
	}
	if _, err := Apply(l, Modifier{Box: Box{Max: [3]int{2, 1, 1}}, Mask: make([]bool, 1), Mode: ModeSet, Value: 1}); err == nil {
		t.Fatal("mask of the wrong size accepted")
	}
}

// randomModifier is a random box with a random mask, mode and value.
func randomModifier(rng *rand.Rand, g volume.Grid) Modifier {
	var b Box
	for a := range 3 {
		x, y := rng.IntN(g.Dims[a]), rng.IntN(g.Dims[a])
		b.Min[a], b.Max[a] = min(x, y), max(x, y)+1
	}
	m := Modifier{Box: b, Mask: make([]bool, b.Len()), Mode: Mode(1 + rng.IntN(3)), Value: uint8(1 + rng.IntN(3))}
	if m.Mode == ModeRemove && rng.IntN(2) == 0 {
		m.Value = 0
	}
	density := rng.Float64()
	for i := range m.Mask {
		m.Mask[i] = rng.Float64() < density
	}
	return m
}

func TestComposeEqualsSequence(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	g := anisoGrid([3]int{9, 8, 7})
	for range 50 {
		l := volume.NewLabel(g)
		for i := range l.Data {
			l.Data[i] = uint8(rng.IntN(3))
		}
		before := l.Clone()
		var ds []Delta
		for range 1 + rng.IntN(5) {
			d, err := Apply(l, randomModifier(rng, g))
			if err != nil {
				t.Fatal(err)
			}
			ds = append(ds, d)
		}
		after := l.Clone()
		c := Compose(ds...)
		if err := c.Validate(len(l.Data)); err != nil {
			t.Fatal(err)
		}
		c.Undo(l)
		sameBytes(t, "composed undo", l, before)
		c.Redo(l)
		sameBytes(t, "composed redo", l, after)
		// Encoded and decoded, it is the same delta.
		back, rest, err := decodeDelta(c.appendBinary(nil), len(l.Data))
		if err != nil || len(rest) != 0 || len(back.Runs) != len(c.Runs) {
			t.Fatalf("round trip: %v, %d stray bytes, %d runs want %d", err, len(rest), len(back.Runs), len(c.Runs))
		}
		for i := range back.Runs {
			if back.Runs[i] != c.Runs[i] {
				t.Fatalf("run %d: %+v, want %+v", i, back.Runs[i], c.Runs[i])
			}
		}
		if fingerprintAfter(fingerprint(before), c) != fingerprint(after) {
			t.Fatal("fingerprint update disagrees with a full recomputation")
		}
	}
}

// Property test: random edits interleaved with random undos and redos give,
// byte for byte, the labels a snapshot-based reference history gives.
func TestUndoRedoMatchesSnapshots(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	g := obliqueGrid([3]int{12, 10, 9})
	for trial := range 20 {
		l := volume.NewLabel(g)
		h, err := NewHistory(HistoryOptions{MinSteps: 1000, BudgetBytes: 1 << 30})
		if err != nil {
			t.Fatal(err)
		}
		// Reference: snapshots of the whole label, a stack each way.
		undo := []*volume.Label{}
		redo := []*volume.Label{}
		for op := range 120 {
			switch r := rng.IntN(10); {
			case r < 5:
				before := l.Clone()
				var m Modifier
				switch rng.IntN(4) {
				case 0:
					m, err = Brush(g, [3]int{rng.IntN(12), rng.IntN(10), rng.IntN(9)},
						BrushOptions{RadiusMM: rng.Float64() * 4, Sphere: rng.IntN(2) == 0, Plane: Plane(rng.IntN(3)), Mode: Mode(1 + rng.IntN(3)), Value: uint8(1 + rng.IntN(2))})
				case 1:
					m, err = FloodFill(l, [3]int{rng.IntN(12), rng.IntN(10), rng.IntN(9)},
						FloodOptions{ThreeD: rng.IntN(2) == 0, Plane: Plane(rng.IntN(3)), Mode: ModeSet, Value: uint8(1 + rng.IntN(3))})
				case 2:
					m, err = DeleteComponent(l, [3]int{rng.IntN(12), rng.IntN(10), rng.IntN(9)})
				default:
					m = randomModifier(rng, g)
				}
				if err != nil {
					t.Fatal(err)
				}
				d, err := Apply(l, m)
				if err != nil {
					t.Fatal(err)
				}
				h.Push(Step{Seq: uint64(op), Delta: d})
				if !d.Empty() {
					undo = append(undo, before)
					redo = redo[:0]
				}
			case r < 8:
				snap := l.Clone()
				_, ok := h.Undo(l)
				if ok != (len(undo) > 0) {
					t.Fatalf("trial %d op %d: undo says %v with %d reference steps", trial, op, ok, len(undo))
				}
				if ok {
					redo = append(redo, snap)
					want := undo[len(undo)-1]
					undo = undo[:len(undo)-1]
					sameBytes(t, "after undo", l, want)
				}
			default:
				snap := l.Clone()
				_, ok := h.Redo(l)
				if ok != (len(redo) > 0) {
					t.Fatalf("trial %d op %d: redo says %v with %d reference steps", trial, op, ok, len(redo))
				}
				if ok {
					undo = append(undo, snap)
					want := redo[len(redo)-1]
					redo = redo[:len(redo)-1]
					sameBytes(t, "after redo", l, want)
				}
			}
		}
		for h.CanUndo() {
			h.Undo(l)
		}
		if l.Count() != 0 {
			t.Fatalf("trial %d: undoing everything leaves %d voxels", trial, l.Count())
		}
	}
}

func TestNewEditCutsRedo(t *testing.T) {
	g := anisoGrid([3]int{20, 20, 5})
	l := volume.NewLabel(g)
	h, _ := NewHistory(DefaultHistoryOptions())
	paint := func(c [3]int) {
		m, _ := Brush(g, c, BrushOptions{RadiusMM: 2, Plane: Axial, Mode: ModeSet, Value: 1})
		d, _ := Apply(l, m)
		h.Push(Step{Delta: d})
	}
	paint([3]int{5, 5, 2})
	paint([3]int{15, 15, 2})
	h.Undo(l)
	if !h.CanRedo() {
		t.Fatal("nothing to redo after undo")
	}
	paint([3]int{5, 15, 2})
	if h.CanRedo() {
		t.Fatal("a new edit left the redo branch")
	}
	if l.At(15, 15, 2) != 0 {
		t.Fatal("undone stroke came back")
	}
	if h.UndoLen() != 2 {
		t.Fatalf("%d undo steps, want 2", h.UndoLen())
	}
}

// The history drops the oldest steps beyond its memory budget but keeps at
// least MinSteps whatever they cost; 100 operations always fit the default.
func TestHistoryBudget(t *testing.T) {
	g := anisoGrid([3]int{64, 64, 8})
	l := volume.NewLabel(g)
	h, _ := NewHistory(HistoryOptions{MinSteps: 5, BudgetBytes: 4000})
	var sizes []int64
	for i := range 30 {
		// Strokes toggling a whole slice's checkerboard: many runs each.
		m := Modifier{Box: Box{Min: [3]int{0, 0, i % 8}, Max: [3]int{64, 64, i%8 + 1}}, Mask: make([]bool, 64*64), Mode: ModeSet, Value: uint8(1 + (i/8)%2)}
		for x := range m.Mask {
			m.Mask[x] = x%2 == 0
		}
		d, _ := Apply(l, m)
		sizes = append(sizes, d.Bytes())
		h.Push(Step{Seq: uint64(i), Delta: d})
		if h.UndoLen() < min(i+1, 5) {
			t.Fatalf("after %d steps only %d kept; MinSteps is 5", i+1, h.UndoLen())
		}
		if h.UndoLen() > 5 && h.Bytes() > 4000 {
			t.Fatalf("history holds %d bytes in %d steps, over the budget", h.Bytes(), h.UndoLen())
		}
	}
	if sizes[0] < 1000 {
		t.Fatalf("test deltas too small (%d bytes) to exercise the budget", sizes[0])
	}
	if st, _ := h.PeekUndo(); st.Seq != 29 {
		t.Fatalf("latest step is %d, want 29", st.Seq)
	}
	n := 0
	for h.CanUndo() {
		h.Undo(l)
		n++
	}
	if n != 5 {
		t.Fatalf("undid %d steps, want the 5 kept", n)
	}
	// Default options keep 100 steps of ordinary strokes.
	h2, _ := NewHistory(DefaultHistoryOptions())
	l2 := volume.NewLabel(g)
	for i := range 150 {
		m, _ := Brush(g, [3]int{i % 64, (i * 7) % 64, i % 8}, BrushOptions{RadiusMM: 3, Sphere: true, Mode: ModeSet, Value: uint8(1 + i%5)})
		d, _ := Apply(l2, m)
		h2.Push(Step{Delta: d})
	}
	if h2.UndoLen() < 100 {
		t.Fatalf("default history kept %d steps, want at least 100", h2.UndoLen())
	}
	if _, err := NewHistory(HistoryOptions{MinSteps: 0, BudgetBytes: 10}); err == nil {
		t.Fatal("MinSteps 0 accepted")
	}
}

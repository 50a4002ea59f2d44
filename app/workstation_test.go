package app

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"metascope/lesion"
	"metascope/preprocess"
	"metascope/segedit"
	"metascope/viewer"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// centreView shows the T1c axial view alone and returns it with its
// mapping.
func centreView(t *testing.T, w *Workstation) (*viewer.SliceView, viewer.Mapping) {
	t.Helper()
	w.SetActiveSequence(volume.T1c)
	w.SetActivePlane(viewer.Axial)
	w.SetLayout(LayoutSingle)
	sv := w.slots[volume.T1c][viewer.Axial].sv
	if sv.Size().Width < 200 {
		t.Fatalf("view is %v; the window did not lay it out", sv.Size())
	}
	m, ok := sv.Mapping()
	if !ok {
		t.Fatal("view has no volume")
	}
	return sv, m
}

// screenOf is the screen point of voxel v in mapping m.
func screenOf(m viewer.Mapping, v [3]int) fyne.Position {
	x, y := m.VoxelToScreen([3]float64{float64(v[0]), float64(v[1]), float64(v[2])})
	return fyne.NewPos(float32(x), float32(y))
}

func TestOpenCaseShowsFourSequencesInT1cGrid(t *testing.T) {
	dir := smallDemo(t)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	cd := w.cd
	if cd == nil {
		t.Fatal("no case open")
	}
	ref, err := nifti.ReadVolume(cd.c.ImagePath(volume.T1c))
	if err != nil {
		t.Fatal(err)
	}
	if !cd.grid.SameGeometry(ref.Grid, 1e-9) {
		t.Fatalf("reference grid %v is not the T1c's %v", cd.grid, ref.Grid)
	}
	ownGrid := 0
	for _, s := range volume.Sequences {
		img := cd.images[s]
		if img == nil || !img.Grid.SameGeometry(ref.Grid, 1e-9) || len(img.Data) != ref.Len() {
			t.Fatalf("%s is not on the T1c grid", s.Title())
		}
		orig, err := nifti.ReadVolume(cd.c.ImagePath(s))
		if err != nil {
			t.Fatal(err)
		}
		if !orig.Grid.SameGeometry(ref.Grid, 1e-4) {
			ownGrid++
		}
		want := volume.Resample(orig, ref.Grid)
		for i := range want.Data {
			if want.Data[i] != img.Data[i] {
				t.Fatalf("%s voxel %d is %g, want the resampled %g", s.Title(), i, img.Data[i], want.Data[i])
			}
		}
	}
	if ownGrid == 0 {
		t.Fatal("every phantom sequence is on the T1c grid; resampling is untested")
	}
	w.SetLayout(LayoutSequences)
	shown := w.visibleSlots()
	if len(shown) != 4 {
		t.Fatalf("four-sequence layout shows %d views", len(shown))
	}
	w.win.Canvas().Capture() // renders every view
	for i, sl := range shown {
		if sl.seq != volume.Sequences[i] || sl.plane != viewer.Axial {
			t.Errorf("view %d shows %s %s", i, sl.seq.Title(), sl.plane)
		}
		sc := sl.sv.Scene()
		if sc.Volume != cd.images[sl.seq] {
			t.Errorf("view %d shows another volume than the %s", i, sl.seq.Title())
		}
		img := sl.sv.Image()
		if img == nil {
			t.Fatalf("view %d was not rendered", i)
		}
		bright := 0
		for p := 0; p < len(img.Pix); p += 4 {
			if img.Pix[p] > 40 {
				bright++
			}
		}
		if bright < len(img.Pix)/4/20 {
			t.Errorf("view %d (%s) is almost black: %d bright pixels", i, sl.seq.Title(), bright)
		}
	}
}

func TestDragPaintsBrushOnTheSlice(t *testing.T) {
	dir := smallDemo(t)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	sv, m := centreView(t, w)
	w.SetTool(keyBrush)
	w.SetBrushRadius(4)
	c := w.cursor
	c[2] += 3 // a slice other than the cursor's: the view shows the cursor's slice
	w.SetCursor(c)
	m, _ = sv.Mapping()
	vox := [][3]int{{c[0] - 8, c[1] - 4, c[2]}, {c[0] - 3, c[1] + 2, c[2]}, {c[0] + 2, c[1] + 2, c[2]}, {c[0] + 9, c[1] - 5, c[2]}}
	pts := make([]fyne.Position, len(vox))
	for i, v := range vox {
		pts[i] = screenOf(m, v)
		if got, ok := m.ScreenToVoxel(float64(pts[i].X), float64(pts[i].Y)); !ok || got != v {
			t.Fatalf("screen point %v maps to %v, want %v", pts[i], got, v)
		}
	}
	dragThrough(sv, sv, pts)

	// The same stroke, straight through segedit on an empty label.
	want := volume.NewLabel(w.cd.grid)
	o, err := w.editor.BrushOptions(segedit.Axial, w.cd.images)
	if err != nil {
		t.Fatal(err)
	}
	st, err := segedit.BeginStroke(want, vox[0], o)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vox[1:] {
		if err := st.To(v); err != nil {
			t.Fatal(err)
		}
	}
	st.End()
	got := w.cd.session.Label()
	if d := sameLabel(got, want); d != 0 {
		t.Fatalf("the drag painted %d voxels differently from the brush stroke", d)
	}
	n := viewer.NormalAxis(w.cd.grid, viewer.Axial)
	painted := 0
	for i, x := range got.Data {
		if x == 0 {
			continue
		}
		painted++
		if p := idx3(got.Grid, i); p[n] != c[n] {
			t.Fatalf("voxel %v painted off the shown slice %d", p, c[n])
		}
	}
	// A 4 mm brush on 3 mm voxels along a path of ~25 voxels.
	if painted < 40 {
		t.Fatalf("only %d voxels painted", painted)
	}
	for _, v := range vox {
		if got.At(v[0], v[1], v[2]) != 1 {
			t.Errorf("voxel %v under the pointer is not painted", v)
		}
	}
	if st := w.cd.c.ReaderStatus("Dr A"); st != workspace.InProgress {
		t.Errorf("reader status after the first edit is %v, want in progress", st)
	}
}

func idx3(g volume.Grid, i int) [3]int {
	a, b, c := g.Coords(i)
	return [3]int{a, b, c}
}

func TestUndoRedoRestoreExactly(t *testing.T) {
	dir := smallDemo(t)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	sv, m := centreView(t, w)
	w.SetTool(keyBrush)
	w.SetBrushRadius(2)
	c := w.cursor
	// 105 strokes, each one click on another voxel, so 105 undo steps.
	var states []*volume.Label
	states = append(states, w.cd.session.Label().Clone())
	const steps = 105
	for s := 0; s < steps; s++ {
		v := [3]int{c[0] - 10 + (s%7)*3, c[1] - 10 + (s/7)%7*3, c[2]}
		if s >= 49 {
			w.SetCursor([3]int{c[0], c[1], c[2] + 1 + s/49})
			m, _ = sv.Mapping()
			v[2] = w.cursor[2]
		}
		click(sv, screenOf(m, v))
		states = append(states, w.cd.session.Label().Clone())
	}
	if w.cd.session.History().UndoLen() != steps {
		t.Fatalf("history holds %d steps, want %d", w.cd.session.History().UndoLen(), steps)
	}
	for s := steps; s > 0; s-- {
		if !w.RunShortcut("Ctrl+Z") {
			t.Fatal("no Ctrl+Z shortcut")
		}
		if d := sameLabel(w.cd.session.Label(), states[s-1]); d != 0 {
			t.Fatalf("undo to step %d differs in %d voxels", s-1, d)
		}
	}
	for s := 1; s <= steps; s++ {
		keys := "Ctrl+Y"
		if s%2 == 0 {
			keys = "Ctrl+Shift+Z"
		}
		w.RunShortcut(keys)
		if d := sameLabel(w.cd.session.Label(), states[s]); d != 0 {
			t.Fatalf("redo to step %d differs in %d voxels", s, d)
		}
	}
}

func TestThresholdBrushRespectsItsRange(t *testing.T) {
	dir := smallDemo(t)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	sv, m := centreView(t, w)
	w.TypeRune('t') // the threshold brush
	if w.currentTool() != keyThreshold {
		t.Fatalf("t selected %v", w.currentTool())
	}
	w.SetBrushRadius(12)
	h := w.cd.hist[volume.T1c]
	w.editor.ThresholdSeq = volume.T1c
	w.editor.ThresholdLo, w.editor.ThresholdHi = h.Percentile(0.5), h.Percentile(0.9)
	lo, hi := w.editor.ThresholdLo, w.editor.ThresholdHi
	c := w.cursor
	click(sv, screenOf(m, c))
	lbl := w.cd.session.Label()
	t1c := w.cd.images[volume.T1c]
	painted, outside := 0, 0
	// Every voxel of the plain brush's disc: painted exactly when in range.
	plain := segedit.BrushOptions{RadiusMM: 12, Plane: segedit.Axial, Mode: segedit.ModeAdd, Value: 1}
	mod, err := segedit.Brush(w.cd.grid, c, plain)
	if err != nil {
		t.Fatal(err)
	}
	b := mod.Box
	sz := b.Size()
	for k := 0; k < sz[2]; k++ {
		for j := 0; j < sz[1]; j++ {
			for i := 0; i < sz[0]; i++ {
				if !mod.Mask[(k*sz[1]+j)*sz[0]+i] {
					continue
				}
				x, y, z := b.Min[0]+i, b.Min[1]+j, b.Min[2]+k
				v := t1c.At(x, y, z)
				in := v >= lo && v <= hi
				if got := lbl.At(x, y, z) != 0; got != in {
					t.Fatalf("voxel %d,%d,%d T1c %g range [%g, %g]: painted %v", x, y, z, v, lo, hi, got)
				}
				if in {
					painted++
				} else {
					outside++
				}
			}
		}
	}
	if painted == 0 || outside == 0 {
		t.Fatalf("test range not discriminating: %d painted, %d left out", painted, outside)
	}
	if lbl.Count() != painted {
		t.Fatalf("%d voxels labelled, %d expected", lbl.Count(), painted)
	}
	// While the threshold brush is the tool, every view outlines what is
	// in range; with the navigator, nothing.
	preview := func() *volume.Label {
		for _, o := range sv.Scene().Overlays {
			if o.Name == "in range" {
				return o.Label
			}
		}
		return nil
	}
	w.redraw()
	p := preview()
	if p == nil {
		t.Fatal("no threshold preview with the threshold brush")
	}
	for i, v := range t1c.Data {
		if (p.Data[i] != 0) != (v >= lo && v <= hi) {
			t.Fatalf("preview voxel %d (T1c %g) wrong for [%g, %g]", i, v, lo, hi)
		}
	}
	w.TypeRune('n')
	if preview() != nil {
		t.Error("threshold preview shown with the navigator")
	}
}

func TestCrashAfterStrokeLosesNothingAndResumes(t *testing.T) {
	dir := smallDemo(t)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	sv, m := centreView(t, w)
	// Navigate somewhere, then paint there.
	target := [3]int{w.cursor[0] + 5, w.cursor[1] - 4, w.cursor[2] + 2}
	w.SetTool(keyNavigate)
	w.SetCursor([3]int{target[0], target[1], target[2]})
	m, _ = sv.Mapping()
	w.SetTool(keyBrush)
	dragThrough(sv, sv, []fyne.Position{screenOf(m, target), screenOf(m, [3]int{target[0] + 6, target[1], target[2]})})
	before := w.cd.session.Label().Clone()
	if before.Count() == 0 {
		t.Fatal("nothing painted")
	}
	// Crash: no Close, no checkpoint. The workstation is dropped.
	w = nil

	w2 := openStation(t, dir, Options{Reader: "Dr A"})
	defer w2.Close()
	if d := sameLabel(w2.cd.session.Label(), before); d != 0 {
		t.Fatalf("after the crash %d voxels differ", d)
	}
	if w2.cursor != target {
		t.Errorf("cursor resumed at %v, want %v", w2.cursor, target)
	}
	if w2.currentTool() != keyBrush {
		t.Errorf("tool resumed as %v, want the brush", w2.currentTool())
	}
}

func TestLayoutSwitching(t *testing.T) {
	dir := smallDemo(t)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	count := func() int {
		n := 0
		for _, row := range w.slots {
			for _, sl := range row {
				if sl.shown {
					n++
				}
			}
		}
		return n
	}
	cases := []struct {
		key   rune
		l     Layout
		views int
	}{{'5', LayoutSequences, 4}, {'6', LayoutPlanes, 3}, {'7', LayoutAll, 12}, {'8', LayoutSingle, 1}}
	for _, c := range cases {
		w.TypeRune(c.key)
		if w.layout != c.l || count() != c.views {
			t.Errorf("key %c: layout %v with %d views, want %v with %d", c.key, w.layout, count(), c.l, c.views)
		}
		for l, b := range w.ui.layoutButtons {
			if (b.Importance == widget.HighImportance) != (l == c.l) {
				t.Errorf("after key %c the %v button has importance %v", c.key, l, b.Importance)
			}
		}
	}
	w.TypeRune('l') // single -> sequences
	if w.layout != LayoutSequences {
		t.Errorf("L after the single view gave %v", w.layout)
	}
	w.TypeRune('c')
	for _, sl := range w.visibleSlots() {
		if sl.plane != viewer.Coronal || !sl.shown {
			t.Errorf("after C the layout shows %s %s", sl.seq.Title(), sl.plane)
		}
	}
	test.Tap(w.ui.layoutButtons[LayoutPlanes]) // one click
	if w.layout != LayoutPlanes {
		t.Errorf("the 3-planes button gave %v", w.layout)
	}
	w.TypeRune('4')
	for _, sl := range w.visibleSlots() {
		if sl.seq != volume.FLAIR {
			t.Errorf("after 4 the planes layout shows %s", sl.seq.Title())
		}
	}
	// Every shown view follows the linked cursor.
	w.SetCursor([3]int{10, 20, 30})
	for _, sl := range w.visibleSlots() {
		if sl.sv.Scene().View.Cursor != [3]int{10, 20, 30} {
			t.Errorf("%s %s cursor %v", sl.seq.Title(), sl.plane, sl.sv.Scene().View.Cursor)
		}
	}
}

func TestLesionTableClickMovesCursor(t *testing.T) {
	dir := smallDemo(t)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	sv, m := centreView(t, w)
	w.SetTool(keyBrush)
	w.SetBrushRadius(3)
	c := w.cursor
	spots := [][3]int{{c[0] - 10, c[1] - 8, c[2]}, {c[0] + 9, c[1] + 7, c[2] + 4}}
	for _, s := range spots {
		w.SetCursor(s)
		m, _ = sv.Mapping()
		click(sv, screenOf(m, s))
	}
	w.SetCursor(c)
	if len(w.lesions) != 2 {
		t.Fatalf("lesion table has %d rows, want 2", len(w.lesions))
	}
	labels, comps := lesion.Components(w.cd.session.Label(), lesion.Conn26)
	for row := range 2 {
		w.ui.lesionList.Select(row)
		cur := w.cursor
		id := labels[w.cd.grid.Index(cur[0], cur[1], cur[2])]
		if id != int32(comps[row].ID) {
			t.Fatalf("row %d moved the cursor to %v in component %d, want %d", row, cur, id, comps[row].ID)
		}
		want := w.lesions[row].CentroidVoxel
		if math.Abs(float64(cur[2])-want[2]) > 1 {
			t.Errorf("row %d: cursor slice %d, lesion centre %.1f", row, cur[2], want[2])
		}
	}
	w.TypeRune(']') // wraps to the first lesion
	if w.lesionIdx != 0 {
		t.Errorf("] after the last lesion selected %d", w.lesionIdx)
	}
	w.TypeRune('[')
	if w.lesionIdx != 1 {
		t.Errorf("[ from the first lesion selected %d", w.lesionIdx)
	}
}

func TestShortcutTable(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Shortcuts() {
		if s.do == nil || s.Action == "" || s.Keys == "" {
			t.Errorf("incomplete shortcut %+v", s)
		}
		if (s.r == 0) == (s.key == "") {
			t.Errorf("shortcut %q needs exactly one of a rune or a key name", s.Keys)
		}
		id := s.Keys
		if seen[id] {
			t.Errorf("keys %q bound twice", id)
		}
		seen[id] = true
	}
	for _, want := range []string{"Ctrl+Z", "Ctrl+Y", "Ctrl+Shift+Z", "F1", "B", "E", "T", "F", "]", "["} {
		if !seen[want] {
			t.Errorf("no shortcut %s", want)
		}
	}
}

func TestAICandidatesAreLayersAndCanBeAccepted(t *testing.T) {
	dir := smallDemo(t)
	_, c, ref := openDemoCase(t, dir)
	// Two candidate blobs and a probability map on the T1c grid.
	cand := volume.NewLabel(ref.Grid)
	prob := volume.New(ref.Grid)
	centres := [][3]int{{20, 30, 30}, {44, 40, 34}}
	for k := 0; k < ref.Dims[2]; k++ {
		for j := 0; j < ref.Dims[1]; j++ {
			for i := 0; i < ref.Dims[0]; i++ {
				for _, ce := range centres {
					d := sq(float64(i-ce[0])) + sq(float64(j-ce[1])) + sq(float64(k-ce[2]))
					if d <= 4 {
						cand.Set(i, j, k, 1)
					}
					if p := float32(math.Exp(-d / 8)); p > prob.At(i, j, k) {
						prob.Set(i, j, k, p)
					}
				}
			}
		}
	}
	if err := os.MkdirAll(c.CandidatesDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := nifti.WriteLabel(filepath.Join(c.CandidatesDir(), "demo.nii.gz"), cand); err != nil {
		t.Fatal(err)
	}
	if err := nifti.WriteVolume(filepath.Join(c.CandidatesDir(), "demo_prob.nii.gz"), prob); err != nil {
		t.Fatal(err)
	}
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	kinds := map[layerKind]int{}
	for _, l := range w.cd.layers {
		kinds[l.kind]++
	}
	if kinds[layerAILabel] != 1 || kinds[layerAIProb] != 1 || kinds[layerOwn] != 1 {
		t.Fatalf("layers %v: want one AI label, one AI probability map and the reader's own", kinds)
	}
	if !w.ui.aiNote.Visible() || !strings.Contains(w.ui.aiNote.Text, "synthetic data") {
		t.Error("the AI disclaimer is not shown with AI layers")
	}
	w.SetCursor(centres[1])
	w.TypeRune('g') // accept the candidate under the cursor
	own := w.cd.session.Label()
	for i := range own.Data {
		p := idx3(own.Grid, i)
		inSecond := sq(float64(p[0]-centres[1][0]))+sq(float64(p[1]-centres[1][1]))+sq(float64(p[2]-centres[1][2])) <= 4
		if (own.Data[i] != 0) != inSecond {
			t.Fatalf("voxel %v: reader label %d after accepting the second candidate", p, own.Data[i])
		}
	}
	if len(w.lesions) != 1 {
		t.Errorf("lesion table has %d rows after accepting one candidate", len(w.lesions))
	}
}

func TestBlindingAndConsensusLayers(t *testing.T) {
	dir := smallDemo(t)
	ws, c, ref := openDemoCase(t, dir)
	if !ws.Settings().Blinding {
		t.Fatal("blinding is expected on by default")
	}
	b := volume.NewLabel(ref.Grid)
	b.Set(30, 30, 30, 1)
	if err := nifti.WriteLabel(c.LabelPath("Dr B"), b); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReaderStatus("Dr B", workspace.Submitted); err != nil {
		t.Fatal(err)
	}
	if err := nifti.WriteLabel(c.ConsensusPath(), b); err != nil {
		t.Fatal(err)
	}
	layerNames := func(w *Workstation) map[layerKind][]string {
		out := map[layerKind][]string{}
		for _, l := range w.cd.layers {
			out[l.kind] = append(out[l.kind], l.name)
		}
		return out
	}
	// Dr A has not submitted: Dr B's labels and the consensus (made of
	// both readers' work) stay hidden.
	w := openStation(t, dir, Options{Reader: "Dr A"})
	got := layerNames(w)
	if len(got[layerReader]) != 0 || len(got[layerConsensus]) != 0 {
		t.Errorf("Dr A (blinded) sees %v", got)
	}
	if !strings.Contains(w.ui.caseInfo[0], "Dr B: submitted") {
		t.Errorf("case list says %q; want Dr B submitted", w.ui.caseInfo[0])
	}
	// Once Dr A submits, the case reopens with Dr B's labels.
	loaded := make(chan error, 1)
	w.onLoaded = func(_ string, err error) { loaded <- err }
	w.submit()
	waitLoaded(t, loaded)
	if got := layerNames(w); len(got[layerReader]) != 1 {
		t.Errorf("after submitting, Dr A sees %v", got)
	}
	if w.cd.c.ReaderStatus("Dr A") != workspace.Submitted || !strings.Contains(w.ui.readerTop.Text, "submitted") {
		t.Errorf("Dr A status %v, label %q", w.cd.c.ReaderStatus("Dr A"), w.ui.readerTop.Text)
	}
	w.Close()
	// The adjudicator sees every reader.
	w = openStation(t, dir, Options{Reader: "Senior"})
	got = layerNames(w)
	if len(got[layerReader]) != 2 || got[layerReader][0] != "Dr A" || got[layerReader][1] != "Dr B" {
		t.Errorf("Senior sees %v; want both readers", got)
	}
	if !strings.Contains(w.ui.readerTop.Text, "Senior") || !strings.Contains(w.ui.readerTop.Text, "adjudicator") {
		t.Errorf("reader label %q", w.ui.readerTop.Text)
	}
	w.Close()
}

func TestCloseSavesLabelAndResume(t *testing.T) {
	dir := smallDemo(t)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	sv, m := centreView(t, w)
	w.SetTool(keyBrush)
	click(sv, screenOf(m, w.cursor))
	want := w.cd.session.Label().Clone()
	path := w.cd.c.LabelPath("Dr A")
	cursor := w.cursor
	w.Close()
	got, err := nifti.ReadLabel(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := sameLabel(got, want); d != 0 || want.Count() == 0 {
		t.Fatalf("saved label differs in %d voxels (%d painted)", d, want.Count())
	}
	if _, err := os.Stat(path[:len(path)-len(".nii.gz")] + ".journal"); err == nil {
		st, _ := os.Stat(path[:len(path)-len(".nii.gz")] + ".journal")
		if st.Size() > 4096 {
			t.Errorf("journal still holds %d bytes after close", st.Size())
		}
	}
	w2 := openStation(t, dir, Options{Reader: "Dr A"})
	defer w2.Close()
	if w2.cursor != cursor {
		t.Errorf("cursor %v after reopening, want %v", w2.cursor, cursor)
	}
}

func TestRememberLastWorkspace(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	if _, _, _, ok := LastWorkspace(); ok {
		t.Fatal("a fresh config has a last workspace")
	}
	dir := smallDemo(t)
	if err := saveState(appState{LastWorkspace: dir, LastReader: "Dr B", LastCase: "demo-01"}); err != nil {
		t.Fatal(err)
	}
	got, reader, c, ok := LastWorkspace()
	if !ok || got != dir || reader != "Dr B" || c != "demo-01" {
		t.Fatalf("LastWorkspace = %q %q %q %v", got, reader, c, ok)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, _, _, ok := LastWorkspace(); ok {
		t.Error("a deleted workspace is still offered")
	}
}

func TestInterpolateAndFillHolesThroughTheApp(t *testing.T) {
	dir := smallDemo(t)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	sv, _ := centreView(t, w)
	w.SetTool(keyBrush)
	w.SetBrushRadius(6)
	c := w.cursor
	for _, k := range []int{c[2], c[2] + 3} {
		w.SetCursor([3]int{c[0], c[1], k})
		m, _ := sv.Mapping()
		click(sv, screenOf(m, [3]int{c[0], c[1], k}))
	}
	lbl := w.cd.session.Label()
	for _, k := range []int{c[2] + 1, c[2] + 2} {
		if lbl.At(c[0], c[1], k) != 0 {
			t.Fatalf("slice %d painted before interpolation", k)
		}
	}
	before := lbl.Clone()
	w.SetCursor(c)
	w.TypeRune('i')
	for _, k := range []int{c[2] + 1, c[2] + 2} {
		if lbl.At(c[0], c[1], k) == 0 {
			t.Errorf("slice %d not filled by interpolation", k)
		}
	}
	if len(w.lesions) != 1 {
		t.Errorf("interpolated lesion counts as %d lesions", len(w.lesions))
	}
	w.RunShortcut("Ctrl+Z")
	if d := sameLabel(lbl, before); d != 0 {
		t.Errorf("undo of the interpolation leaves %d voxels changed", d)
	}
	// Fill holes: erase the centre of a disc, then H fills it again.
	w.RunShortcut("Ctrl+Y")
	w.SetTool(keyEraser)
	w.SetBrushRadius(0)
	w.SetCursor(c)
	m, _ := sv.Mapping()
	click(sv, screenOf(m, c))
	if lbl.At(c[0], c[1], c[2]) != 0 {
		t.Fatal("the eraser left the centre voxel")
	}
	w.TypeRune('h')
	if lbl.At(c[0], c[1], c[2]) != 1 {
		t.Error("fill holes did not fill the erased centre")
	}
	// Every view draws the live label: edits show at once everywhere.
	w.SetLayout(LayoutAll)
	for _, sl := range w.visibleSlots() {
		found := false
		for _, o := range sl.sv.Scene().Overlays {
			found = found || o.Label == lbl
		}
		if !found {
			t.Errorf("%s %s does not draw the reader's label", sl.seq.Title(), sl.plane)
		}
	}
}

func TestPreprocessedCaseShowsRegisteredSequences(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: preprocessing takes seconds")
	}
	dir := smallDemo(t)
	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ws.Case("demo-01")
	if err != nil {
		t.Fatal(err)
	}
	var in preprocess.Inputs
	for _, s := range volume.Sequences {
		if in.Images[s], err = nifti.ReadVolume(c.ImagePath(s)); err != nil {
			t.Fatal(err)
		}
	}
	po := preprocess.DefaultOptions()
	po.SkipBias, po.SpacingMM = true, 3
	res, err := preprocess.Run(context.Background(), in, po, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := preprocess.WriteResult(c.PreprocDir(), res); err != nil {
		t.Fatal(err)
	}
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	if !w.cd.aligned {
		t.Fatal("the case's registration was not used")
	}
	for _, s := range []volume.Sequence{volume.T1, volume.T2, volume.FLAIR} {
		want := res.AlignToReference(s, in.Images[s])
		plain := volume.Resample(in.Images[s], w.cd.grid)
		same, differs := true, false
		for i := range want.Data {
			same = same && want.Data[i] == w.cd.images[s].Data[i]
			differs = differs || plain.Data[i] != want.Data[i]
		}
		if !same {
			t.Errorf("%s is not shown through its registration", s.Title())
		}
		if !differs {
			t.Errorf("%s: registration and world placement agree; the test shows nothing", s.Title())
		}
	}
	if !strings.Contains(w.ui.infoText.Text, "registered to the T1c") {
		t.Errorf("info pane: %q", w.ui.infoText.Text)
	}
}

func TestUndoButtonsFollowHistory(t *testing.T) {
	dir := smallDemo(t)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	if !w.ui.undo.Disabled() || !w.ui.redo.Disabled() {
		t.Fatal("undo/redo enabled with an empty history")
	}
	sv, m := centreView(t, w)
	w.SetTool(keyBrush)
	click(sv, screenOf(m, w.cursor))
	if w.ui.undo.Disabled() || !w.ui.redo.Disabled() {
		t.Error("after an edit: undo should be on, redo off")
	}
	test.Tap(w.ui.undo)
	if !w.ui.undo.Disabled() || w.ui.redo.Disabled() || w.cd.session.Label().Count() != 0 {
		t.Error("the Undo button did not undo the only edit")
	}
	test.Tap(w.ui.redo)
	if w.cd.session.Label().Count() == 0 {
		t.Error("the Redo button did not redo")
	}
}

func TestWindowLevelPerSequenceAndZoomPerPlane(t *testing.T) {
	dir := smallDemo(t)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	w.SetLayout(LayoutAll)
	h := viewHandler{w}
	t1cAxial := w.slots[volume.T1c][viewer.Axial].sv
	wl := viewer.WindowLevel{Window: 123, Level: 456}
	h.OnWindowLevel(t1cAxial, wl)
	h.OnZoomPan(t1cAxial, 2.5, [2]float64{4, -3})
	for _, sl := range w.visibleSlots() {
		v := sl.sv.Scene().View
		if (v.WL == wl) != (sl.seq == volume.T1c) {
			t.Errorf("%s %s window %v after right-drag on T1c", sl.seq.Title(), sl.plane, v.WL)
		}
		if (v.Zoom == 2.5 && v.Pan == [2]float64{4, -3}) != (sl.plane == viewer.Axial) {
			t.Errorf("%s %s zoom %v pan %v after zooming the axial plane", sl.seq.Title(), sl.plane, v.Zoom, v.Pan)
		}
	}
	w.TypeRune('0') // automatic windows again
	if got := w.slots[volume.T1c][viewer.Coronal].sv.Scene().View.WL; got != w.cd.hist[volume.T1c].Window(viewer.PresetAuto) {
		t.Errorf("0 left the T1c window at %v", got)
	}
	w.TypeKey(fyne.KeyHome)
	if z := w.slots[volume.T1][viewer.Axial].sv.Scene().View.Zoom; z != 1 {
		t.Errorf("Home left the zoom at %v", z)
	}
	// Radiological by default; R switches every view.
	w.TypeRune('r')
	for _, sl := range w.visibleSlots() {
		if sl.sv.Scene().View.Orientation != viewer.Neurological {
			t.Fatalf("%s %s not neurological after R", sl.seq.Title(), sl.plane)
		}
	}
	// The wheel over a coronal view steps the coronal slice.
	c := w.cursor
	h.OnSlice(w.slots[volume.FLAIR][viewer.Coronal].sv, 2)
	n := viewer.NormalAxis(w.cd.grid, viewer.Coronal)
	if d := w.cursor[n] - c[n]; d != 2 && d != -2 {
		t.Errorf("two wheel notches moved the coronal slice by %d", d)
	}
}

func TestOpensTheRememberedCaseOrTheFirst(t *testing.T) {
	dir := smallDemo(t)
	w := openStation(t, dir, Options{Reader: "Dr A", Case: "gone-since"})
	defer w.Close()
	if w.cd == nil || w.cd.c.Name() != "demo-01" || w.lastCase != "demo-01" {
		t.Fatalf("a vanished remembered case should open the first case")
	}
}

func TestStrokeFromBesideTheImagePaintsNothing(t *testing.T) {
	dir := smallDemo(t)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	sv, m := centreView(t, w)
	w.SetTool(keyBrush)
	// The view is wider than the slice: its left edge is black margin.
	p := fyne.NewPos(2, sv.Size().Height/2)
	if _, inside := m.ScreenToVoxel(float64(p.X), float64(p.Y)); inside {
		t.Skip("no margin beside the image in this window")
	}
	dragThrough(sv, sv, []fyne.Position{p, p.AddXY(5, 0), screenOf(m, w.cursor)})
	if n := w.cd.session.Label().Count(); n != 0 {
		t.Errorf("a stroke begun beside the image painted %d voxels", n)
	}
	if w.cd.session.StrokeActive() {
		t.Error("a stroke is left open")
	}
}

func TestCorruptImageGivesAnErrorNamingTheFile(t *testing.T) {
	dir := smallDemo(t)
	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ws.Case("demo-01")
	if err != nil {
		t.Fatal(err)
	}
	bad := c.ImagePath(volume.T2)
	if err := os.WriteFile(bad, []byte("\x1f\x8b not really gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	loaded := make(chan error, 1)
	a := test.NewTempApp(t)
	w, err := NewWorkstation(a, ws, Options{Reader: "Dr A", onLoaded: func(_ string, err error) { loaded <- err }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	select {
	case err := <-loaded:
		if err == nil || !strings.Contains(err.Error(), "t2.nii.gz") {
			t.Fatalf("opening a case with a corrupt T2 gave %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no answer")
	}
	if w.cd != nil {
		t.Error("a case with a corrupt image was opened")
	}
}

func TestCaseListFilter(t *testing.T) {
	dir := smallDemo(t)
	second := filepath.Join(dir, "cases", "demo-02")
	if err := copyTree(filepath.Join(dir, "cases", "demo-01"), second); err != nil {
		t.Fatal(err)
	}
	cj := filepath.Join(second, "case.json")
	b, err := os.ReadFile(cj)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cj, bytes.Replace(b, []byte(`"demo-01"`), []byte(`"demo-02"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	if len(w.ui.caseNames) != 2 {
		t.Fatalf("case list %v", w.ui.caseNames)
	}
	// Dr A edits demo-01: it becomes "in progress".
	sv, m := centreView(t, w)
	w.SetTool(keyBrush)
	click(sv, screenOf(m, w.cursor))
	for filter, want := range map[string][]string{
		"02": {"demo-02"}, "in progress": {"demo-01"}, "DR A": {"demo-01", "demo-02"}, "zzz": nil, "": {"demo-01", "demo-02"},
	} {
		w.ui.caseFilter.SetText(filter)
		if strings.Join(w.ui.caseNames, ",") != strings.Join(want, ",") {
			t.Errorf("filter %q shows %v, want %v", filter, w.ui.caseNames, want)
		}
	}
	if w.cd == nil || w.cd.c.Name() != "demo-01" {
		t.Error("filtering changed the open case")
	}
}

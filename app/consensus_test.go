package app

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"metascope/lesion"
	"metascope/phantom"
	"metascope/segedit"
	"metascope/segedit/consensus"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// Reader A submits alone while reader B still draws: A's workstation must
// not show B's labels (nor the consensus) by any path: no layer, no entry
// in the lesion table's "of" selector, no value in the status bar.
func TestBlindingSubmittedAloneSeesNothingOfB(t *testing.T) {
	dir := smallDemo(t)
	_, c, ref := openDemoCase(t, dir)
	b := volume.NewLabel(ref.Grid)
	at := [3]int{ref.Grid.Dims[0] / 2, ref.Grid.Dims[1] / 2, ref.Grid.Dims[2] / 2}
	for dk := -1; dk <= 1; dk++ {
		b.Set(at[0], at[1], at[2]+dk, 1)
	}
	if err := nifti.WriteLabel(c.LabelPath("Dr B"), b); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReaderStatus("Dr B", workspace.InProgress); err != nil {
		t.Fatal(err)
	}
	// A stale consensus file must not show either.
	if err := nifti.WriteLabel(c.ConsensusPath(), b); err != nil {
		t.Fatal(err)
	}

	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	loaded := make(chan error, 1)
	w.onLoaded = func(_ string, err error) { loaded <- err }
	w.submit()
	waitLoaded(t, loaded)
	if st := w.cd.c.ReaderStatus("Dr A"); st != workspace.Submitted {
		t.Fatalf("Dr A status %v after submitting", st)
	}
	leak := func(s string) bool { return strings.Contains(s, "Dr B") || strings.Contains(s, "Consensus") }
	for _, l := range w.cd.layers {
		if l.kind == layerReader || l.kind == layerConsensus || leak(l.name) {
			t.Errorf("Dr A (submitted, Dr B in progress) has layer %q", l.name)
		}
	}
	for _, o := range w.ui.lesionOf.Options {
		if leak(o) {
			t.Errorf("lesion table offers %q to Dr A", o)
		}
	}
	w.SetCursor(at)
	w.updateStatus(at)
	if leak(w.ui.status.Text) {
		t.Errorf("status bar at Dr B's voxel shows %q", w.ui.status.Text)
	}
	// The access point agrees: Dr A may see only her own labels.
	if got := w.ws.VisibleReaders(w.cd.c, "Dr A"); len(got) != 1 || got[0] != "Dr A" {
		t.Errorf("VisibleReaders = %v", got)
	}
}

// twoReaderCase scripts a two-reader case on demo-01: the lesions of a
// phantom's ground truth (three of them, on the case's T1c grid) become
// one lesion both readers outlined differently (reader B's outline is
// reader A's moved one voxel along i), one only reader A marked and one
// only reader B marked. Both readers have submitted.
type twoReaderCase struct {
	dir                    string
	a, b                   *volume.Label
	shared, shiftd, aL, bL *volume.Label // the lesions' voxels, each alone
	sharedAt, aAt, bAt     [3]int        // a voxel of each
}

func newTwoReaderCase(t *testing.T) *twoReaderCase {
	t.Helper()
	dir := smallDemo(t)
	_, c, ref := openDemoCase(t, dir)
	g := ref.Grid
	po := phantom.DefaultOptions(phantom.Small)
	po.Seed, po.MinLesions, po.MaxLesions = 7, 3, 3
	pc, err := phantom.Generate(po)
	if err != nil {
		t.Fatal(err)
	}
	truth := pc.Label
	if !truth.Grid.SameGeometry(g, 1e-4) {
		truth = volume.ResampleLabel(truth, g)
	}
	labels, comps := lesion.Components(truth, lesion.Conn26)
	if len(comps) < 3 {
		t.Fatalf("phantom truth has %d lesions; the script needs 3", len(comps))
	}
	sort.Slice(comps, func(i, j int) bool { return comps[i].Voxels > comps[j].Voxels })
	only := func(id int) *volume.Label {
		l := volume.NewLabel(g)
		for i, x := range labels {
			if int(x) == id {
				l.Data[i] = 1
			}
		}
		return l
	}
	tc := &twoReaderCase{dir: dir, shared: only(comps[0].ID), aL: only(comps[1].ID), bL: only(comps[2].ID)}
	tc.shiftd = volume.NewLabel(g)
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			for i := 1; i < g.Dims[0]; i++ {
				tc.shiftd.Set(i, j, k, tc.shared.At(i-1, j, k))
			}
		}
	}
	tc.a, tc.b = union(tc.shared, tc.aL), union(tc.shiftd, tc.bL)
	tc.sharedAt = nearestVoxel(tc.shared, comps[0])
	tc.aAt, tc.bAt = nearestVoxel(tc.aL, comps[1]), nearestVoxel(tc.bL, comps[2])
	for r, l := range map[string]*volume.Label{"Dr A": tc.a, "Dr B": tc.b} {
		if err := nifti.WriteLabel(c.LabelPath(r), l); err != nil {
			t.Fatal(err)
		}
		if err := c.SetReaderStatus(r, workspace.Submitted); err != nil {
			t.Fatal(err)
		}
	}
	return tc
}

func union(ls ...*volume.Label) *volume.Label {
	out := volume.NewLabel(ls[0].Grid)
	for _, l := range ls {
		for i, v := range l.Data {
			if v != 0 {
				out.Data[i] = 1
			}
		}
	}
	return out
}

func intersect(a, b *volume.Label) *volume.Label {
	out := volume.NewLabel(a.Grid)
	for i := range a.Data {
		if a.Data[i] != 0 && b.Data[i] != 0 {
			out.Data[i] = 1
		}
	}
	return out
}

// itemOfKind finds the consensus item of kind k in the open session.
func itemOfKind(t *testing.T, w *Workstation, k consensus.Kind) consensus.Item {
	t.Helper()
	for _, it := range w.cons.items {
		if it.Kind == k {
			return it
		}
	}
	t.Fatalf("no %s item in %d items", k, len(w.cons.items))
	return consensus.Item{}
}

// selectRow clicks item id's row in the consensus list.
func selectRow(t *testing.T, w *Workstation, id int) {
	t.Helper()
	for i, it := range w.cons.items {
		if it.ID == id {
			w.cons.list.Select(i)
			if w.cons.sel != id {
				t.Fatalf("clicking row %d selected item %d, want %d", i, w.cons.sel, id)
			}
			return
		}
	}
	t.Fatalf("no item %d in the list", id)
}

func TestConsensusThroughTheUI(t *testing.T) {
	tc := newTwoReaderCase(t)
	w := openStation(t, tc.dir, Options{Reader: "Dr A"})
	if w.cons.sess != nil {
		t.Fatal("the consensus opened before anyone asked")
	}
	if !w.cons.openBtn.Visible() {
		t.Fatal("both readers submitted but the consensus tab offers no way to open it")
	}
	w.OpenConsensus()
	if w.cons.sess == nil {
		t.Fatalf("consensus did not open: %s", w.cons.head.Text)
	}
	if w.cons.tabs.Selected() != w.cons.tab {
		t.Error("opening the consensus did not show its tab")
	}
	if len(w.cons.items) != 3 {
		t.Fatalf("%d items, want 3 (agreed, A only, B only)", len(w.cons.items))
	}
	shared, aOnly, bOnly := itemOfKind(t, w, consensus.Agreed), itemOfKind(t, w, consensus.AOnly), itemOfKind(t, w, consensus.BOnly)
	if shared.Dice <= 0.3 || shared.Dice >= 1 {
		t.Errorf("shared lesion Dice %.3f; the outlines differ by a one-voxel shift", shared.Dice)
	}
	if shared.AVoxels != tc.shared.Count() || aOnly.AVoxels != tc.aL.Count() || bOnly.BVoxels != tc.bL.Count() {
		t.Errorf("item voxels %d/%d/%d, want %d/%d/%d", shared.AVoxels, aOnly.AVoxels, bOnly.BVoxels, tc.shared.Count(), tc.aL.Count(), tc.bL.Count())
	}
	// The list rows say what each item is.
	row := itemRow(shared, consensus.Decision{})
	if !strings.Contains(row, "agreed") || !strings.Contains(row, fmt.Sprintf("Dice %.2f", shared.Dice)) || !strings.Contains(row, "open") {
		t.Errorf("agreed row %q", row)
	}
	// The disagreement view: A-only and B-only voxels of the agreed item.
	counts := map[layerKind]int{}
	for _, l := range w.cd.layers {
		if l.label != nil {
			counts[l.kind] = l.label.Count()
		}
	}
	wantA, wantB := tc.shared.Count()-intersect(tc.shared, tc.shiftd).Count(), tc.shiftd.Count()-intersect(tc.shared, tc.shiftd).Count()
	if counts[layerDisagreeA] != wantA || counts[layerDisagreeB] != wantB || wantA == 0 {
		t.Errorf("disagreement layers %d / %d voxels, want %d / %d", counts[layerDisagreeA], counts[layerDisagreeB], wantA, wantB)
	}

	// Clicking a row jumps the crosshair into the item.
	selectRow(t, w, bOnly.ID)
	cmp := w.cons.sess.Comparison()
	if c := w.Cursor(); cmp.ItemAt(c[0], c[1], c[2]) != bOnly.ID {
		t.Errorf("cursor %v is not in item %d", c, bOnly.ID)
	}
	// Intersection on a B-only item keeps nothing: the button is off.
	if !w.cons.actions[consensus.Intersection].Disabled() || w.cons.actions[consensus.AcceptB].Disabled() {
		t.Error("B-only item: intersection should be disabled and accept B enabled")
	}

	// Shared lesion: intersection by its shortcut; A only: accept A by
	// its button.
	selectRow(t, w, shared.ID)
	w.TypeKey(fyne.KeyF5)
	if d := w.cons.sess.Decision(shared.ID); d.Resolution != consensus.Intersection || d.By != "Dr A" {
		t.Fatalf("after F5 the shared item is %+v", d)
	}
	selectRow(t, w, aOnly.ID)
	test.Tap(w.cons.actions[consensus.AcceptA])
	if d := w.cons.sess.Decision(aOnly.ID); d.Resolution != consensus.AcceptA {
		t.Fatalf("after Accept A the A-only item is %+v", d)
	}
	// The preview shows the decided items.
	for _, l := range w.cd.layers {
		if l.kind == layerPreview && sameLabel(l.label, union(intersect(tc.shared, tc.shiftd), tc.aL)) != 0 {
			t.Errorf("preview differs from the decisions in %d voxels", sameLabel(l.label, union(intersect(tc.shared, tc.shiftd), tc.aL)))
		}
	}

	// B only: flagged for senior review. Finalising is blocked and the
	// readers can no longer resolve it.
	selectRow(t, w, bOnly.ID)
	w.MarkSenior("enhancing vessel or small metastasis?")
	if !w.cons.finaliseBtn.Disabled() {
		t.Error("finalise enabled while an item waits for the adjudicator")
	}
	selectRow(t, w, bOnly.ID)
	if !w.cons.actions[consensus.Reject].Disabled() {
		t.Error("Dr A may still resolve an item flagged for senior review")
	}
	w.TypeKey(fyne.KeyF7) // reject, refused
	if d := w.cons.sess.Decision(bOnly.ID); !d.PendingSenior() || d.Note == "" {
		t.Fatalf("a reader resolved the senior item: %+v", d)
	}
	w.Close()

	// The adjudicator resumes the session, settles the flagged item and
	// finalises.
	w = openStation(t, tc.dir, Options{Reader: "Senior"})
	defer w.Close()
	if w.cons.sess == nil {
		t.Fatalf("the adjudicator does not see the consensus in progress: %s", w.cons.head.Text)
	}
	if w.cons.sel != bOnly.ID {
		t.Errorf("the first item shown is %d, want the one waiting (%d)", w.cons.sel, bOnly.ID)
	}
	if !w.ui.toolButtons[keyBrush].Disabled() {
		t.Error("the adjudicator may start labelling the case mid-consensus (it would blind everyone again)")
	}
	if !strings.Contains(w.cons.detail.Text, "enhancing vessel") {
		t.Errorf("the adjudicator does not see the note: %q", w.cons.detail.Text)
	}
	selectRow(t, w, bOnly.ID)
	w.TypeKey(fyne.KeyF7)
	if d := w.cons.sess.Decision(bOnly.ID); d.Resolution != consensus.Reject || d.By != "Senior" || !d.Senior {
		t.Fatalf("adjudicator's reject: %+v", d)
	}
	if w.cons.finaliseBtn.Disabled() {
		t.Fatalf("every item resolved but finalise is disabled: %v", w.cons.sess.CanFinalise())
	}
	loaded := make(chan error, 1)
	w.onLoaded = func(_ string, err error) { loaded <- err }
	test.Tap(w.cons.finaliseBtn)
	waitLoaded(t, loaded)
	got, err := nifti.ReadLabel(w.cd.c.ConsensusPath())
	if err != nil {
		t.Fatal(err)
	}
	want := union(intersect(tc.shared, tc.shiftd), tc.aL)
	if d := sameLabel(got, want); d != 0 {
		t.Errorf("consensus differs from the decisions in %d voxels (%d expected)", d, want.Count())
	}
	var cons *layer
	for _, l := range w.cd.layers {
		if l.kind == layerConsensus {
			cons = l
		}
	}
	if cons == nil || !cons.visible || sameLabel(cons.label, want) != 0 {
		t.Error("after finalising, the consensus layer is not shown")
	}
	if !strings.Contains(strings.Join(w.ui.caseInfo, "\n"), "ready for training") {
		t.Errorf("case list says %q", w.ui.caseInfo)
	}
	log, err := w.cd.c.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range log {
		actions[e.Action]++
	}
	if actions["consensus resolve"] != 3 || actions["consensus needs senior review"] != 1 || actions["consensus final"] != 1 {
		t.Errorf("audit log actions %v", actions)
	}
}

// Redraw: the outline is drawn with the brush in a draft (never in the
// reader's submitted labels), starts as both outlines of the item, and
// keeps only what lies near the item.
func TestConsensusRedraw(t *testing.T) {
	tc := newTwoReaderCase(t)
	w := openStation(t, tc.dir, Options{Reader: "Dr B"})
	defer w.Close()
	w.OpenConsensus()
	it := itemOfKind(t, w, consensus.BOnly)
	selectRow(t, w, it.ID)
	ownBefore := w.cons.sess.Comparison().ItemLabel(it.ID).Count()
	w.TypeKey(fyne.KeyF8)
	if w.cons.draft == nil {
		t.Fatalf("F8 did not start drawing: %s", w.cons.head.Text)
	}
	if w.currentTool() != keyBrush || w.cd.session.Label().Count() != ownBefore {
		t.Fatalf("draft: tool %v, %d voxels, want the brush on the item's %d voxels", w.currentTool(), w.cd.session.Label().Count(), ownBefore)
	}
	// One voxel painted just beside the item, one far away.
	w.SetBrushRadius(0)
	sv, _ := centreView(t, w)
	near := [3]int{it.BBoxMax[0] + 2, it.BBoxMin[1], it.BBoxMin[2]}
	far := [3]int{it.BBoxMax[0] + redrawMargin + 6, it.BBoxMin[1], it.BBoxMin[2]}
	for _, v := range [][3]int{near, far} {
		if !w.cd.grid.Contains(v[0], v[1], v[2]) {
			t.Skipf("voxel %v is outside the grid", v)
		}
		w.SetCursor(v)
		m, _ := sv.Mapping()
		click(sv, screenOf(m, v))
	}
	dl := w.cd.session.Label()
	if dl.At(near[0], near[1], near[2]) == 0 || dl.At(far[0], far[1], far[2]) == 0 {
		t.Fatal("the brush did not paint the draft")
	}
	w.TypeKey(fyne.KeyF8) // use it
	if w.cons.draft != nil {
		t.Fatalf("drawing did not end: %s", w.cons.head.Text)
	}
	d := w.cons.sess.Decision(it.ID)
	if d.Resolution != consensus.Redraw || d.Redraw.Count() != ownBefore+1 {
		t.Fatalf("redraw decision %v with %d voxels, want %d", d.Resolution, d.Redraw.Count(), ownBefore+1)
	}
	// The reader's own labels are untouched and the editor is theirs again.
	if w.cd.session.Label() == dl || sameLabel(w.cd.session.Label(), tc.b) != 0 {
		t.Error("the reader's submitted labels changed, or the draft is still under the editor")
	}
	if w.cd.c.ReaderStatus("Senior") != workspace.NotStarted {
		t.Error("drawing the consensus outline made someone a reader of the case")
	}
}

// A reader who submitted cannot paint: the tools are off and the status bar
// says why.
func TestSubmittedReaderCannotEdit(t *testing.T) {
	dir := smallDemo(t)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	sv, m := centreView(t, w)
	w.SetTool(keyBrush)
	click(sv, screenOf(m, w.cursor))
	painted := w.cd.session.Label().Count()
	if painted == 0 {
		t.Fatal("the brush painted nothing before submitting")
	}
	loaded := make(chan error, 1)
	w.onLoaded = func(_ string, err error) { loaded <- err }
	w.submit()
	waitLoaded(t, loaded)
	if !w.ui.toolButtons[keyBrush].Disabled() || w.ui.toolButtons[keyNavigate].Disabled() {
		t.Error("after submitting, the brush button is still enabled (or navigate is not)")
	}
	w.TypeRune('b')
	if w.currentTool() != keyNavigate {
		t.Errorf("B after submitting chose %v", w.currentTool())
	}
	if !strings.Contains(w.ui.status.Text, "read-only") {
		t.Errorf("status bar %q does not say the labels are read-only", w.ui.status.Text)
	}
	// Even a stroke that reaches the editor (a tool left on) changes nothing.
	w.editor.Tool = segedit.ToolBrush
	sv, m = centreView(t, w)
	v := [3]int{w.cursor[0] + 3, w.cursor[1], w.cursor[2]}
	click(sv, screenOf(m, v))
	w.Undo()
	w.TypeRune('h')
	if got := w.cd.session.Label().Count(); got != painted {
		t.Errorf("submitted labels changed: %d voxels, were %d", got, painted)
	}
	if !w.ui.undo.Disabled() {
		t.Error("undo enabled on submitted labels")
	}
}

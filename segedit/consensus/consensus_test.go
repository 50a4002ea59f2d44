package consensus

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"metascope/lesion"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

func TestScriptedItems(t *testing.T) {
	s := newScripted(t)
	cmp, err := Build(s.a, s.b, lesion.Conn26)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Items) != 3 {
		t.Fatalf("%d items, want 3: %+v", len(cmp.Items), cmp.Items)
	}
	both := 0
	for v := range s.a1 {
		if s.b1[v] {
			both++
		}
	}
	it := cmp.Items[0]
	if it.Kind != Agreed || it.AVoxels != len(s.a1) || it.BVoxels != len(s.b1) || it.BothVoxels != both {
		t.Errorf("item 1: %v A %d B %d both %d, want agreed A %d B %d both %d", it.Kind, it.AVoxels, it.BVoxels, it.BothVoxels, len(s.a1), len(s.b1), both)
	}
	if want := 2 * float64(both) / float64(len(s.a1)+len(s.b1)); math.Abs(it.Dice-want) > 1e-12 || it.Dice < 0.3 || it.Dice > 0.95 {
		t.Errorf("item 1 Dice %.4f, want %.4f (and a real disagreement)", it.Dice, want)
	}
	if it := cmp.Items[1]; it.Kind != AOnly || it.AVoxels != len(s.les[1]) || it.BVoxels != 0 || it.Dice != 0 || len(it.A) != 1 || len(it.B) != 0 {
		t.Errorf("item 2: %+v, want A only with %d voxels", it, len(s.les[1]))
	}
	if it := cmp.Items[2]; it.Kind != BOnly || it.BVoxels != len(s.les[2]) || it.AVoxels != 0 || len(it.B) != 1 {
		t.Errorf("item 3: %+v, want B only with %d voxels", it, len(s.les[2]))
	}
	// The item of a voxel and the disagreement view.
	v0 := s.les[1][0]
	if id := cmp.ItemAt(s.truth.Coords(v0)); id != 2 {
		t.Errorf("ItemAt on lesion 2 gives %d", id)
	}
	if cmp.ItemAt(-1, 0, 0) != 0 {
		t.Error("ItemAt outside the grid")
	}
	aOnly, bOnly := cmp.Disagreement()
	wantA, wantB := map[int]bool{}, map[int]bool{}
	for v := range s.a1 {
		if !s.b1[v] {
			wantA[v] = true
		}
	}
	for v := range s.b1 {
		if !s.a1[v] {
			wantB[v] = true
		}
	}
	sameSet(t, "A-only voxels", aOnly, wantA)
	sameSet(t, "B-only voxels", bOnly, wantB)
	ag := cmp.Agreement()
	if ag.Agreed != 1 || ag.AOnly != 1 || ag.BOnly != 1 || ag.LesionsA != 2 || ag.LesionsB != 2 {
		t.Errorf("agreement counts %+v", ag)
	}
	// TP 1, FN 1, FP 1: F1 = 2/4.
	if math.Abs(ag.LesionF1-0.5) > 1e-12 || math.Abs(ag.VoxelDice-lesion.Dice(s.a, s.b)) > 1e-12 {
		t.Errorf("lesion F1 %.3f voxel Dice %.4f", ag.LesionF1, ag.VoxelDice)
	}
}

func TestEachResolutionGivesExactVoxels(t *testing.T) {
	s := newScripted(t)
	cmp, err := Build(s.a, s.b, lesion.Conn26)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Staple([]*volume.Label{s.a, s.b}, DefaultStapleOptions())
	if err != nil {
		t.Fatal(err)
	}
	redraw := volume.NewLabel(s.truth.Grid)
	for _, v := range s.les[0] {
		redraw.Data[v] = 1
	}
	union, inter, truth1, stapleIn := map[int]bool{}, map[int]bool{}, map[int]bool{}, map[int]bool{}
	for v := range s.a1 {
		union[v] = true
		if s.b1[v] {
			inter[v] = true
		}
	}
	for v := range s.b1 {
		union[v] = true
	}
	for _, v := range s.les[0] {
		truth1[v] = true
	}
	for v := range union {
		if st.Label.Data[v] != 0 {
			stapleIn[v] = true
		}
	}
	for v := range inter {
		if !stapleIn[v] {
			t.Fatalf("STAPLE drops voxel %d both readers marked", v)
		}
	}
	cases := []struct {
		r    Resolution
		want map[int]bool
	}{
		{AcceptA, s.a1}, {AcceptB, s.b1}, {Union, union}, {Intersection, inter},
		{Redraw, truth1}, {Reject, map[int]bool{}}, {StapleOutline, stapleIn},
	}
	for _, tc := range cases {
		d1 := Decision{Resolution: tc.r}
		if tc.r == Redraw {
			d1.Redraw = RunsOf(redraw)
		}
		dec := map[int]Decision{1: d1, 2: {Resolution: AcceptA}, 3: {Resolution: Reject}}
		got, err := cmp.Compose(dec, st.Label)
		if err != nil {
			t.Fatalf("%s: %v", tc.r, err)
		}
		want := map[int]bool{}
		for v := range tc.want {
			want[v] = true
		}
		for _, v := range s.les[1] {
			want[v] = true
		}
		sameSet(t, "item 1 "+tc.r.String(), got, want)
	}
	// B's outline of the B-only lesion, and nothing of the rejected A-only one.
	got, err := cmp.Compose(map[int]Decision{1: {Resolution: Reject}, 2: {Resolution: Reject}, 3: {Resolution: AcceptB}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{}
	for _, v := range s.les[2] {
		want[v] = true
	}
	sameSet(t, "only item 3 accepted", got, want)
	if _, err := cmp.Compose(map[int]Decision{1: {Resolution: Union}, 2: {Senior: true}}, nil); err == nil {
		t.Error("Compose accepted unresolved items")
	}
	if err := AcceptB.Applicable(AOnly); err == nil {
		t.Error("accept-b on an A-only item was accepted")
	}
}

func TestBlindingEveryPath(t *testing.T) {
	s := newScripted(t)
	s.inWorkspace(t)
	w, c := s.ws, s.c
	refused := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, workspace.ErrBlinded) {
			t.Errorf("%s: got %v, want a blinding refusal", what, err)
		}
	}
	check := func(stage string) {
		refused(stage+": B opens A's labels", errOf(w.OpenLabel(c, "Dr B", "Dr A")))
		refused(stage+": A opens B's labels", errOf(w.OpenLabel(c, "Dr A", "Dr B")))
		refused(stage+": adjudicator opens A's labels", errOf(w.OpenLabel(c, "Dr S", "Dr A")))
		refused(stage+": a summary opens A's labels", errOf(w.OpenLabel(c, workspace.NoViewer, "Dr A")))
		if got := w.VisibleReaders(c, "Dr B"); len(got) != 1 || got[0] != "Dr B" {
			t.Errorf("%s: B sees the layers of %q", stage, got)
		}
		_, err := Open(w, c, "Dr B", Options{})
		refused(stage+": consensus session", err)
		ag, err := Agreement(w, lesion.Conn26)
		if err != nil || len(ag.Cases) != 0 || ag.Skipped["case-01"] == "" {
			t.Errorf("%s: agreement reports a blinded case: %+v %v", stage, ag, err)
		}
	}
	check("both reading")
	if l, err := w.OpenLabel(c, "Dr B", "Dr B"); err != nil || l.Count() != s.b.Count() {
		t.Fatalf("B cannot open their own labels: %v", err)
	}
	if _, err := w.OpenLabel(c, "Dr X", "Dr X"); err == nil {
		t.Error("a stranger opened labels")
	}
	if err := c.EditableBy("Dr A"); err != nil {
		t.Errorf("A cannot edit while reading: %v", err)
	}
	if err := c.Submit("Dr A"); err != nil {
		t.Fatal(err)
	}
	if err := c.EditableBy("Dr A"); err == nil {
		t.Error("A may edit after submitting")
	}
	check("A submitted")
	if err := c.Submit("Dr A"); err == nil {
		t.Error("A submitted twice")
	}
	// Blinding off: other readers' labels are visible, but no consensus
	// starts before both submitted.
	set := w.Settings()
	set.Blinding = false
	if err := w.SetSettings(set); err != nil {
		t.Fatal(err)
	}
	if l, err := w.OpenLabel(c, "Dr B", "Dr A"); err != nil || l.Count() != s.a.Count() {
		t.Errorf("blinding off: B cannot see A's labels: %v", err)
	}
	if _, err := Open(w, c, "Dr B", Options{}); err == nil {
		t.Error("blinding off: a consensus started before B submitted")
	}
	set.Blinding = true
	if err := w.SetSettings(set); err != nil {
		t.Fatal(err)
	}
	if err := c.Submit("Dr B"); err != nil {
		t.Fatal(err)
	}
	if l, err := w.OpenLabel(c, "Dr B", "Dr A"); err != nil || l.Count() != s.a.Count() {
		t.Errorf("both submitted: B cannot see A's labels: %v", err)
	}
	if got := w.VisibleReaders(c, "Dr B"); len(got) != 2 {
		t.Errorf("both submitted: B sees %q", got)
	}
}

func errOf[T any](_ T, err error) error { return err }

func TestSessionSeniorReviewFinaliseAndAudit(t *testing.T) {
	s := newScripted(t)
	s.inWorkspace(t)
	s.submitBoth(t)
	w, c := s.ws, s.c
	if _, err := Open(w, c, "Admin", Options{Readers: [2]string{"Dr A", "Dr A"}}); err == nil {
		t.Error("a session of a reader with themselves")
	}
	sess, err := Open(w, c, "Dr A", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Consensus() != workspace.ConsensusInProgress {
		t.Errorf("consensus state %s after opening", c.Consensus())
	}
	if a, b := sess.Readers(); a != "Dr A" || b != "Dr B" || len(sess.Items()) != 3 {
		t.Fatalf("readers %q %q, %d items", a, b, len(sess.Items()))
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := sess.Resolve("Admin", 1, Union, nil); err == nil {
		t.Error("an admin who is not a reader of the case resolved an item")
	}
	if err := sess.Resolve("Dr A", 4, Union, nil); err == nil {
		t.Error("resolved an item that does not exist")
	}
	if err := sess.Resolve("Dr A", 2, AcceptB, nil); err == nil {
		t.Error("accept-b on the A-only item")
	}
	must(sess.Resolve("Dr A", 1, Intersection, nil))
	must(sess.Resolve("Dr B", 1, Union, nil)) // B changes the decision
	must(sess.MarkSenior("Dr B", 2, "vessel or metastasis?"))
	must(sess.Resolve("Dr A", 3, Reject, nil))
	if err := sess.Resolve("Dr A", 2, AcceptA, nil); err == nil {
		t.Error("a reader resolved an item waiting for senior review")
	}
	if _, err := sess.Finalise("Dr A"); err == nil || !strings.Contains(err.Error(), "adjudicator") {
		t.Errorf("finalised with an item waiting for the adjudicator: %v", err)
	}
	if _, err := os.Stat(c.ConsensusPath()); !os.IsNotExist(err) {
		t.Error("a consensus label was written before the consensus was final")
	}
	// A restart: the decisions survive.
	sess, err = Open(w, c, "Dr S", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := sess.Decision(1); d.Resolution != Union || d.By != "Dr B" {
		t.Errorf("after reopening, item 1 is %+v", d)
	}
	if got := sess.PendingSenior(); len(got) != 1 || got[0] != 2 {
		t.Errorf("pending senior %v", got)
	}
	must(sess.Resolve("Dr S", 2, AcceptA, nil))
	if ids := sess.Adjudicated(); len(ids) != 1 || ids[0] != 2 {
		t.Errorf("adjudicated %v", ids)
	}
	out, err := sess.Finalise("Dr S")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{}
	for v := range s.a1 {
		want[v] = true
	}
	for v := range s.b1 {
		want[v] = true
	}
	for _, v := range s.les[1] {
		want[v] = true
	}
	sameSet(t, "final consensus", out, want)
	onDisk, err := nifti.ReadLabel(c.ConsensusPath())
	if err != nil {
		t.Fatal(err)
	}
	sameSet(t, "consensus.nii.gz", onDisk, want)
	if !onDisk.Grid.SameGeometry(s.a.Grid, 1e-3) {
		t.Error("the consensus is not on the T1c grid")
	}
	c, err = w.Case("case-01")
	if err != nil {
		t.Fatal(err)
	}
	if c.Consensus() != workspace.ConsensusAgreed || !c.ReadyForTraining() {
		t.Errorf("after finalising: consensus %s, ready %v", c.Consensus(), c.ReadyForTraining())
	}
	if err := sess.Resolve("Dr S", 1, Reject, nil); err == nil {
		t.Error("changed a decision after the consensus was final")
	}
	if err := c.EditableBy("Dr A"); err == nil {
		t.Error("a reader may edit labels after the consensus")
	}
	// A crash after the session was final but before the case was marked:
	// reopening completes the marking.
	if err := c.SetReadyForTraining("test", false); err != nil {
		t.Fatal(err)
	}
	if err := c.SetConsensus("test", workspace.ConsensusInProgress); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(w, c, "Dr A", Options{}); err != nil {
		t.Fatal(err)
	}
	if c.Consensus() != workspace.ConsensusAgreed || !c.ReadyForTraining() {
		t.Errorf("after recovery: consensus %s, ready %v", c.Consensus(), c.ReadyForTraining())
	}
	// Every decision is in the audit log with who and which lesion.
	log, err := c.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		who, action string
		item        float64
	}
	seen := map[key]bool{}
	for _, e := range log {
		item, _ := e.Details["item"].(float64)
		seen[key{e.Who, e.Action, item}] = true
		if strings.HasPrefix(e.Action, "consensus resolve") && e.Details["centroid_ras_mm"] == nil {
			t.Errorf("audit line without the lesion's position: %+v", e)
		}
	}
	for _, k := range []key{
		{"Dr A", "consensus opened", 0}, {"Dr A", "consensus resolve", 1}, {"Dr B", "consensus resolve", 1},
		{"Dr B", "consensus needs senior review", 2}, {"Dr A", "consensus resolve", 3},
		{"Dr S", "consensus resolve", 2}, {"Dr S", "consensus final", 0}, {"Dr S", "consensus", 0},
		{"Dr S", "ready for training", 0}, {"Dr A", "reader status", 0}, {"Dr B", "reader status", 0},
	} {
		if !seen[k] {
			t.Errorf("no audit line %+v", k)
		}
	}
	// Agreement over the workspace now counts the case and the adjudication.
	ag, err := Agreement(w, lesion.Conn26)
	if err != nil {
		t.Fatal(err)
	}
	if len(ag.Cases) != 1 || ag.CasesAdjudicated != 1 || ag.ItemsAdjudicated != 1 || ag.AdjudicatedFraction != 1 ||
		ag.AOnly != 1 || ag.BOnly != 1 || ag.Agreed != 1 || !ag.Cases[0].ConsensusFinal {
		t.Errorf("agreement %+v", ag)
	}
}

func TestSessionRefusesChangedLabels(t *testing.T) {
	s := newScripted(t)
	s.inWorkspace(t)
	s.submitBoth(t)
	if _, err := Open(s.ws, s.c, "Dr B", Options{}); err != nil {
		t.Fatal(err)
	}
	changed := s.a.Clone()
	changed.Data[s.les[2][0]] = 1
	if err := nifti.WriteLabel(s.c.LabelPath("Dr A"), changed); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(s.ws, s.c, "Dr B", Options{}); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("reopened on changed labels: %v", err)
	}
	// Only an adjudicator or admin resets; then the consensus starts on
	// the new labels (A's lesion 3 now overlaps B's: two agreed items).
	if err := Reset(s.ws, s.c, "Dr A", "corrected"); err == nil {
		t.Error("a reader reset the consensus")
	}
	if err := Reset(s.ws, s.c, "Dr S", "A corrected lesion 3"); err != nil {
		t.Fatal(err)
	}
	if s.c.Consensus() != workspace.ConsensusNotStarted {
		t.Errorf("after reset: %s", s.c.Consensus())
	}
	sess, err := Open(s.ws, s.c, "Dr B", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ag, ao, bo := sess.Comparison().Count(); ag != 2 || ao != 1 || bo != 0 {
		t.Errorf("after reset: %d agreed, %d A only, %d B only", ag, ao, bo)
	}
	if err := os.WriteFile(Path(s.c), []byte(`{"format":"metascope-consensus","version":1,"bogus":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(s.ws, s.c, "Dr B", Options{}); err == nil || !strings.Contains(err.Error(), SessionFile) {
		t.Errorf("a broken session file: %v", err)
	}
}

func TestRedrawThroughSession(t *testing.T) {
	s := newScripted(t)
	s.inWorkspace(t)
	s.submitBoth(t)
	sess, err := Open(s.ws, s.c, "Dr B", Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The live preview: undecided items shown as the union of both readers.
	pv, err := sess.Preview(Union)
	if err != nil {
		t.Fatal(err)
	}
	all := setOf(s.a)
	for v := range setOf(s.b) {
		all[v] = true
	}
	sameSet(t, "preview", pv, all)
	if _, err := sess.Preview(AcceptA); err == nil {
		t.Error("preview with accept-a for every item kind")
	}
	redraw := volume.NewLabel(s.a.Grid)
	truth1 := map[int]bool{}
	for _, v := range s.les[0] {
		redraw.Data[v], truth1[v] = 1, true
	}
	if err := sess.Resolve("Dr B", 1, Redraw, volume.NewLabel(s.a.Grid)); err == nil {
		t.Error("an empty redraw was accepted")
	}
	for id, r := range map[int]Resolution{2: Reject, 3: Reject} {
		if err := sess.Resolve("Dr A", id, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := sess.Resolve("Dr B", 1, Redraw, redraw); err != nil {
		t.Fatal(err)
	}
	// Reopen: the outline is read back from consensus.json.
	sess, err = Open(s.ws, s.c, "Dr A", Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Finalise("Dr A")
	if err != nil {
		t.Fatal(err)
	}
	sameSet(t, "redrawn consensus", out, truth1)
}

// TestTwoSessionsOneCase: two workstations on one case keep each other's
// decisions.
func TestTwoSessionsOneCase(t *testing.T) {
	s := newScripted(t)
	s.inWorkspace(t)
	s.submitBoth(t)
	sa, err := Open(s.ws, s.c, "Dr A", Options{})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Open(s.ws, s.c, "Dr B", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sa.Resolve("Dr A", 1, AcceptA, nil); err != nil {
		t.Fatal(err)
	}
	if err := sb.Resolve("Dr B", 2, Reject, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Staple("Dr B"); err != nil {
		t.Fatal(err)
	}
	if err := sa.Resolve("Dr A", 3, StapleOutline, nil); err != nil {
		t.Fatal(err)
	}
	if err := sb.Reload(); err != nil {
		t.Fatal(err)
	}
	if d := sb.Decision(3); d.Resolution != StapleOutline || d.By != "Dr A" {
		t.Errorf("B's session does not see A's decision after a reload: %+v", d)
	}
	out, err := sb.Finalise("Dr B")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{}
	for v := range s.a1 {
		want[v] = true
	}
	st, _ := sb.Staple("Dr B")
	for _, v := range s.les[2] {
		if st.Label.Data[v] != 0 {
			want[v] = true
		}
	}
	sameSet(t, "consensus of two sessions", out, want)
}

package app

import (
	"math"
	"os"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"metascope/inference"
	"metascope/lesion"
	"metascope/volume"
)

// writeCandidates puts three AI candidates into demo-01 the way 'metascope
// infer' does (inference.WriteCandidates): the label map, the probability
// map and the list, with fold agreement from three fold maps.
func writeCandidates(t *testing.T, dir string) (*volume.Label, []inference.Candidate) {
	t.Helper()
	_, c, ref := openDemoCase(t, dir)
	g := ref.Grid
	cand, prob := volume.NewLabel(g), volume.New(g)
	weak := volume.NewLabel(g) // a fold that found only the first candidate
	centres := [][3]int{{20, 30, 30}, {44, 40, 34}, {32, 52, 26}}
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			for i := 0; i < g.Dims[0]; i++ {
				for n, ce := range centres {
					d := sq(float64(i-ce[0])) + sq(float64(j-ce[1])) + sq(float64(k-ce[2]))
					if d <= 5 {
						cand.Set(i, j, k, 1)
						if n == 0 {
							weak.Set(i, j, k, 1)
						}
					}
					if p := float32(math.Exp(-d/8)) * float32(1-0.1*float64(n)); p > prob.At(i, j, k) {
						prob.Set(i, j, k, p)
					}
				}
			}
		}
	}
	cands := inference.Candidates(cand, prob, []*volume.Label{cand, cand, weak}, lesion.Conn26)
	if len(cands) != 3 {
		t.Fatalf("%d candidates, want 3", len(cands))
	}
	rep := inference.CandidateReport{Format: "metascope-candidates", Version: 1, Model: "demo", SyntheticData: true,
		Notice: inference.SyntheticNotice, Threshold: 0.5, Folds: 3, Dims: g.Dims, Affine: g.Affine, Candidates: cands}
	if err := inference.WriteCandidates(c.CandidatesDir(), rep, cand, prob); err != nil {
		t.Fatal(err)
	}
	return cand, cands
}

// labelsIn collects the text of every label under o.
func labelsIn(o fyne.CanvasObject) []string {
	var out []string
	switch x := o.(type) {
	case *widget.Label:
		out = append(out, x.Text)
	case *fyne.Container:
		for _, c := range x.Objects {
			out = append(out, labelsIn(c)...)
		}
	}
	return out
}

func aiLayer(w *Workstation) *layer {
	for _, l := range w.cd.layers {
		if l.kind == layerAILabel {
			return l
		}
	}
	return nil
}

func TestCandidateReviewAcceptIsOneUndoableEdit(t *testing.T) {
	dir := smallDemo(t)
	cand, _ := writeCandidates(t, dir)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	if len(w.rev.rows) != 3 {
		t.Fatalf("review lists %d candidates, want 3: %s", len(w.rev.rows), w.rev.head.Text)
	}
	if !strings.Contains(strings.Join(labelsIn(w.rev.tab.Content), "\n"), "Not a medical device; demo model trained on synthetic data") {
		t.Error("the candidate list does not carry the not-a-medical-device note")
	}
	for _, r := range w.rev.rows {
		// Every fold found the candidate at (20, 30, 30); one fold missed
		// the others.
		folds := "2/3 folds"
		if sq(float64(r.voxel[0]-20))+sq(float64(r.voxel[1]-30))+sq(float64(r.voxel[2]-30)) <= 5 {
			folds = "3/3 folds"
		}
		row := w.candText(r)
		if !strings.Contains(row, "max ") || !strings.Contains(row, "mean ") || !strings.Contains(row, folds) || !strings.Contains(row, "to review") {
			t.Errorf("row %q: want probabilities, %s, to review", row, folds)
		}
	}
	// Clicking a row jumps there; Y accepts exactly that candidate.
	w.rev.list.Select(1)
	at := w.Cursor()
	if cand.At(at[0], at[1], at[2]) == 0 {
		t.Fatalf("cursor %v is not on candidate 2", at)
	}
	labels, _ := lesion.Components(cand, lesion.Conn26)
	want := labels[cand.Index(at[0], at[1], at[2])]
	w.TypeRune('y')
	own := w.cd.session.Label()
	for i := range own.Data {
		if (own.Data[i] != 0) != (labels[i] == want) {
			t.Fatalf("voxel %d: reader label %d, candidate component %d (want only candidate %d)", i, own.Data[i], labels[i], want)
		}
	}
	if own.Count() != w.rev.rows[1].comp.Voxels || own.Count() == 0 {
		t.Errorf("accepted %d voxels, the candidate has %d", own.Count(), w.rev.rows[1].comp.Voxels)
	}
	if w.rev.rows[1].decision != candAccepted {
		t.Errorf("decision %q", w.rev.rows[1].decision)
	}
	// Undo takes it back out, and the list says so.
	w.Undo()
	if n := w.cd.session.Label().Count(); n != 0 {
		t.Errorf("after undo the reader's label has %d voxels", n)
	}
	if !strings.Contains(w.candText(w.rev.rows[1]), "undone") {
		t.Errorf("row after undo: %q", w.candText(w.rev.rows[1]))
	}
	log, err := w.cd.c.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range log {
		found = found || (e.Action == "ai candidate accepted" && e.Who == "Dr A")
	}
	if !found {
		t.Error("the accept is not in the audit log")
	}
}

func TestCandidateRejectPersists(t *testing.T) {
	dir := smallDemo(t)
	cand, _ := writeCandidates(t, dir)
	w := openStation(t, dir, Options{Reader: "Dr A"})
	w.rev.list.Select(2)
	at := w.Cursor()
	w.TypeRune('x')
	if w.rev.rows[2].decision != candRejected {
		t.Fatalf("decision %q after X", w.rev.rows[2].decision)
	}
	if l := aiLayer(w); l == nil || l.label.At(at[0], at[1], at[2]) != 0 || l.label.Count() != cand.Count()-w.rev.rows[2].comp.Voxels {
		t.Error("the rejected candidate still shows on the AI layer")
	}
	if w.cd.session.Label().Count() != 0 {
		t.Error("rejecting changed the reader's labels")
	}
	path := w.reviewPath("demo")
	w.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no review file: %v", err)
	}
	// Reopened: still rejected, still hidden; another reader's review is
	// their own.
	w = openStation(t, dir, Options{Reader: "Dr A"})
	if w.rev.rows[2].decision != candRejected || !strings.Contains(w.candText(w.rev.rows[2]), "rejected") {
		t.Errorf("after reopening, candidate 3 is %q", w.rev.rows[2].decision)
	}
	if l := aiLayer(w); l.label.At(at[0], at[1], at[2]) != 0 {
		t.Error("after reopening, the rejected candidate shows again")
	}
	w.Close()
	w = openStation(t, dir, Options{Reader: "Dr B"})
	defer w.Close()
	if w.rev.rows[2].decision != "" {
		t.Errorf("Dr B sees Dr A's review decision %q", w.rev.rows[2].decision)
	}
}

package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"metascope/inference"
	"metascope/internal/atomicfile"
	"metascope/lesion"
	"metascope/segedit"
	"metascope/volume"
)

// The AI review tab: every candidate lesion the model wrote into the case
// (candidates/<model>.nii.gz and the list candidates/<model>.json that
// inference.WriteCandidates writes) with its volume, probabilities and fold
// agreement. The reader accepts a candidate (it is added to their own
// labels through the editing session: one edit path, undoable) or rejects
// it (it disappears from the AI layer). Decisions are the reader's own
// work, so, like labels, they are kept per reader (blinding):
// candidates/<model>.review.<reader>.json, written atomically, and every
// decision goes into the case's audit log.

// reviewNote is the notice on the candidate list.
const reviewNote = "Not a medical device; demo model trained on synthetic data. Candidates are suggestions for a reader to check, never findings."

// Review decisions.
const (
	candAccepted = "accepted"
	candRejected = "rejected"
)

// reviewFile is candidates/<model>.review.<reader>.json.
type reviewFile struct {
	Format    string           `json:"format"` // "metascope-candidate-review"
	Version   int              `json:"version"`
	Model     string           `json:"model"`
	Reader    string           `json:"reader"`
	Decisions []reviewDecision `json:"decisions"`
}

// reviewDecision is one candidate's decision. Voxels and CentroidVoxel
// identify the candidate: a decision is applied only to a candidate that
// still matches them (a rerun of the model numbers candidates afresh).
type reviewDecision struct {
	Candidate     int        `json:"candidate"`
	Decision      string     `json:"decision"`
	At            time.Time  `json:"at"`
	Voxels        int        `json:"voxels"`
	CentroidVoxel [3]float64 `json:"centroid_voxel"`
}

const reviewFormat = "metascope-candidate-review"

// candRow is one candidate of the review list.
type candRow struct {
	model    string
	layer    *layer              // the model's AI label layer
	orig     *volume.Label       // the candidate map as read
	comp     inference.Candidate // from the list (or counted from the map)
	folds    int                 // the model's number of folds (0 unknown)
	voxel    [3]int              // the candidate voxel nearest its centroid
	decision string
	at       time.Time
}

// reviewUI is the AI review tab.
type reviewUI struct {
	tab    *container.TabItem
	head   *widget.Label
	list   *widget.List
	rows   []*candRow
	sel    int // index into rows, -1 for none
	accept *widget.Button
	reject *widget.Button
	next   *widget.Button
	prev   *widget.Button
}

const (
	actCandAccept = "AI review: accept the selected candidate into my labels"
	actCandReject = "AI review: reject the selected candidate"
	actCandNext   = "AI review: next candidate"
	actCandPrev   = "AI review: previous candidate"
)

func (w *Workstation) buildReviewPanel() fyne.CanvasObject {
	u := &w.rev
	u.sel = -1
	note := widget.NewLabel(reviewNote)
	note.Wrapping = fyne.TextWrapWord
	note.Importance = widget.WarningImportance
	note.TextStyle = fyne.TextStyle{Bold: true}
	u.head = widget.NewLabel("No AI candidates in this case (AI > Find candidates).")
	u.head.Wrapping = fyne.TextWrapWord
	u.list = widget.NewList(
		func() int { return len(w.rev.rows) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("#00  00.000 cm3  max 0.00 mean 0.00  0/0 folds\n    R 000 A 000 S 000  accepted, then undone")
			l.TextStyle = fyne.TextStyle{Monospace: true}
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(w.rev.rows) {
				return
			}
			r := w.rev.rows[id]
			l := o.(*widget.Label)
			l.SetText(w.candText(r))
			// Rejected candidates are greyed out.
			if r.decision == candRejected {
				l.Importance = widget.LowImportance
			} else {
				l.Importance = widget.MediumImportance
			}
			l.Refresh()
		},
	)
	u.list.OnSelected = func(id widget.ListItemID) {
		w.SelectCandidate(id)
		w.unfocus()
	}
	u.accept = widget.NewButton("Accept ("+w.keyFor(actCandAccept)+")", func() { w.AcceptSelectedCandidate(); w.unfocus() })
	u.accept.Importance = widget.HighImportance
	u.reject = widget.NewButton("Reject ("+w.keyFor(actCandReject)+")", func() { w.RejectSelectedCandidate(); w.unfocus() })
	u.reject.Importance = widget.DangerImportance
	u.prev = widget.NewButton("Previous ("+w.keyFor(actCandPrev)+")", func() { w.StepCandidate(-1); w.unfocus() })
	u.next = widget.NewButton("Next ("+w.keyFor(actCandNext)+")", func() { w.StepCandidate(1); w.unfocus() })
	w.refreshReviewButtons()
	top := container.NewVBox(note, u.head)
	bottom := container.NewGridWithColumns(2, u.accept, u.reject, u.prev, u.next)
	return container.NewBorder(top, bottom, nil, nil, u.list)
}

// candText is a candidate's line in the list.
func (w *Workstation) candText(r *candRow) string {
	c := r.comp
	prob := "max  –   mean  –  "
	if !math.IsNaN(c.MaxProb) && !math.IsNaN(c.MeanProb) {
		prob = fmt.Sprintf("max %.2f mean %.2f", c.MaxProb, c.MeanProb)
	}
	folds := "folds ?"
	if r.folds > 0 {
		folds = fmt.Sprintf("%d/%d folds", c.Folds, r.folds)
	}
	state := "to review"
	switch r.decision {
	case candAccepted:
		state = "accepted ✓"
		if w.cd != nil && w.cd.session != nil && w.cons.draft == nil && w.ownLabelAt(r.voxel) == 0 {
			state = "accepted, then undone"
		}
	case candRejected:
		state = "rejected ✗"
	}
	return fmt.Sprintf("#%-2d %6.3f cm3  %s  %s\n    %s  %s", c.ID, c.VolumeCM3, prob, folds, rasText(c.CentroidRAS), state)
}

func (w *Workstation) ownLabelAt(v [3]int) uint8 {
	if l := w.cd.own(); l != nil && l.label != nil {
		return l.label.At(v[0], v[1], v[2])
	}
	return 0
}

// refreshReview lists the candidates of the open case's AI layers with the
// reader's earlier decisions.
func (w *Workstation) refreshReview() {
	u := &w.rev
	if u.list == nil {
		return
	}
	u.rows, u.sel = nil, -1
	defer w.refreshReviewButtons()
	defer u.list.Refresh()
	u.list.UnselectAll()
	if w.cd == nil {
		u.head.SetText("No case open")
		return
	}
	var problems []string
	for _, l := range w.cd.layers {
		if l.kind != layerAILabel {
			continue
		}
		rows, err := w.candidateRows(l)
		if err != nil {
			problems = append(problems, err.Error())
		}
		u.rows = append(u.rows, rows...)
	}
	w.hideRejected()
	switch {
	case len(u.rows) == 0 && len(problems) == 0:
		u.head.SetText("No AI candidates in this case (AI > Find candidates).")
	default:
		n := map[string]int{}
		for _, r := range u.rows {
			n[r.decision]++
		}
		s := fmt.Sprintf("%d candidates: %d to review, %d accepted, %d rejected.", len(u.rows), n[""], n[candAccepted], n[candRejected])
		if err := w.editBlocked(); err != nil {
			s += " Your labels are read-only now (" + err.Error() + "): candidates can be rejected, not accepted."
		}
		if len(problems) > 0 {
			s += "\n" + strings.Join(problems, "\n")
		}
		u.head.SetText(s)
	}
}

// candidateRows reads one model's candidate list (or, without one, counts
// the candidates in its map) and the reader's decisions on them.
func (w *Workstation) candidateRows(l *layer) ([]*candRow, error) {
	model := strings.TrimPrefix(l.name, "AI ")
	dir := w.cd.c.CandidatesDir()
	orig := l.label.Clone()
	var list inference.CandidateReport
	listPath, _, _ := inference.CandidatePaths(dir, model)
	b, err := os.ReadFile(listPath)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("%s: bad candidate list: %w", listPath, err)
		}
		if list.Format != "metascope-candidates" {
			return nil, fmt.Errorf("%s: format %q, want metascope-candidates", listPath, list.Format)
		}
	case errors.Is(err, os.ErrNotExist):
		// Only the map: its components, without probabilities or folds.
		for _, c := range lesion.ComponentList(orig, lesion.Conn26) {
			c.MaxProb, c.MeanProb = math.NaN(), math.NaN()
			list.Candidates = append(list.Candidates, inference.Candidate{Component: c})
		}
	default:
		return nil, fmt.Errorf("%s: %w", listPath, err)
	}
	var rows []*candRow
	for _, c := range list.Candidates {
		v := nearestVoxel(orig, c.Component)
		if !orig.Grid.Contains(v[0], v[1], v[2]) || orig.At(v[0], v[1], v[2]) == 0 {
			return rows, fmt.Errorf("%s: candidate %d is not in %s.nii.gz (the list and the map disagree)", listPath, c.ID, model)
		}
		rows = append(rows, &candRow{model: model, layer: l, orig: orig, comp: c, folds: list.Folds, voxel: v})
	}
	rf, err := readReview(w.reviewPath(model))
	if err != nil {
		return rows, err
	}
	for _, d := range rf.Decisions {
		for _, r := range rows {
			if r.comp.ID == d.Candidate && r.comp.Voxels == d.Voxels && near(r.comp.CentroidVoxel, d.CentroidVoxel) {
				r.decision, r.at = d.Decision, d.At
			}
		}
	}
	return rows, nil
}

func near(a, b [3]float64) bool {
	return math.Abs(a[0]-b[0]) < 1e-3 && math.Abs(a[1]-b[1]) < 1e-3 && math.Abs(a[2]-b[2]) < 1e-3
}

func (w *Workstation) reviewPath(model string) string {
	return filepath.Join(w.cd.c.CandidatesDir(), model+".review."+w.reader+".json")
}

// readReview reads a review file; a missing one is an empty review.
func readReview(path string) (reviewFile, error) {
	var rf reviewFile
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return rf, nil
	}
	if err != nil {
		return rf, fmt.Errorf("%s: %w", path, err)
	}
	if err := json.Unmarshal(b, &rf); err != nil {
		return reviewFile{}, fmt.Errorf("%s: bad review file: %w", path, err)
	}
	if rf.Format != reviewFormat || rf.Version != 1 {
		return reviewFile{}, fmt.Errorf("%s: format %q version %d, want %s version 1", path, rf.Format, rf.Version, reviewFormat)
	}
	return rf, nil
}

// saveReview writes the reader's decisions on one model's candidates.
func (w *Workstation) saveReview(model string) error {
	rf := reviewFile{Format: reviewFormat, Version: 1, Model: model, Reader: w.reader, Decisions: []reviewDecision{}}
	for _, r := range w.rev.rows {
		if r.model != model || r.decision == "" {
			continue
		}
		rf.Decisions = append(rf.Decisions, reviewDecision{Candidate: r.comp.ID, Decision: r.decision, At: r.at,
			Voxels: r.comp.Voxels, CentroidVoxel: r.comp.CentroidVoxel})
	}
	sort.Slice(rf.Decisions, func(i, j int) bool { return rf.Decisions[i].Candidate < rf.Decisions[j].Candidate })
	b, err := json.MarshalIndent(rf, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(w.reviewPath(model), append(b, '\n'))
}

// hideRejected shows each AI layer without its rejected candidates.
func (w *Workstation) hideRejected() {
	byLayer := map[*layer][]*candRow{}
	for _, r := range w.rev.rows {
		byLayer[r.layer] = append(byLayer[r.layer], r)
	}
	for l, rows := range byLayer {
		shown := rows[0].orig
		var labels []int32
		for _, r := range rows {
			if r.decision != candRejected {
				continue
			}
			if labels == nil {
				labels, _ = lesion.Components(r.orig, lesion.Conn26)
				shown = r.orig.Clone()
			}
			id := labels[r.orig.Index(r.voxel[0], r.voxel[1], r.voxel[2])]
			for i, x := range labels {
				if x == id {
					shown.Data[i] = 0
				}
			}
		}
		l.label = shown
	}
}

// SelectCandidate selects row i and moves the crosshair into it.
func (w *Workstation) SelectCandidate(i int) {
	u := &w.rev
	if w.cd == nil || i < 0 || i >= len(u.rows) {
		return
	}
	u.sel = i
	w.focusOn(u.rows[i].voxel)
	w.refreshReviewButtons()
}

// StepCandidate selects the next (d = 1) or previous (d = -1) candidate.
func (w *Workstation) StepCandidate(d int) {
	u := &w.rev
	n := len(u.rows)
	if n == 0 {
		return
	}
	i := 0
	if u.sel >= 0 {
		i = ((u.sel+d)%n + n) % n
	}
	u.list.Select(i) // calls SelectCandidate
	if u.sel != i {
		w.SelectCandidate(i)
	}
}

func (w *Workstation) refreshReviewButtons() {
	u := &w.rev
	if u.accept == nil {
		return
	}
	have := u.sel >= 0 && u.sel < len(u.rows)
	setEnabled(u.accept, have && w.editBlocked() == nil && w.cons.draft == nil)
	setEnabled(u.reject, have && u.rows[max(u.sel, 0)].decision != candRejected)
	setEnabled(u.next, len(u.rows) > 0)
	setEnabled(u.prev, len(u.rows) > 0)
}

// refreshReviewRows redraws the list after an edit (an undone accept shows
// as such).
func (w *Workstation) refreshReviewRows() {
	if w.rev.list != nil {
		w.rev.list.Refresh()
		w.refreshReviewButtons()
	}
}

// AcceptSelectedCandidate adds the selected candidate to the reader's
// labels (through the session, so it is journalled and undoable) and
// records the decision.
func (w *Workstation) AcceptSelectedCandidate() {
	u := &w.rev
	if w.cd == nil || u.sel < 0 || u.sel >= len(u.rows) {
		return
	}
	if w.cons.draft != nil {
		w.ui.status.SetText("Finish the consensus outline first (Consensus tab).")
		return
	}
	if w.editLocked() {
		return
	}
	r := u.rows[u.sel]
	m, err := segedit.AcceptCandidateAt(w.cd.grid, r.orig, r.voxel, segedit.ModeAdd, w.editor.LabelValue)
	if err != nil {
		w.showError(err)
		return
	}
	w.applyModifier(m, nil)
	w.decideCandidate(r, candAccepted, map[string]any{"added_voxels": m.Count()})
}

// RejectSelectedCandidate records that the selected candidate is not a
// metastasis and hides it from the AI layer.
func (w *Workstation) RejectSelectedCandidate() {
	u := &w.rev
	if w.cd == nil || u.sel < 0 || u.sel >= len(u.rows) {
		return
	}
	w.decideCandidate(u.rows[u.sel], candRejected, nil)
}

func (w *Workstation) decideCandidate(r *candRow, decision string, extra map[string]any) {
	old, oldAt := r.decision, r.at
	r.decision, r.at = decision, time.Now().UTC()
	if err := w.saveReview(r.model); err != nil {
		r.decision, r.at = old, oldAt
		w.showError(fmt.Errorf("AI review: %w", err))
		return
	}
	det := map[string]any{
		"model": r.model, "candidate": r.comp.ID, "voxels": r.comp.Voxels, "cm3": r.comp.VolumeCM3,
		"centroid_ras_mm": r.comp.CentroidRAS, "previous": old,
	}
	if !math.IsNaN(r.comp.MaxProb) {
		det["max_prob"] = r.comp.MaxProb
	}
	for k, v := range extra {
		det[k] = v
	}
	if err := w.cd.c.Audit(w.reader, "ai candidate "+decision, det); err != nil {
		w.showError(err)
	}
	w.hideRejected()
	w.redraw()
	w.updateStatus(w.cursor)
	w.rev.list.Refresh()
	// Move on to the next candidate still to review.
	for k := 1; k <= len(w.rev.rows); k++ {
		i := (w.rev.sel + k) % len(w.rev.rows)
		if w.rev.rows[i].decision == "" {
			w.StepCandidate(i - w.rev.sel)
			break
		}
	}
	w.refreshReviewButtons()
	n := 0
	for _, x := range w.rev.rows {
		if x.decision == "" {
			n++
		}
	}
	w.rev.head.SetText(fmt.Sprintf("%d candidates, %d still to review. Candidate #%d %s.", len(w.rev.rows), n, r.comp.ID, decision))
}

package app

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"metascope/segedit"
	"metascope/segedit/consensus"
	"metascope/viewer"
	"metascope/volume"
	"metascope/workspace"
)

// The consensus tab: once every reader of a case has submitted, reader A,
// reader B or an adjudicator opens the case's consensus session
// (consensus.Open, which reads the readers' labels through the workspace's
// blinding check) and resolves every item of its list. Every decision goes
// through the session, which saves consensus.json and writes the audit log;
// this file only shows the session and turns clicks and keys into its calls.

// Overlay kinds the consensus adds to the open case's layers.
const (
	layerDisagreeA layerKind = iota + 20 // voxels only reader A marked (agreed items)
	layerDisagreeB                       // voxels only reader B marked
	layerPreview                         // the consensus of the decided items
)

// Colours of the disagreement view: orange and light blue, apart from the
// readers' own layer colours and from each other for red-green blindness.
var (
	colorAOnly   = color.NRGBA{R: 255, G: 140, B: 0, A: 255}
	colorBOnly   = color.NRGBA{R: 0, G: 215, B: 215, A: 255}
	colorPreview = color.NRGBA{R: 40, G: 220, B: 60, A: 255}
)

// redrawMargin is how far, in voxels, beyond an item's bounding box a
// redrawn outline may reach: the consensus readers may enlarge a lesion
// both outlined too small, but a stray stroke farther away never becomes
// part of this item (it may belong to another one).
const redrawMargin = 8

// consensusUI is the consensus tab and the session it shows.
type consensusUI struct {
	sess  *consensus.Session
	items []consensus.Item
	sel   int // ID of the selected item, 0 for none
	msg   string

	tabs        *container.AppTabs
	tab         *container.TabItem
	head        *widget.Label
	detail      *widget.Label
	list        *widget.List
	openBtn     *widget.Button
	actions     map[consensus.Resolution]*widget.Button
	redrawBtn   *widget.Button
	cancelDraw  *widget.Button
	seniorBtn   *widget.Button
	finaliseBtn *widget.Button

	// While a redrawn outline is drawn, the editor works on draft (a
	// segedit session of its own, journalled and undoable like any label)
	// and the reader's own session waits in own.
	draft     *segedit.Session
	draftItem int
	own       *segedit.Session
	ownName   string
	ownLook   layer // the own layer's display before drawing
}

// editBlocked says why the labels under the editor may not change (nil when
// they may): the reader's own labels are read-only once submitted or once
// the consensus is agreed; a consensus draft is always editable.
func (w *Workstation) editBlocked() error {
	if w.cd == nil {
		return errors.New("no case is open")
	}
	if w.cons.draft != nil {
		return nil
	}
	c := w.cd.c
	if _, assigned := c.ReaderStatuses()[w.reader]; !assigned && c.Consensus() != workspace.ConsensusNotStarted {
		// A first stroke would make this reader one of the case's readers,
		// who has not submitted, and blind everyone again mid-consensus.
		return fmt.Errorf("case %q: the consensus has begun; %q is not one of its readers and cannot start labelling it", c.Name(), w.reader)
	}
	return c.EditableBy(w.reader)
}

// editLocked reports whether editing is blocked, and says so in the status
// bar: a reader who submitted and tries to paint learns why nothing
// happens, and what to do.
func (w *Workstation) editLocked() bool {
	err := w.editBlocked()
	if err == nil {
		return false
	}
	msg := "Read-only: " + err.Error()
	if w.cd != nil && w.cd.c.ReaderStatus(w.reader) == workspace.Submitted && !w.cd.c.BlindingLifted() &&
		w.cd.c.Consensus() == workspace.ConsensusNotStarted {
		msg += " (Case > Reopen my labels to change them)"
	}
	w.ui.status.SetText(msg)
	return true
}

// reopenOwnLabels sets the reader's submitted labels back to in progress,
// but only while nobody can have seen them: once every reader has
// submitted, the others may have compared them, and the consensus is built
// on exactly what was submitted.
func (w *Workstation) reopenOwnLabels() {
	if w.cd == nil {
		return
	}
	c := w.cd.c
	if c.BlindingLifted() || c.Consensus() != workspace.ConsensusNotStarted {
		w.showError(fmt.Errorf("case %s: every reader has submitted; labels can no longer be reopened (an adjudicator can reset the consensus)", c.Name()))
		return
	}
	w.reopenLabels()
}

// sideTabs puts the layer and tool panel, the consensus and the AI review
// in tabs of the right panel.
func (w *Workstation) sideTabs(main fyne.CanvasObject) fyne.CanvasObject {
	w.cons.tab = container.NewTabItem("Consensus", w.buildConsensusPanel())
	w.rev.tab = container.NewTabItem("AI review", w.buildReviewPanel())
	w.cons.tabs = container.NewAppTabs(container.NewTabItem("Layers & tools", main), w.cons.tab, w.rev.tab)
	w.cons.tabs.OnSelected = func(t *container.TabItem) {
		if t == w.cons.tab && w.cons.sess != nil {
			// Decisions made meanwhile on another workstation.
			if err := w.cons.sess.Reload(); err != nil {
				w.consensusError(err)
			}
			w.cons.list.Refresh()
			w.refreshConsensusHead()
			w.refreshConsensusButtons()
		}
		w.unfocus()
	}
	return w.cons.tabs
}

func (w *Workstation) showTab(t *container.TabItem) {
	if w.cons.tabs != nil && t != nil {
		w.cons.tabs.Select(t)
	}
}

// Shortcut actions of the consensus, shared by the shortcut table and the
// buttons (whose captions show the keys).
const (
	actItemNext  = "Consensus: next item"
	actItemPrev  = "Consensus: previous item"
	actAcceptA   = "Consensus: accept reader A's outline"
	actAcceptB   = "Consensus: accept reader B's outline"
	actUnion     = "Consensus: union of both outlines"
	actIntersect = "Consensus: intersection of both outlines"
	actStaple    = "Consensus: STAPLE's proposed outline"
	actReject    = "Consensus: reject (not a metastasis)"
	actRedraw    = "Consensus: redraw the outline (again: use it)"
	actSenior    = "Consensus: mark needs senior review"
)

var resolutionActions = []struct {
	r     consensus.Resolution
	title string
	act   string
}{
	{consensus.AcceptA, "Accept A", actAcceptA},
	{consensus.AcceptB, "Accept B", actAcceptB},
	{consensus.Union, "Union", actUnion},
	{consensus.Intersection, "Intersection", actIntersect},
	{consensus.StapleOutline, "STAPLE", actStaple},
	{consensus.Reject, "Reject", actReject},
}

func (w *Workstation) buildConsensusPanel() fyne.CanvasObject {
	u := &w.cons
	u.head = widget.NewLabel("No case open")
	u.head.Wrapping = fyne.TextWrapWord
	u.detail = widget.NewLabel("")
	u.detail.Wrapping = fyne.TextWrapWord
	u.openBtn = widget.NewButton("Open the consensus", w.OpenConsensus)
	u.openBtn.Importance = widget.HighImportance
	u.list = widget.NewList(
		func() int { return len(w.cons.items) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("#00 agreed  Dice 0.00  A 00.000 B 00.000 cm3\nR 000 A 000 S 000  intersection ✓")
			l.TextStyle = fyne.TextStyle{Monospace: true}
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(w.cons.items) || w.cons.sess == nil {
				return
			}
			it := w.cons.items[id]
			l := o.(*widget.Label)
			l.SetText(itemRow(it, w.cons.sess.Decision(it.ID)))
		},
	)
	u.list.OnSelected = func(id widget.ListItemID) {
		if id < len(w.cons.items) {
			w.SelectItem(w.cons.items[id].ID)
		}
		w.unfocus()
	}
	u.actions = map[consensus.Resolution]*widget.Button{}
	grid := container.NewGridWithColumns(2)
	for _, ra := range resolutionActions {
		ra := ra
		b := widget.NewButton(ra.title+" ("+w.keyFor(ra.act)+")", func() { w.ResolveItem(ra.r); w.unfocus() })
		u.actions[ra.r] = b
		grid.Add(b)
	}
	u.redrawBtn = widget.NewButton("Redraw… ("+w.keyFor(actRedraw)+")", func() { w.RedrawItem(); w.unfocus() })
	u.cancelDraw = widget.NewButton("Cancel drawing", func() { w.finishDraft(false); w.unfocus() })
	u.cancelDraw.Hide()
	u.seniorBtn = widget.NewButton("Needs senior review… ("+w.keyFor(actSenior)+")", func() { w.seniorDialog(); w.unfocus() })
	u.finaliseBtn = widget.NewButton("Finalise consensus", func() { w.FinaliseConsensus(); w.unfocus() })
	u.finaliseBtn.Importance = widget.HighImportance
	grid.Add(u.redrawBtn)
	grid.Add(u.cancelDraw)
	bottom := container.NewVBox(u.detail, grid, u.seniorBtn, widget.NewSeparator(), u.finaliseBtn)
	top := container.NewVBox(u.head, u.openBtn)
	w.refreshConsensusButtons()
	return container.NewBorder(top, bottom, nil, nil, u.list)
}

// itemRow is an item's line in the list: kind, agreement, volumes,
// position and decision.
func itemRow(it consensus.Item, d consensus.Decision) string {
	var what string
	switch it.Kind {
	case consensus.Agreed:
		what = fmt.Sprintf("agreed  Dice %.2f  A %.3f B %.3f cm3", it.Dice, it.ACM3, it.BCM3)
	case consensus.AOnly:
		what = fmt.Sprintf("A only  A %.3f cm3", it.ACM3)
	case consensus.BOnly:
		what = fmt.Sprintf("B only  B %.3f cm3", it.BCM3)
	}
	return fmt.Sprintf("#%-2d %s\n    %s  %s", it.ID, what, rasText(it.CentroidRAS), decisionText(d))
}

// decisionText says where an item stands.
func decisionText(d consensus.Decision) string {
	switch {
	case d.PendingSenior():
		return "SENIOR REVIEW"
	case d.Resolved():
		s := d.Resolution.String() + " ✓"
		if d.Senior {
			s += " (adjudicated)"
		}
		return s
	}
	return "open"
}

// refreshConsensus shows the consensus state of the open case: the
// session when one exists (resumed from consensus.json), else whether one
// can start.
func (w *Workstation) refreshConsensus() {
	u := &w.cons
	u.sess, u.items, u.sel, u.msg = nil, nil, 0, ""
	if u.head == nil {
		return
	}
	defer w.refreshConsensusButtons()
	defer u.list.Refresh()
	if w.cd == nil {
		u.head.SetText("No case open")
		return
	}
	c := w.cd.c
	if !c.BlindingLifted() && c.Consensus() != workspace.ConsensusAgreed {
		u.head.SetText(fmt.Sprintf("The consensus opens once every reader has submitted (waiting for %s).", strings.Join(quoted(c.Pending()), ", ")))
		if len(c.ReaderStatuses()) < 2 {
			u.head.SetText("The consensus opens once two readers have read this case and submitted.")
		}
		return
	}
	if _, err := os.Stat(consensus.Path(c)); err == nil {
		w.openConsensus(false)
		return
	}
	u.head.SetText("Every reader has submitted: open the consensus to compare the readers' lesions (Case > Consensus…).")
}

func quoted(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "“" + n + "”"
	}
	return out
}

// OpenConsensus opens (or resumes) the open case's consensus session and
// shows its tab.
func (w *Workstation) OpenConsensus() { w.openConsensus(true) }

func (w *Workstation) openConsensus(asked bool) {
	u := &w.cons
	if w.cd == nil || u.head == nil {
		return
	}
	if u.sess == nil {
		s, err := consensus.Open(w.ws, w.cd.c, w.reader, consensus.Options{})
		if err != nil {
			u.head.SetText(err.Error())
			if asked {
				w.showError(err)
			}
			return
		}
		u.sess = s
		u.items = s.Items()
		w.refreshCases() // "consensus: in progress"
	}
	w.consensusOverlays()
	u.list.UnselectAll()
	u.list.Refresh()
	// Start where work waits: the adjudicator at the items flagged for
	// them, the readers at the first open item.
	first := append(u.sess.Open(), u.sess.PendingSenior()...)
	if w.isAdjudicator() {
		first = append(u.sess.PendingSenior(), u.sess.Open()...)
	}
	if len(first) == 0 && len(u.items) > 0 {
		first = []int{u.items[0].ID}
	}
	if len(first) > 0 {
		u.list.Select(first[0] - 1) // items are listed in ID order
		w.SelectItem(first[0])
	}
	w.refreshConsensusHead()
	w.refreshConsensusButtons()
	if asked {
		w.showTab(u.tab)
	}
}

// refreshConsensusHead sums the session up: readers, counts, what blocks
// finalising.
func (w *Workstation) refreshConsensusHead() {
	u := &w.cons
	s := u.sess
	if s == nil {
		return
	}
	a, b := s.Readers()
	agreed, aOnly, bOnly := s.Comparison().Count()
	var sb strings.Builder
	fmt.Fprintf(&sb, "A = %s, B = %s. Outlines of agreed lesions differ where orange (only A) or cyan (only B).\n", a, b)
	fmt.Fprintf(&sb, "%d items: %d agreed, %d A only, %d B only.\n", len(u.items), agreed, aOnly, bOnly)
	switch {
	case s.Final():
		sb.WriteString("Consensus final: the case is ready for training.")
	default:
		open, senior := s.Open(), s.PendingSenior()
		fmt.Fprintf(&sb, "%d open, %d waiting for senior review.", len(open), len(senior))
		if len(open)+len(senior) == 0 {
			sb.WriteString(" Every item is resolved: finalise.")
		}
	}
	if u.msg != "" {
		sb.WriteString("\n" + u.msg)
	}
	u.head.SetText(sb.String())
}

// consensusOverlays adds (or updates) the disagreement view and the
// preview of the decided items as layers of the open case.
func (w *Workstation) consensusOverlays() {
	s := w.cons.sess
	if w.cd == nil || s == nil {
		return
	}
	aOnly, bOnly := s.Comparison().Disagreement()
	a, b := s.Readers()
	// Reader A is orange and reader B cyan throughout the consensus: their
	// outlines and the voxels only one of them marked.
	for _, l := range w.cd.layers {
		switch {
		case (l.kind == layerReader && l.name == a) || (l.kind == layerOwn && w.reader == a):
			l.color = colorAOnly
		case (l.kind == layerReader && l.name == b) || (l.kind == layerOwn && w.reader == b):
			l.color = colorBOnly
		case l.kind == layerConsensus:
			l.color = colorPreview // green, as its preview was
		}
	}
	if own := w.cd.own(); own != nil && !w.hasLayer(layerDisagreeA) {
		// The reader's own labels as an outline, like the other reader's:
		// the disagreement fills and the image inside stay readable.
		own.outline = true
	}
	w.setLayer(layerDisagreeA, "Only "+a+" (A)", aOnly, colorAOnly, 0.75, false)
	w.setLayer(layerDisagreeB, "Only "+b+" (B)", bOnly, colorBOnly, 0.75, false)
	if !s.Final() {
		// The consensus as decided so far: unresolved items left out.
		if p, err := s.Preview(consensus.Reject); err == nil {
			w.setLayer(layerPreview, "Consensus preview (decided items)", p, colorPreview, 1, true)
		} else {
			fyne.LogError("consensus preview", err)
		}
	}
	w.refreshLayers()
	w.redraw()
	w.updateStatus(w.cursor)
}

func (w *Workstation) hasLayer(k layerKind) bool {
	for _, x := range w.cd.layers {
		if x.kind == k {
			return true
		}
	}
	return false
}

// setLayer replaces the label of the layer of kind k, or adds one on top.
func (w *Workstation) setLayer(k layerKind, name string, l *volume.Label, c color.NRGBA, opacity float64, outline bool) {
	for _, x := range w.cd.layers {
		if x.kind == k {
			x.label, x.name = l, name
			return
		}
	}
	nl := &layer{name: name, kind: k, label: l, color: c, opacity: opacity, visible: true, outline: outline}
	if outline {
		w.cd.layers = append(w.cd.layers, nl) // outlines on top
		return
	}
	// Fills go just above the reader's own layer, under every outline, so
	// that the readers' outlines stay visible on the disagreement.
	var table *layer
	if w.lesionLayer < len(w.cd.layers) {
		table = w.cd.layers[w.lesionLayer]
	}
	at := len(w.cd.layers)
	for i, x := range w.cd.layers {
		if x.kind == layerOwn || x.kind == layerDisagreeA || x.kind == layerDisagreeB {
			at = i + 1
		}
	}
	w.cd.layers = append(w.cd.layers[:at], append([]*layer{nl}, w.cd.layers[at:]...)...)
	for i, x := range w.cd.layers {
		if x == table {
			w.lesionLayer = i
		}
	}
}

// SelectItem selects item id and moves the crosshair into it.
func (w *Workstation) SelectItem(id int) {
	u := &w.cons
	if u.sess == nil || w.cd == nil {
		return
	}
	it, ok := u.sess.Comparison().Item(id)
	if !ok {
		return
	}
	u.sel = id
	w.focusOn(itemVoxel(u.sess.Comparison(), it))
	w.refreshConsensusButtons()
}

// reviewZoom is the zoom the views take to show an item or a candidate:
// lesions of a few millimetres are a handful of pixels at the full-head
// zoom.
const reviewZoom = 2.5

// focusOn moves the crosshair to v and zooms every plane in on it (when
// not zoomed in already), centred.
func (w *Workstation) focusOn(v [3]int) {
	if w.cd == nil {
		return
	}
	for p := range w.zoom {
		w.zoom[p] = math.Max(w.zoom[p], reviewZoom)
	}
	for _, row := range w.slots {
		for _, sl := range row {
			sz := sl.sv.Size()
			if sz.Width > 0 {
				c := viewer.CentreOn(w.viewOf(sl), w.cd.grid, float64(sz.Width), float64(sz.Height), v)
				w.pan[sl.plane] = c.Pan
			}
		}
	}
	w.SetCursor(v)
}

// StepItem selects the next (d = 1) or previous (d = -1) item.
func (w *Workstation) StepItem(d int) {
	u := &w.cons
	n := len(u.items)
	if u.sess == nil || n == 0 {
		return
	}
	i := 0
	for k, it := range u.items {
		if it.ID == u.sel {
			i = ((k+d)%n + n) % n
		}
	}
	u.list.Select(i) // calls SelectItem
}

// itemVoxel is the voxel of item it nearest its centroid (the centroid
// itself may lie outside a ring-shaped lesion).
func itemVoxel(cmp *consensus.Comparison, it consensus.Item) [3]int {
	best := [3]int{int(math.Round(it.CentroidVoxel[0])), int(math.Round(it.CentroidVoxel[1])), int(math.Round(it.CentroidVoxel[2]))}
	if cmp.ItemAt(best[0], best[1], best[2]) == it.ID {
		return best
	}
	bd := math.Inf(1)
	for k := it.BBoxMin[2]; k <= it.BBoxMax[2]; k++ {
		for j := it.BBoxMin[1]; j <= it.BBoxMax[1]; j++ {
			for i := it.BBoxMin[0]; i <= it.BBoxMax[0]; i++ {
				if cmp.ItemAt(i, j, k) != it.ID {
					continue
				}
				d := sq(float64(i)-it.CentroidVoxel[0]) + sq(float64(j)-it.CentroidVoxel[1]) + sq(float64(k)-it.CentroidVoxel[2])
				if d < bd {
					bd, best = d, [3]int{i, j, k}
				}
			}
		}
	}
	return best
}

// isAdjudicator says whether the current reader has the adjudicator role.
func (w *Workstation) isAdjudicator() bool {
	r, ok := w.ws.Reader(w.reader)
	return ok && r.Role == workspace.RoleAdjudicator
}

// refreshConsensusButtons enables what the selected item and the
// session allow, and describes the item.
func (w *Workstation) refreshConsensusButtons() {
	u := &w.cons
	if u.finaliseBtn == nil {
		return
	}
	s := u.sess
	it, have := consensus.Item{}, false
	if s != nil && u.sel > 0 {
		it, have = s.Comparison().Item(u.sel)
	}
	d := consensus.Decision{}
	if have {
		d = s.Decision(it.ID)
	}
	final := s != nil && s.Final()
	// A flagged item waits for the adjudicator: the readers cannot
	// resolve it any more.
	blocked := d.PendingSenior() && !w.isAdjudicator()
	can := have && !final && !blocked
	for r, b := range u.actions {
		if can && r.Applicable(it.Kind) == nil {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	setEnabled(u.redrawBtn, can || u.draft != nil)
	setEnabled(u.seniorBtn, have && !final && !d.PendingSenior())
	setEnabled(u.finaliseBtn, s != nil && s.CanFinalise() == nil)
	if s == nil && w.cd != nil && (w.cd.c.BlindingLifted() || w.cd.c.Consensus() == workspace.ConsensusAgreed) {
		u.openBtn.Show()
	} else {
		u.openBtn.Hide()
	}
	if u.draft != nil {
		u.redrawBtn.SetText(fmt.Sprintf("Use drawn outline for #%d (%s)", u.draftItem, w.keyFor(actRedraw)))
		u.cancelDraw.Show()
	} else {
		u.redrawBtn.SetText("Redraw… (" + w.keyFor(actRedraw) + ")")
		u.cancelDraw.Hide()
	}
	if !have {
		u.detail.SetText("")
		return
	}
	a, b := s.Readers()
	var sb strings.Builder
	fmt.Fprintf(&sb, "Item #%d: %s", it.ID, map[consensus.Kind]string{
		consensus.Agreed: fmt.Sprintf("both readers (Dice %.2f; %s %.3f cm3, %s %.3f cm3)", it.Dice, a, it.ACM3, b, it.BCM3),
		consensus.AOnly:  fmt.Sprintf("only %s (A), %.3f cm3", a, it.ACM3),
		consensus.BOnly:  fmt.Sprintf("only %s (B), %.3f cm3", b, it.BCM3),
	}[it.Kind])
	fmt.Fprintf(&sb, "\nDecision: %s", decisionText(d))
	if d.Resolved() {
		fmt.Fprintf(&sb, " by %s", d.By)
	}
	if d.Senior {
		fmt.Fprintf(&sb, "\nFlagged for senior review by %s", d.SeniorBy)
		if d.Note != "" {
			fmt.Fprintf(&sb, ": “%s”", d.Note)
		}
		if blocked {
			sb.WriteString("\nOnly an adjudicator can resolve it.")
		}
	}
	u.detail.SetText(sb.String())
}

func setEnabled(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// decided refreshes everything a decision changes and moves on to the
// next open item.
func (w *Workstation) decided(advance bool) {
	u := &w.cons
	u.list.Refresh()
	w.consensusOverlays()
	if advance {
		for _, id := range u.sess.Open() {
			if id > u.sel {
				w.SelectItem(id)
				u.list.Select(id - 1)
				break
			}
		}
	}
	w.refreshConsensusHead()
	w.refreshConsensusButtons()
}

// consensusError shows a refused decision in the tab (a dialog would
// interrupt the keyboard flow) and in the status bar.
func (w *Workstation) consensusError(err error) {
	w.cons.msg = err.Error()
	w.ui.status.SetText(err.Error())
	w.refreshConsensusHead()
}

// ResolveItem decides the selected item with r (not Redraw: RedrawItem).
func (w *Workstation) ResolveItem(r consensus.Resolution) {
	u := &w.cons
	if u.sess == nil || u.sel == 0 {
		return
	}
	u.msg = ""
	if r == consensus.StapleOutline {
		st, err := u.sess.Staple(w.reader)
		if err != nil {
			w.consensusError(err)
			return
		}
		a, b := u.sess.Readers()
		u.msg = fmt.Sprintf("STAPLE: %s sensitivity %.3f specificity %.4f; %s sensitivity %.3f specificity %.4f",
			a, st.Sensitivity[0], st.Specificity[0], b, st.Sensitivity[1], st.Specificity[1])
	}
	if err := u.sess.Resolve(w.reader, u.sel, r, nil); err != nil {
		w.consensusError(err)
		return
	}
	w.decided(true)
}

// RedrawItem starts drawing a new outline for the selected item or, while
// one is drawn, resolves its item with it.
//
// The outline is drawn with the ordinary tools in a draft label of its own
// (<case>/consensus-draft/<reader>-item<N>.nii.gz, a segedit session: every
// stroke journalled and undoable), never in the reader's submitted labels,
// which stay read-only. The draft starts as the union of both readers'
// outlines of the item. The redrawn outline is the draft's voxels inside
// the item's bounding box grown by redrawMargin voxels.
func (w *Workstation) RedrawItem() {
	u := &w.cons
	if w.cd == nil || u.sess == nil {
		return
	}
	if u.draft != nil {
		w.finishDraft(true)
		return
	}
	if u.sel == 0 {
		return
	}
	if d := u.sess.Decision(u.sel); (d.PendingSenior() && !w.isAdjudicator()) || u.sess.Final() {
		w.consensusError(fmt.Errorf("item %d cannot be redrawn by %s now", u.sel, w.reader))
		return
	}
	if err := w.startDraft(u.sel); err != nil {
		w.consensusError(err)
	}
}

func (w *Workstation) draftPath(id int) string {
	return filepath.Join(w.cd.c.Dir(), "consensus-draft", fmt.Sprintf("%s-item%d.nii.gz", w.reader, id))
}

func (w *Workstation) startDraft(id int) error {
	u := &w.cons
	p := w.draftPath(id)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	d, err := segedit.OpenSession(segedit.SessionOptions{LabelPath: p, Reader: w.reader, Grid: w.cd.grid})
	if err != nil {
		return err
	}
	if d.Label().Count() == 0 {
		// Start from both readers' outlines of the item.
		il := u.sess.Comparison().ItemLabel(id)
		mask := make([]bool, len(il.Data))
		for i, v := range il.Data {
			mask[i] = v != 0
		}
		m, err := segedit.FromMask(w.cd.grid, mask, segedit.ModeAdd, 1)
		if err == nil {
			_, err = d.Apply(m)
		}
		if err != nil {
			_ = d.Close()
			return err
		}
	}
	u.draft, u.draftItem, u.own = d, id, w.cd.session
	w.cd.session = d
	if l := w.cd.own(); l != nil {
		// The draft is shown filled, and the disagreement fills (which
		// would cover it) are hidden while drawing.
		u.ownName, u.ownLook = l.name, *l
		l.label, l.name, l.visible, l.outline = d.Label(), fmt.Sprintf("Consensus outline #%d (drawing)", id), true, false
		l.opacity = math.Max(l.opacity, 0.5)
		w.showFills(false)
	}
	u.msg = fmt.Sprintf("Draw the outline of item #%d with the brush and eraser, then press “Use drawn outline”.", id)
	w.SetTool(keyBrush)
	w.afterDraftSwap()
	return nil
}

// finishDraft ends drawing; with use, the drawn outline resolves the item.
func (w *Workstation) finishDraft(use bool) {
	u := &w.cons
	if u.draft == nil {
		return
	}
	if use && u.sess != nil {
		it, _ := u.sess.Comparison().Item(u.draftItem)
		mask := redrawMask(u.draft.Label(), it)
		if err := u.sess.Resolve(w.reader, u.draftItem, consensus.Redraw, mask); err != nil {
			w.consensusError(err)
			return // keep drawing
		}
	}
	w.endDraft()
	if w.cd != nil {
		w.SetTool(keyNavigate)
		w.afterDraftSwap()
	}
	if use && u.sess != nil {
		u.msg = ""
		w.decided(true)
	}
}

// endDraft closes the draft session and gives the editor back the
// reader's own labels.
func (w *Workstation) endDraft() {
	u := &w.cons
	if u.draft == nil {
		return
	}
	if u.draft.StrokeActive() {
		u.draft.CancelStroke()
	}
	if err := u.draft.Close(); err != nil {
		fyne.LogError("consensus draft", err)
	}
	if w.cd != nil {
		w.cd.session = u.own
		if l := w.cd.own(); l != nil {
			l.label, l.name = u.own.Label(), u.ownName
			l.visible, l.outline, l.opacity = u.ownLook.visible, u.ownLook.outline, u.ownLook.opacity
			w.showFills(true)
		}
	}
	u.draft, u.own, u.draftItem = nil, nil, 0
}

// showFills shows or hides the disagreement layers.
func (w *Workstation) showFills(on bool) {
	for _, l := range w.cd.layers {
		if l.kind == layerDisagreeA || l.kind == layerDisagreeB {
			l.visible = on
		}
	}
}

func (w *Workstation) afterDraftSwap() {
	w.refreshLayers()
	w.refreshLesions()
	w.applyTool()
	w.refreshUndo()
	w.refreshConsensusHead()
	w.refreshConsensusButtons()
	w.redraw()
}

// endConsensus closes the tab's session state before the case closes.
func (w *Workstation) endConsensus() {
	w.endDraft()
	w.cons.sess, w.cons.items, w.cons.sel = nil, nil, 0
}

// redrawMask keeps the draft's voxels inside item it's bounding box grown
// by redrawMargin.
func redrawMask(draft *volume.Label, it consensus.Item) *volume.Label {
	out := volume.NewLabel(draft.Grid)
	var lo, hi [3]int
	for a := 0; a < 3; a++ {
		lo[a] = max(it.BBoxMin[a]-redrawMargin, 0)
		hi[a] = min(it.BBoxMax[a]+redrawMargin, draft.Dims[a]-1)
	}
	for k := lo[2]; k <= hi[2]; k++ {
		for j := lo[1]; j <= hi[1]; j++ {
			for i := lo[0]; i <= hi[0]; i++ {
				if v := draft.At(i, j, k); v != 0 {
					out.Set(i, j, k, 1)
				}
			}
		}
	}
	return out
}

// MarkSenior flags the selected item for the adjudicator, with a note.
func (w *Workstation) MarkSenior(note string) {
	u := &w.cons
	if u.sess == nil || u.sel == 0 {
		return
	}
	u.msg = ""
	if err := u.sess.MarkSenior(w.reader, u.sel, note); err != nil {
		w.consensusError(err)
		return
	}
	w.decided(true)
}

func (w *Workstation) seniorDialog() {
	if w.cons.sess == nil || w.cons.sel == 0 {
		return
	}
	note := widget.NewMultiLineEntry()
	note.SetPlaceHolder("Why the senior neuroradiologist should look (shown to the adjudicator)")
	id := w.cons.sel
	d := dialog.NewForm(fmt.Sprintf("Item #%d needs senior review", id), "Flag", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("Note", note)}, func(ok bool) {
			if ok && w.cons.sel == id {
				w.MarkSenior(strings.TrimSpace(note.Text))
			}
		}, w.win)
	d.Resize(fyne.NewSize(520, 240))
	d.Show()
}

// FinaliseConsensus writes the consensus label and marks the case ready
// for training, then reopens the case to show the consensus layer.
func (w *Workstation) FinaliseConsensus() {
	u := &w.cons
	if u.sess == nil || w.cd == nil {
		return
	}
	if _, err := u.sess.Finalise(w.reader); err != nil {
		w.consensusError(err)
		return
	}
	w.refreshCases()
	w.reloadCase()
}

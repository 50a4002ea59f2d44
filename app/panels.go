package app

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"metascope/job"
	"metascope/lesion"
	"metascope/viewer"
	"metascope/volume"
	"metascope/workspace"
)

// aiDisclaimer is shown wherever AI results appear.
const aiDisclaimer = "AI candidates: not a medical device; demo model trained on synthetic data."

// build makes the window's content: toolbar, case list, view grid, right
// panel and status bar, after DESIGN.md's sketch.
func (w *Workstation) build() {
	w.ui.toolButtons = map[segToolKey]*widget.Button{}
	w.ui.status = widget.NewLabel("No case open")
	w.ui.status.TextStyle = fyne.TextStyle{Monospace: true}
	w.ui.status.Truncation = fyne.TextTruncateEllipsis
	w.ui.readerTop = widget.NewLabel("")
	w.ui.readerTop.TextStyle = fyne.TextStyle{Bold: true}
	w.ui.readerBot = widget.NewLabel("")
	w.ui.readerBot.TextStyle = fyne.TextStyle{Bold: true}
	w.ui.loadBar = widget.NewProgressBarInfinite()
	w.ui.loadBar.Hide()
	w.ui.loadLabel = widget.NewLabel("")
	w.ui.loadLabel.Hide()
	w.ui.infoText = widget.NewLabel("")
	w.ui.infoText.Wrapping = fyne.TextWrapWord
	w.ui.centre = container.NewStack()
	w.buildSlots()

	left := w.buildCaseList()
	right := w.buildRightPanel()
	top := w.buildToolbar()
	bottom := container.NewBorder(nil, nil, w.ui.readerBot,
		container.NewHBox(w.ui.loadLabel, container.NewGridWrap(fyne.NewSize(120, w.ui.loadBar.MinSize().Height), w.ui.loadBar), w.jobs.box),
		w.ui.status)

	centre := container.NewBorder(nil, nil, nil, nil, w.ui.centre)
	split := container.NewHSplit(centre, right)
	split.Offset = 0.76
	main := container.NewHSplit(left, split)
	main.Offset = 0.14
	w.win.SetContent(container.NewBorder(top, bottom, nil, nil, main))
	w.win.SetMainMenu(w.buildMenu())
	w.installShortcuts()
	w.win.Resize(fyne.NewSize(1600, 1000))
	w.clearViews()
	w.SetLayout(w.layout)
	w.refreshReader()
	w.refreshTools()
}

func (w *Workstation) buildToolbar() fyne.CanvasObject {
	open := widget.NewButtonWithIcon("Open", theme.FolderOpenIcon(), w.openWorkspaceDialog)
	imp := widget.NewButtonWithIcon("Import", theme.ContentAddIcon(), w.importDialog)
	// One button per layout: switching is one click (or one key).
	layouts := container.NewHBox()
	w.ui.layoutButtons = map[Layout]*widget.Button{}
	for _, l := range Layouts {
		l := l
		b := widget.NewButton(l.Short(), func() { w.SetLayout(l) })
		w.ui.layoutButtons[l] = b
		layouts.Add(b)
	}
	icons := map[segToolKey]fyne.Resource{
		keyNavigate: theme.NavigateNextIcon(), keyBrush: theme.DocumentCreateIcon(),
		keyEraser: theme.ContentRemoveIcon(), keyThreshold: theme.ColorPaletteIcon(),
		keyFill: theme.ColorChromaticIcon(), keyDelete: theme.DeleteIcon(),
	}
	tools := container.NewHBox()
	for _, k := range toolKeys {
		k := k
		b := widget.NewButtonWithIcon(k.String()+" ("+w.keyFor(toolAction(k))+")", icons[k], func() { w.SetTool(k) })
		w.ui.toolButtons[k] = b
		tools.Add(b)
	}
	undo := widget.NewButtonWithIcon("Undo", theme.ContentUndoIcon(), w.Undo)
	redo := widget.NewButtonWithIcon("Redo", theme.ContentRedoIcon(), w.Redo)
	w.ui.undo, w.ui.redo = undo, redo
	ai := widget.NewButtonWithIcon("AI (G)", theme.ConfirmIcon(), func() { w.AcceptCandidate(false) })
	bar := container.NewHBox(open, imp, widget.NewSeparator(), layouts, widget.NewSeparator(),
		tools, widget.NewSeparator(), undo, redo, widget.NewSeparator(), ai)
	return container.NewBorder(nil, widget.NewSeparator(), nil, w.ui.readerTop, container.NewHScroll(bar))
}

func (w *Workstation) buildMenu() *fyne.MainMenu {
	file := fyne.NewMenu("File",
		fyne.NewMenuItem("Open workspace…", w.openWorkspaceDialog),
		fyne.NewMenuItem("Import case…", w.importDialog),
		fyne.NewMenuItem("Switch reader…", w.switchReaderDialog),
		fyne.NewMenuItem("Save now (Ctrl+S)", w.checkpoint),
	)
	caseMenu := fyne.NewMenu("Case",
		fyne.NewMenuItem("Next case", func() { w.stepCase(1) }),
		fyne.NewMenuItem("Previous case", func() { w.stepCase(-1) }),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Align sequences (preprocess)…", w.AlignSequences),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Submit my labels", w.submit),
		fyne.NewMenuItem("Reopen my labels (in progress)", w.reopenLabels),
	)
	var layoutItems []*fyne.MenuItem
	for _, l := range Layouts {
		l := l
		layoutItems = append(layoutItems, fyne.NewMenuItem("Layout: "+l.String(), func() { w.SetLayout(l) }))
	}
	view := fyne.NewMenu("View", append(layoutItems,
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Radiological / neurological (R)", w.ToggleOrientation),
		fyne.NewMenuItem("Reset zoom (Home)", w.ResetZoom),
		fyne.NewMenuItem("Next window preset (W)", w.CyclePreset),
		fyne.NewMenuItem("Auto window, all sequences (0)", w.AutoWindowAll),
	)...)
	var toolItems []*fyne.MenuItem
	for _, k := range toolKeys {
		k := k
		toolItems = append(toolItems, fyne.NewMenuItem(k.Long()+" ("+w.keyFor(toolAction(k))+")", func() { w.SetTool(k) }))
	}
	tools := fyne.NewMenu("Tools", append(toolItems,
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Fill holes (H)", w.FillHoles),
		fyne.NewMenuItem("Interpolate between slices (I)", w.Interpolate),
		fyne.NewMenuItem("Undo (Ctrl+Z)", w.Undo),
		fyne.NewMenuItem("Redo (Ctrl+Y)", w.Redo),
	)...)
	ai := fyne.NewMenu("AI",
		fyne.NewMenuItem("Find candidates in this case…", w.FindCandidates),
		fyne.NewMenuItem("Reload candidates", w.reloadCase),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Accept candidate under cursor (G)", func() { w.AcceptCandidate(false) }),
		fyne.NewMenuItem("Accept all candidates", func() { w.AcceptCandidate(true) }),
		fyne.NewMenuItem("About the AI model…", func() {
			w.info("AI candidates", aiDisclaimer+"\n\nCandidates are made with 'metascope infer' and appear as layers of the case.")
		}),
	)
	help := fyne.NewMenu("Help",
		fyne.NewMenuItem("Keyboard shortcuts (F1)", w.ShowHelp),
		fyne.NewMenuItem("About Metascope", func() {
			w.info("About Metascope", "Metascope: brain metastases on multiparametric MRI.\nNot a medical device.\n\n"+aiDisclaimer)
		}),
	)
	return fyne.NewMainMenu(file, caseMenu, view, tools, ai, help)
}

// ---- case list ----

func (w *Workstation) buildCaseList() fyne.CanvasObject {
	w.ui.caseSel = -1
	w.ui.caseList = widget.NewList(
		func() int { return len(w.ui.caseNames) },
		func() fyne.CanvasObject { return caseRow("case", "status") },
		func(id widget.ListItemID, o fyne.CanvasObject) {
			box := o.(*fyne.Container)
			box.Objects[0].(*widget.Label).SetText(w.ui.caseNames[id])
			box.Objects[1].(*widget.Label).SetText(w.ui.caseInfo[id])
		},
	)
	w.ui.caseList.OnSelected = func(id widget.ListItemID) {
		if id == w.ui.caseSel {
			return
		}
		w.ui.caseSel = id
		if id >= 0 && id < len(w.ui.caseNames) {
			name := w.ui.caseNames[id]
			if (w.cd == nil || w.cd.c.Name() != name) && w.loading != name {
				w.OpenCase(name)
			}
		}
		w.unfocus()
	}
	title := widget.NewLabelWithStyle("Cases", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	return container.NewBorder(title, nil, nil, nil, w.ui.caseList)
}

// caseRow is one entry of the case list: the name and its status lines.
func caseRow(name, info string) *fyne.Container {
	n := widget.NewLabel(name)
	n.TextStyle = fyne.TextStyle{Bold: true}
	i := widget.NewLabel(info)
	i.SizeName = theme.SizeNameCaptionText
	return container.New(&tightVBox{}, n, i)
}

// tightVBox stacks objects without padding, so a case's status sits
// under its name.
type tightVBox struct{}

func (tightVBox) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for i, o := range objs {
		m := o.MinSize()
		s.Width = max(s.Width, m.Width)
		s.Height += m.Height
		if i > 0 {
			s.Height -= theme.Padding() * 2
		}
	}
	return s
}

func (tightVBox) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	y := float32(0)
	for i, o := range objs {
		h := o.MinSize().Height
		if i > 0 {
			y -= theme.Padding() * 2
		}
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, h))
		y += h
	}
}

// caseSummary is the status line of a case in the list: each reader, the
// consensus and whether it is ready for training.
func caseSummary(c *workspace.Case, readers []workspace.Reader) string {
	st := c.ReaderStatuses()
	names := make([]string, 0, len(st))
	for _, r := range readers {
		if _, ok := st[r.Name]; !ok && r.Role == workspace.RoleReader {
			names = append(names, r.Name)
		}
	}
	for n := range st {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := []string{}
	for _, n := range names {
		word := map[workspace.ReaderStatus]string{workspace.NotStarted: "not started", workspace.InProgress: "in progress", workspace.Submitted: "submitted ✓"}[st[n]]
		parts = append(parts, n+": "+word)
	}
	if len(parts) == 0 {
		parts = append(parts, "new")
	}
	switch c.Consensus() {
	case workspace.ConsensusInProgress:
		parts = append(parts, "consensus: in progress")
	case workspace.ConsensusAgreed:
		parts = append(parts, "consensus: agreed ✓")
	}
	if c.ReadyForTraining() {
		parts = append(parts, "ready for training ✓")
	}
	return strings.Join(parts, "\n")
}

// refreshCases rereads the workspace's case list.
func (w *Workstation) refreshCases() {
	cases, err := w.ws.Cases()
	if err != nil {
		w.showError(err)
		return
	}
	w.ui.caseNames = w.ui.caseNames[:0]
	w.ui.caseInfo = w.ui.caseInfo[:0]
	for _, c := range cases {
		w.ui.caseNames = append(w.ui.caseNames, c.Name())
		w.ui.caseInfo = append(w.ui.caseInfo, caseSummary(c, w.ws.Readers()))
	}
	// Rows grow with the number of status lines (one per reader, plus
	// consensus and training).
	for i, info := range w.ui.caseInfo {
		w.ui.caseList.SetItemHeight(i, caseRow(w.ui.caseNames[i], info).MinSize().Height)
	}
	w.ui.caseList.Refresh()
	if w.cd != nil {
		// The open case's object is the one whose status we change: keep
		// it, but the list shows what is on disk.
		w.selectCaseInList(w.cd.c.Name())
	}
}

func (w *Workstation) selectCaseInList(name string) {
	for i, n := range w.ui.caseNames {
		if n == name {
			w.ui.caseSel = i
			w.ui.caseList.Select(i)
			return
		}
	}
}

func (w *Workstation) stepCase(d int) {
	n := len(w.ui.caseNames)
	if n == 0 {
		return
	}
	i := (w.ui.caseSel + d + n) % n
	w.ui.caseList.Select(i)
}

func (w *Workstation) reopenLabels() {
	if w.cd == nil {
		return
	}
	if err := w.cd.c.SetReaderStatus(w.reader, workspace.InProgress); err != nil {
		w.showError(err)
	}
	w.refreshCases()
	w.refreshReader()
}

// refreshReader shows the current reader and their status with the case.
func (w *Workstation) refreshReader() {
	s := "Reader: " + w.reader
	if r, ok := w.ws.Reader(w.reader); ok && r.Role != workspace.RoleReader {
		s += " [" + r.Role.String() + "]"
	}
	if w.cd != nil {
		s += " (" + w.cd.c.ReaderStatus(w.reader).String() + ")"
	}
	w.ui.readerTop.SetText(s)
	w.ui.readerBot.SetText(s)
}

// ---- right panel: layers, tool options, lesions ----

func (w *Workstation) buildRightPanel() fyne.CanvasObject {
	w.ui.layersBox = container.NewVBox()
	w.ui.aiNote = widget.NewLabel(aiDisclaimer)
	w.ui.aiNote.Wrapping = fyne.TextWrapWord
	w.ui.aiNote.Importance = widget.WarningImportance
	w.ui.aiNote.Hide()
	w.ui.toolsBox = container.NewVBox()
	w.buildLesionTable()
	head := func(s string) *widget.Label {
		return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	upper := container.NewVBox(head("Layers"), w.ui.layersBox, w.ui.aiNote, widget.NewSeparator(),
		head("Tool options"), w.ui.toolsBox)
	lesions := container.NewBorder(container.NewVBox(head("Lesions"),
		container.NewBorder(nil, nil, widget.NewLabel("of"), nil, w.ui.lesionOf), w.ui.lesionSum), nil, nil, nil, w.ui.lesionList)
	split := container.NewVSplit(container.NewVScroll(upper), lesions)
	split.Offset = 0.68
	return split
}

// refreshLayers rebuilds the layer rows: visibility, colour, opacity and
// outline for each.
func (w *Workstation) refreshLayers() {
	w.ui.layersBox.Objects = nil
	if w.cd == nil {
		w.ui.layersBox.Refresh()
		return
	}
	for i := len(w.cd.layers) - 1; i >= 0; i-- { // topmost first
		l := w.cd.layers[i]
		vis := widget.NewCheck(l.name, func(on bool) {
			l.visible = on
			w.redraw()
			w.updateStatus(w.cursor)
			w.unfocus()
		})
		vis.Checked = l.visible
		swatch := canvas.NewRectangle(l.color)
		swatch.SetMinSize(fyne.NewSize(18, 18))
		swatch.CornerRadius = 3
		colorBtn := widget.NewButton("", nil)
		colorBtn.OnTapped = func() {
			l.color = nextColor(l.color)
			swatch.FillColor = l.color
			swatch.Refresh()
			w.redraw()
			w.unfocus()
		}
		colorCell := container.NewStack(colorBtn, container.NewCenter(swatch))
		op := widget.NewSlider(0, 1)
		op.Step = 0.05
		op.Value = l.opacity
		op.OnChanged = func(v float64) {
			l.opacity = v
			w.redraw()
		}
		op.OnChangeEnded = func(float64) { w.unfocus() }
		outline := widget.NewCheck("outline", func(on bool) {
			l.outline = on
			w.redraw()
			w.unfocus()
		})
		outline.Checked = l.outline
		row := container.NewBorder(nil, nil, colorCell, outline, vis)
		if l.kind == layerAIProb {
			outline.Hide()
		}
		w.ui.layersBox.Add(container.NewVBox(row, container.NewBorder(nil, nil, widget.NewLabel("opacity"), nil, op)))
	}
	if w.cd.hasAI() {
		w.ui.aiNote.Show()
	} else {
		w.ui.aiNote.Hide()
	}
	w.ui.layersBox.Refresh()
	opts := make([]string, 0, len(w.cd.layers))
	for i := len(w.cd.layers) - 1; i >= 0; i-- {
		if w.cd.layers[i].label != nil {
			opts = append(opts, w.cd.layers[i].name)
		}
	}
	w.ui.lesionOf.Options = opts
	w.ui.lesionOf.Selected = w.cd.layers[w.lesionLayer].name
	w.ui.lesionOf.Refresh()
}

func nextColor(c color.NRGBA) color.NRGBA {
	for i, k := range viewer.LayerColors {
		if k == c {
			return viewer.LayerColors[(i+1)%len(viewer.LayerColors)]
		}
	}
	return viewer.LayerColors[0]
}

// refreshTools rebuilds the tool options for the current tool.
func (w *Workstation) refreshTools() {
	box := w.ui.toolsBox
	box.Objects = nil
	e := &w.editor
	size := widget.NewLabel(fmt.Sprintf("Brush radius %.1f mm", e.BrushRadiusMM))
	sl := widget.NewSlider(0, 25)
	sl.Step = 0.5
	sl.Value = e.BrushRadiusMM
	sl.OnChangeEnded = func(v float64) {
		w.SetBrushRadius(v)
		w.unfocus()
	}
	sl.OnChanged = func(v float64) { size.SetText(fmt.Sprintf("Brush radius %.1f mm", v)) }
	dim := widget.NewRadioGroup([]string{"2D disc", "3D sphere"}, func(s string) {
		e.Brush3D = s == "3D sphere"
		w.unfocus()
	})
	dim.Horizontal = true
	dim.Selected = map[bool]string{false: "2D disc", true: "3D sphere"}[e.Brush3D]
	fill3d := widget.NewCheck("3D fill / holes", func(on bool) {
		e.Fill3D = on
		w.unfocus()
	})
	fill3d.Checked = e.Fill3D
	over := widget.NewCheck("Overwrite other labels", func(on bool) {
		e.Overwrite = on
		w.unfocus()
	})
	over.Checked = e.Overwrite
	box.Add(widget.NewLabel("Active: " + w.currentTool().String()))
	box.Add(size)
	box.Add(sl)
	box.Add(dim)
	box.Add(container.NewHBox(fill3d, over))

	// Threshold range on a chosen sequence.
	seqNames := make([]string, 4)
	for i, s := range volume.Sequences {
		seqNames[i] = s.Title()
	}
	thr := widget.NewCheck("Intensity range", func(on bool) {
		e.ThresholdOn = on
		w.unfocus()
		w.applyTool()
		w.refreshTools()
	})
	thr.Checked = e.ThresholdOn
	seqSel := widget.NewSelect(seqNames, nil)
	seqSel.Selected = e.ThresholdSeq.Title()
	rangeLabel := widget.NewLabel(fmt.Sprintf("%s … %s", viewer.FormatIntensity(e.ThresholdLo), viewer.FormatIntensity(e.ThresholdHi)))
	box.Add(container.NewHBox(thr, seqSel))
	box.Add(rangeLabel)
	if w.cd != nil {
		h := w.cd.hist[e.ThresholdSeq]
		lo, hi := float64(h.Lo), float64(h.Hi)
		if hi <= lo {
			hi = lo + 1
		}
		loS, hiS := widget.NewSlider(lo, hi), widget.NewSlider(lo, hi)
		loS.Step, hiS.Step = (hi-lo)/500, (hi-lo)/500
		loS.Value, hiS.Value = float64(e.ThresholdLo), float64(e.ThresholdHi)
		update := func() {
			rangeLabel.SetText(fmt.Sprintf("%s … %s", viewer.FormatIntensity(e.ThresholdLo), viewer.FormatIntensity(e.ThresholdHi)))
		}
		loS.OnChanged = func(v float64) {
			e.ThresholdLo = float32(math.Min(v, float64(e.ThresholdHi)))
			update()
		}
		hiS.OnChanged = func(v float64) {
			e.ThresholdHi = float32(math.Max(v, float64(e.ThresholdLo)))
			update()
		}
		loS.OnChangeEnded = func(float64) { w.unfocus() }
		hiS.OnChangeEnded = func(float64) { w.unfocus() }
		box.Add(container.NewBorder(nil, nil, widget.NewLabel("low"), nil, loS))
		box.Add(container.NewBorder(nil, nil, widget.NewLabel("high"), nil, hiS))
		seqSel.OnChanged = func(s string) {
			defer w.unfocus()
			q, err := volume.ParseSequence(strings.ToLower(s))
			if err != nil || q == e.ThresholdSeq {
				return
			}
			e.ThresholdSeq = q
			hh := w.cd.hist[q]
			e.ThresholdLo, e.ThresholdHi = hh.Percentile(0.9), hh.Hi
			w.refreshTools()
		}
	}
	box.Add(container.NewGridWithColumns(2,
		widget.NewButton("Fill holes (H)", w.FillHoles),
		widget.NewButton("Interpolate (I)", w.Interpolate)))
	box.Refresh()
}

// refreshUndo enables Undo and Redo when they would do something.
func (w *Workstation) refreshUndo() {
	canUndo, canRedo := false, false
	if w.cd != nil {
		canUndo, canRedo = w.cd.session.CanUndo(), w.cd.session.CanRedo()
	}
	for _, b := range []struct {
		btn *widget.Button
		on  bool
	}{{w.ui.undo, canUndo}, {w.ui.redo, canRedo}} {
		if b.btn == nil {
			continue
		}
		if b.on {
			b.btn.Enable()
		} else {
			b.btn.Disable()
		}
	}
}

// ---- lesion table ----

func (w *Workstation) buildLesionTable() {
	w.ui.lesionSum = widget.NewLabel("")
	w.ui.lesionOf = widget.NewSelect(nil, func(name string) {
		defer w.unfocus()
		if w.cd == nil {
			return
		}
		for i, l := range w.cd.layers {
			if l.name == name && i != w.lesionLayer {
				w.lesionLayer = i
				w.refreshLesions()
			}
		}
	})
	w.ui.lesionList = widget.NewList(
		func() int { return len(w.lesions) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("#00  00.000 cm3  R 000 A 000 S 000")
			l.TextStyle = fyne.TextStyle{Monospace: true}
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			c := w.lesions[id]
			r := c.CentroidRAS
			o.(*widget.Label).SetText(fmt.Sprintf("#%-2d %7.3f cm3  %s", id+1, c.VolumeCM3, rasText(r)))
		},
	)
	w.ui.lesionList.OnSelected = func(id widget.ListItemID) {
		w.GoToLesion(id)
		w.unfocus()
	}
}

// rasText writes a RAS position the way radiologists read it: R/L, A/P,
// S/I with positive millimetres.
func rasText(r [3]float64) string {
	f := func(v float64, pos, neg string) string {
		if v < 0 {
			return fmt.Sprintf("%s%3.0f", neg, -v)
		}
		return fmt.Sprintf("%s%3.0f", pos, v)
	}
	return f(r[0], "R", "L") + " " + f(r[1], "A", "P") + " " + f(r[2], "S", "I")
}

// refreshLesions recounts the lesions of the lesion table's layer.
func (w *Workstation) refreshLesions() {
	w.lesions = nil
	if w.cd != nil && w.lesionLayer < len(w.cd.layers) {
		if l := w.cd.layers[w.lesionLayer]; l.label != nil {
			w.lesions = lesion.ComponentList(l.label, lesion.Conn26)
		}
	}
	total := 0.0
	for _, c := range w.lesions {
		total += c.VolumeCM3
	}
	plural := "s"
	if len(w.lesions) == 1 {
		plural = ""
	}
	w.ui.lesionSum.SetText(fmt.Sprintf("%d lesion%s, %.3f cm3 in all  ([ ] step)", len(w.lesions), plural, total))
	if w.lesionIdx >= len(w.lesions) {
		w.lesionIdx = 0
	}
	w.ui.lesionList.UnselectAll()
	w.ui.lesionList.Refresh()
}

// GoToLesion moves the cursor into lesion i of the table (its voxel nearest
// the centroid, so that ring-shaped lesions are hit too) and centres the
// views on it.
func (w *Workstation) GoToLesion(i int) {
	if w.cd == nil || i < 0 || i >= len(w.lesions) {
		return
	}
	w.lesionIdx = i
	c := w.lesions[i]
	target := nearestVoxel(w.cd.layers[w.lesionLayer].label, c)
	for _, row := range w.slots {
		for _, sl := range row {
			sz := sl.sv.Size()
			if sz.Width > 0 && w.zoom[sl.plane] > 1 {
				v := viewer.CentreOn(w.viewOf(sl), w.cd.grid, float64(sz.Width), float64(sz.Height), target)
				w.pan[sl.plane] = v.Pan
			}
		}
	}
	w.SetCursor(target)
}

// StepLesion selects the next (d = 1) or previous (d = -1) lesion.
func (w *Workstation) StepLesion(d int) {
	n := len(w.lesions)
	if n == 0 {
		return
	}
	i := ((w.lesionIdx+d)%n + n) % n
	if w.ui.lesionList != nil {
		w.ui.lesionList.Select(i) // calls GoToLesion
		return
	}
	w.GoToLesion(i)
}

// nearestVoxel is the labelled voxel of component c closest to its
// centroid.
func nearestVoxel(l *volume.Label, c lesion.Component) [3]int {
	best := [3]int{int(math.Round(c.CentroidVoxel[0])), int(math.Round(c.CentroidVoxel[1])), int(math.Round(c.CentroidVoxel[2]))}
	if l.At(best[0], best[1], best[2]) != 0 {
		return best
	}
	bd := math.Inf(1)
	for k := c.BBoxMin[2]; k <= c.BBoxMax[2]; k++ {
		for j := c.BBoxMin[1]; j <= c.BBoxMax[1]; j++ {
			for i := c.BBoxMin[0]; i <= c.BBoxMax[0]; i++ {
				if l.At(i, j, k) == 0 {
					continue
				}
				d := sq(float64(i)-c.CentroidVoxel[0]) + sq(float64(j)-c.CentroidVoxel[1]) + sq(float64(k)-c.CentroidVoxel[2])
				if d < bd {
					bd, best = d, [3]int{i, j, k}
				}
			}
		}
	}
	return best
}

func sq(x float64) float64 { return x * x }

// updateInfo writes the fourth pane's text: case, grid, windows.
func (w *Workstation) updateInfo() {
	if w.cd == nil {
		switch {
		case w.loading != "":
			w.ui.infoText.SetText("Loading " + w.loading + "…")
		case w.jobs.Busy():
			w.ui.infoText.SetText("No case open yet.\n\nThe demo cases are being made (about a minute each at full size,\nregistration included);\neach appears in the case list when ready.")
		default:
			w.ui.infoText.SetText("No case open.\n\nPick a case on the left.")
		}
		return
	}
	g := w.cd.grid
	sp := g.Spacing()
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nT1c grid %d x %d x %d, %.2g x %.2g x %.2g mm\n", w.cd.c.Name(), g.Dims[0], g.Dims[1], g.Dims[2], sp[0], sp[1], sp[2])
	fmt.Fprintf(&b, "Display: %s\n", w.orient)
	if w.cd.aligned {
		b.WriteString("T1, T2, FLAIR: registered to the T1c (preproc/)\n")
	} else {
		b.WriteString("T1, T2, FLAIR: NOT registered, placed by scanner\ncoordinates only (Case > Align sequences)\n")
	}
	b.WriteString("\nWindow / level\n")
	for _, s := range volume.Sequences {
		lo, hi := w.wl[s].Range()
		fmt.Fprintf(&b, "  %-6s %s … %s (%s)\n", s.Title(), viewer.FormatIntensity(lo), viewer.FormatIntensity(hi), viewer.Presets[w.preset[s]])
	}
	b.WriteString("\nWheel: slices · Ctrl+wheel: zoom\nRight-drag: window · Middle-drag: pan\nF1: all shortcuts")
	w.ui.infoText.SetText(b.String())
}

func (w *Workstation) info(title, msg string) {
	l := widget.NewLabel(msg)
	l.Wrapping = fyne.TextWrapWord
	d := widgetDialog(title, l, w.win)
	d.Resize(fyne.NewSize(520, 260))
	d.Show()
}

// unfocus gives the keyboard back to the shortcuts after a list click, so
// that the arrow keys step slices rather than move the list's selection.
func (w *Workstation) unfocus() {
	if c := w.win.Canvas(); c != nil {
		c.Unfocus()
	}
}

// reloadCase reopens the open case (to see new candidates or labels).
func (w *Workstation) reloadCase() {
	if w.cd != nil {
		w.OpenCase(w.cd.c.Name())
	}
}

// FindCandidates runs the AI model over the open case in the background
// and shows its candidates when done.
func (w *Workstation) FindCandidates() {
	if w.cd == nil {
		return
	}
	name, dir := w.cd.c.Name(), w.ws.Dir()
	if w.opts.FindCandidates == nil {
		w.info("Find candidates", "Run in a terminal:\n\n  metascope infer --workspace "+dir+" --case "+name+"\n\nthen AI > Reload candidates.\n\n"+aiDisclaimer)
		return
	}
	run := w.opts.FindCandidates
	err := w.jobs.Start("Finding candidates in "+name, func(ctx context.Context, p job.Progress) error {
		if err := run(ctx, dir, name, p); err != nil {
			return err
		}
		fyne.Do(func() {
			if w.cd != nil && w.cd.c.Name() == name {
				w.OpenCase(name)
			}
		})
		return nil
	})
	if err != nil {
		w.showError(err)
		return
	}
	w.info("Find candidates", "The model is running on "+name+" (preprocessing first if needed); the candidates appear as layers when it is done.\n\n"+aiDisclaimer)
}

// AlignSequences preprocesses the open case (registration of T1, T2 and
// FLAIR to the T1c among the rest) in the background and reopens it, so
// that every sequence lines up with the labels.
func (w *Workstation) AlignSequences() {
	if w.cd == nil {
		return
	}
	name, dir := w.cd.c.Name(), w.ws.Dir()
	if w.opts.Preprocess == nil {
		w.info("Align sequences", "Run in a terminal:\n\n  metascope preprocess --workspace "+dir+" --case "+name+"\n\nthen reopen the case.")
		return
	}
	run := w.opts.Preprocess
	err := w.jobs.Start("Preprocessing "+name, func(ctx context.Context, p job.Progress) error {
		if err := run(ctx, dir, name, p); err != nil {
			return err
		}
		fyne.Do(func() {
			if w.cd != nil && w.cd.c.Name() == name {
				w.OpenCase(name)
			}
		})
		return nil
	})
	if err != nil {
		w.showError(err)
	}
}

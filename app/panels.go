package app

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"metascope/viewer"
	"metascope/volume"
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
		fyne.NewMenuItem("Reopen my labels (in progress)", w.reopenOwnLabels),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Consensus…", w.OpenConsensus),
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
		fyne.NewMenuItem("Review candidates…", func() { w.showTab(w.rev.tab) }),
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
	return w.sideTabs(split)
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
		w.redraw()
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
		// The preview follows the range when the slider is released.
		loS.OnChangeEnded = func(float64) { w.redraw(); w.unfocus() }
		hiS.OnChangeEnded = func(float64) { w.redraw(); w.unfocus() }
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
			e.ThresholdLo, e.ThresholdHi = hh.Percentile(defaultRangeLow), hh.Hi
			w.refreshTools()
			w.redraw()
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
	if w.cd != nil && w.editBlocked() == nil {
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

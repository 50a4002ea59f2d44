package app

import (
	"strings"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"metascope/segedit/consensus"
	"metascope/viewer"
	"metascope/volume"
)

// Shortcut is one keyboard shortcut: the keys a user presses and what they
// do. The table below is the single source for the key handlers and the
// help dialog, so the two cannot disagree.
type Shortcut struct {
	Group  string
	Keys   string // as shown in the help: "B", "Ctrl+Z", "Page Up"
	Action string

	r   rune             // a printable key (TypedRune), matched case-insensitively
	key fyne.KeyName     // a named key (TypedKey) when r is 0
	mod fyne.KeyModifier // with mod: a canvas shortcut on key
	do  func(w *Workstation)
}

func toolAction(k segToolKey) string { return "Tool: " + k.Long() }

// Shortcuts is the table of every keyboard shortcut.
func Shortcuts() []Shortcut {
	ctrl := fyne.KeyModifierShortcutDefault
	seq := func(r rune, s volume.Sequence) Shortcut {
		return Shortcut{Group: "View", Keys: string(r), Action: "Active sequence: " + s.Title(), r: r,
			do: func(w *Workstation) { w.SetActiveSequence(s) }}
	}
	plane := func(r rune, p viewer.Plane) Shortcut {
		return Shortcut{Group: "View", Keys: strings.ToUpper(string(r)), Action: "Active plane: " + p.String(), r: r,
			do: func(w *Workstation) { w.SetActivePlane(p) }}
	}
	tool := func(r rune, k segToolKey) Shortcut {
		return Shortcut{Group: "Tools", Keys: strings.ToUpper(string(r)), Action: toolAction(k), r: r,
			do: func(w *Workstation) { w.SetTool(k) }}
	}
	slice := func(keys string, k fyne.KeyName, d int) Shortcut {
		return Shortcut{Group: "Navigate", Keys: keys, Action: "Slice " + map[bool]string{true: "up", false: "down"}[d > 0] + strings.Repeat(" x10", map[bool]int{true: 1, false: 0}[d*d > 1]) + " (view under the pointer)", key: k,
			do: func(w *Workstation) { w.stepHovered(d) }}
	}
	layout := func(r rune, l Layout) Shortcut {
		return Shortcut{Group: "View", Keys: string(r), Action: "Layout: " + l.String(), r: r,
			do: func(w *Workstation) { w.SetLayout(l) }}
	}
	return []Shortcut{
		slice("Up", fyne.KeyUp, 1),
		slice("Down", fyne.KeyDown, -1),
		slice("Page Up", fyne.KeyPageUp, 10),
		slice("Page Down", fyne.KeyPageDown, -10),
		{Group: "Navigate", Keys: "]", Action: "Next lesion in the table", r: ']', do: func(w *Workstation) { w.StepLesion(1) }},
		{Group: "Navigate", Keys: "[", Action: "Previous lesion in the table", r: '[', do: func(w *Workstation) { w.StepLesion(-1) }},
		{Group: "Navigate", Keys: "Ctrl+Down", Action: "Next case", key: fyne.KeyDown, mod: ctrl, do: func(w *Workstation) { w.stepCase(1) }},
		{Group: "Navigate", Keys: "Ctrl+Up", Action: "Previous case", key: fyne.KeyUp, mod: ctrl, do: func(w *Workstation) { w.stepCase(-1) }},
		seq('1', volume.T1), seq('2', volume.T2), seq('3', volume.T1c), seq('4', volume.FLAIR),
		plane('a', viewer.Axial), plane('c', viewer.Coronal), plane('s', viewer.Sagittal),
		layout('5', LayoutSequences), layout('6', LayoutPlanes), layout('7', LayoutAll), layout('8', LayoutSingle),
		{Group: "View", Keys: "L", Action: "Next layout", r: 'l', do: func(w *Workstation) { w.NextLayout() }},
		{Group: "View", Keys: "R", Action: "Radiological / neurological display", r: 'r', do: func(w *Workstation) { w.ToggleOrientation() }},
		{Group: "View", Keys: "W", Action: "Next window preset of the active sequence", r: 'w', do: func(w *Workstation) { w.CyclePreset() }},
		{Group: "View", Keys: "0", Action: "Automatic window for every sequence", r: '0', do: func(w *Workstation) { w.AutoWindowAll() }},
		{Group: "View", Keys: "Home", Action: "Reset zoom and pan", key: fyne.KeyHome, do: func(w *Workstation) { w.ResetZoom() }},
		{Group: "View", Keys: "V", Action: "Show / hide my labels", r: 'v', do: func(w *Workstation) { w.ToggleOwnLayer() }},
		{Group: "View", Keys: "O", Action: "Outline / fill my labels", r: 'o', do: func(w *Workstation) { w.ToggleOwnOutline() }},
		tool('n', keyNavigate),
		{Group: "Tools", Keys: "Esc", Action: toolAction(keyNavigate), key: fyne.KeyEscape, do: func(w *Workstation) { w.SetTool(keyNavigate) }},
		tool('b', keyBrush), tool('e', keyEraser), tool('t', keyThreshold), tool('f', keyFill), tool('d', keyDelete),
		{Group: "Tools", Keys: "+", Action: "Larger brush", r: '+', do: func(w *Workstation) { w.GrowBrush(1) }},
		{Group: "Tools", Keys: "=", Action: "Larger brush", r: '=', do: func(w *Workstation) { w.GrowBrush(1) }},
		{Group: "Tools", Keys: "-", Action: "Smaller brush", r: '-', do: func(w *Workstation) { w.GrowBrush(-1) }},
		{Group: "Tools", Keys: "M", Action: "Brush 2D disc / 3D sphere", r: 'm', do: func(w *Workstation) { w.ToggleBrush3D() }},
		{Group: "Tools", Keys: "H", Action: "Fill holes", r: 'h', do: func(w *Workstation) { w.FillHoles() }},
		{Group: "Tools", Keys: "I", Action: "Interpolate between outlined slices", r: 'i', do: func(w *Workstation) { w.Interpolate() }},
		{Group: "Edit", Keys: "Ctrl+Z", Action: "Undo", key: fyne.KeyZ, mod: ctrl, do: func(w *Workstation) { w.Undo() }},
		{Group: "Edit", Keys: "Ctrl+Y", Action: "Redo", key: fyne.KeyY, mod: ctrl, do: func(w *Workstation) { w.Redo() }},
		{Group: "Edit", Keys: "Ctrl+Shift+Z", Action: "Redo", key: fyne.KeyZ, mod: ctrl | fyne.KeyModifierShift, do: func(w *Workstation) { w.Redo() }},
		{Group: "Edit", Keys: "Ctrl+S", Action: "Save now (edits are journalled anyway)", key: fyne.KeyS, mod: ctrl, do: func(w *Workstation) { w.checkpoint() }},
		{Group: "AI", Keys: "G", Action: "Accept the AI candidate under the cursor", r: 'g', do: func(w *Workstation) { w.AcceptCandidate(false) }},
		{Group: "AI", Keys: "Y", Action: actCandAccept, r: 'y', do: func(w *Workstation) { w.AcceptSelectedCandidate() }},
		{Group: "AI", Keys: "X", Action: actCandReject, r: 'x', do: func(w *Workstation) { w.RejectSelectedCandidate() }},
		{Group: "AI", Keys: ".", Action: actCandNext, r: '.', do: func(w *Workstation) { w.StepCandidate(1) }},
		{Group: "AI", Keys: ",", Action: actCandPrev, r: ',', do: func(w *Workstation) { w.StepCandidate(-1) }},
		{Group: "Consensus", Keys: "J", Action: actItemNext, r: 'j', do: func(w *Workstation) { w.StepItem(1) }},
		{Group: "Consensus", Keys: "K", Action: actItemPrev, r: 'k', do: func(w *Workstation) { w.StepItem(-1) }},
		{Group: "Consensus", Keys: "F2", Action: actAcceptA, key: fyne.KeyF2, do: func(w *Workstation) { w.ResolveItem(consensus.AcceptA) }},
		{Group: "Consensus", Keys: "F3", Action: actAcceptB, key: fyne.KeyF3, do: func(w *Workstation) { w.ResolveItem(consensus.AcceptB) }},
		{Group: "Consensus", Keys: "F4", Action: actUnion, key: fyne.KeyF4, do: func(w *Workstation) { w.ResolveItem(consensus.Union) }},
		{Group: "Consensus", Keys: "F5", Action: actIntersect, key: fyne.KeyF5, do: func(w *Workstation) { w.ResolveItem(consensus.Intersection) }},
		{Group: "Consensus", Keys: "F6", Action: actStaple, key: fyne.KeyF6, do: func(w *Workstation) { w.ResolveItem(consensus.StapleOutline) }},
		{Group: "Consensus", Keys: "F7", Action: actReject, key: fyne.KeyF7, do: func(w *Workstation) { w.ResolveItem(consensus.Reject) }},
		{Group: "Consensus", Keys: "F8", Action: actRedraw, key: fyne.KeyF8, do: func(w *Workstation) { w.RedrawItem() }},
		{Group: "Consensus", Keys: "F9", Action: actSenior, key: fyne.KeyF9, do: func(w *Workstation) { w.seniorDialog() }},
		{Group: "Help", Keys: "F1", Action: "This list", key: fyne.KeyF1, do: func(w *Workstation) { w.ShowHelp() }},
	}
}

// keyFor is the key shown for an action (the first in the table).
func (w *Workstation) keyFor(action string) string {
	for _, s := range Shortcuts() {
		if s.Action == action {
			return s.Keys
		}
	}
	return ""
}

// installShortcuts wires the table to the window's canvas. Slice views do
// not take focus, so single keys reach here unless a text field has focus.
func (w *Workstation) installShortcuts() {
	table := Shortcuts()
	c := w.win.Canvas()
	for _, s := range table {
		if s.mod == 0 {
			continue
		}
		s := s
		c.AddShortcut(&desktop.CustomShortcut{KeyName: s.key, Modifier: s.mod}, func(fyne.Shortcut) { s.do(w) })
	}
	c.SetOnTypedRune(func(r rune) { w.TypeRune(r) })
	c.SetOnTypedKey(func(ev *fyne.KeyEvent) { w.TypeKey(ev.Name) })
}

// TypeRune runs the shortcut of a printable key.
func (w *Workstation) TypeRune(r rune) {
	r = unicode.ToLower(r)
	for _, s := range Shortcuts() {
		if s.r != 0 && s.r == r {
			s.do(w)
			return
		}
	}
}

// TypeKey runs the shortcut of a named key without modifiers.
func (w *Workstation) TypeKey(k fyne.KeyName) {
	for _, s := range Shortcuts() {
		if s.r == 0 && s.mod == 0 && s.key == k {
			s.do(w)
			return
		}
	}
}

// RunShortcut runs the shortcut with keys as shown in the help ("Ctrl+Z").
func (w *Workstation) RunShortcut(keys string) bool {
	for _, s := range Shortcuts() {
		if s.Keys == keys {
			s.do(w)
			return true
		}
	}
	return false
}

// stepHovered steps the slice of the view under the pointer (the active
// plane when the pointer is elsewhere).
func (w *Workstation) stepHovered(d int) {
	p := w.activePlane
	if w.hovered != nil && w.hovered.shown {
		p = w.hovered.plane
	}
	w.StepSlice(p, d)
}

// NextLayout cycles through the layouts.
func (w *Workstation) NextLayout() {
	for i, l := range Layouts {
		if l == w.layout {
			w.SetLayout(Layouts[(i+1)%len(Layouts)])
			return
		}
	}
}

// ToggleOwnLayer shows or hides the reader's labels.
func (w *Workstation) ToggleOwnLayer() {
	if w.cd == nil {
		return
	}
	if l := w.cd.own(); l != nil {
		l.visible = !l.visible
		w.refreshLayers()
		w.redraw()
	}
}

// ToggleOwnOutline switches the reader's labels between filled and outlined.
func (w *Workstation) ToggleOwnOutline() {
	if w.cd == nil {
		return
	}
	if l := w.cd.own(); l != nil {
		l.outline = !l.outline
		w.refreshLayers()
		w.redraw()
	}
}

// ShowHelp shows the shortcut table and the mouse gestures.
func (w *Workstation) ShowHelp() {
	rows := container.NewVBox()
	group := ""
	for _, s := range Shortcuts() {
		if s.Group != group {
			group = s.Group
			rows.Add(widget.NewLabelWithStyle(group, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
		}
		k := widget.NewLabel(s.Keys)
		k.TextStyle = fyne.TextStyle{Monospace: true}
		rows.Add(container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSize(140, k.MinSize().Height), k), nil, widget.NewLabel(s.Action)))
	}
	mouse := widget.NewLabel("Mouse: wheel steps slices · Ctrl+wheel zooms · right-drag sets window/level · " +
		"middle-drag pans · left button acts with the current tool (Navigate moves the crosshair).")
	mouse.Wrapping = fyne.TextWrapWord
	d := widgetDialog("Keyboard shortcuts", container.NewBorder(mouse, nil, nil, nil, container.NewVScroll(rows)), w.win)
	d.Resize(fyne.NewSize(640, 760))
	d.Show()
}

func widgetDialog(title string, content fyne.CanvasObject, win fyne.Window) dialog.Dialog {
	return dialog.NewCustom(title, "Close", content, win)
}

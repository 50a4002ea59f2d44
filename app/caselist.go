package app

import (
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"metascope/workspace"
)

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
	// The filter matches names and status lines: "02", "Dr B: submitted",
	// "in progress", "consensus".
	w.ui.caseFilter = widget.NewEntry()
	w.ui.caseFilter.SetPlaceHolder("filter (name, reader, status)")
	w.ui.caseFilter.OnChanged = func(string) { w.refreshCases() }
	return container.NewBorder(title, w.ui.caseFilter, nil, nil, w.ui.caseList)
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
	filter := ""
	if w.ui.caseFilter != nil {
		filter = strings.ToLower(strings.TrimSpace(w.ui.caseFilter.Text))
	}
	for _, c := range cases {
		info := caseSummary(c, w.ws.Readers())
		if filter != "" && !strings.Contains(strings.ToLower(c.Name()+"\n"+info), filter) {
			continue
		}
		w.ui.caseNames = append(w.ui.caseNames, c.Name())
		w.ui.caseInfo = append(w.ui.caseInfo, info)
	}
	w.ui.caseSel = -1
	w.ui.caseList.UnselectAll()
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
	// The status decides whether the labels may still change.
	w.applyTool()
	w.refreshUndo()
}

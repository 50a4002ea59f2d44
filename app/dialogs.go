package app

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"metascope/job"
	"metascope/volume"
	"metascope/workspace"
)

// openWorkspaceDialog lets the user pick another workspace folder.
func (w *Workstation) openWorkspaceDialog() {
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil || u == nil {
			return
		}
		ws, err := workspace.Open(u.Path())
		if err != nil {
			w.showError(err)
			return
		}
		w.SwitchWorkspace(ws)
	}, w.win)
	d.Show()
}

// SwitchWorkspace closes the open case and shows another workspace.
func (w *Workstation) SwitchWorkspace(ws *workspace.Workspace) {
	w.closeCase()
	w.clearViews()
	w.ws = ws
	if r, err := chooseReader(ws, w.reader); err == nil {
		w.reader = r
	}
	w.refreshCases()
	w.refreshReader()
	if abs, err := filepath.Abs(ws.Dir()); err == nil {
		_ = saveState(appState{LastWorkspace: abs, LastReader: w.reader})
	}
	if len(w.ui.caseNames) > 0 {
		w.OpenCase(w.ui.caseNames[0])
	}
}

// importDialog asks for a case name and the four sequences (NIfTI files or
// DICOM folders) and imports them in the background.
func (w *Workstation) importDialog() {
	name := widget.NewEntry()
	name.SetPlaceHolder("case name")
	entries := map[volume.Sequence]*widget.Entry{}
	items := []*widget.FormItem{widget.NewFormItem("Case", name)}
	for _, s := range volume.Sequences {
		s := s
		e := widget.NewEntry()
		e.SetPlaceHolder("NIfTI file or DICOM folder")
		entries[s] = e
		browse := widget.NewButton("…", func() {
			fd := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
				if err == nil && r != nil {
					e.SetText(r.URI().Path())
					r.Close()
				}
			}, w.win)
			fd.Show()
		})
		items = append(items, widget.NewFormItem(s.Title(), container.NewBorder(nil, nil, nil, browse, e)))
	}
	d := dialog.NewForm("Import case", "Import", "Cancel", items, func(ok bool) {
		if !ok {
			return
		}
		req := workspace.ImportRequest{Name: strings.TrimSpace(name.Text), By: w.reader, Sources: map[volume.Sequence]workspace.Source{}}
		for s, e := range entries {
			req.Sources[s] = workspace.Source{Path: strings.TrimSpace(e.Text)}
		}
		ws := w.ws
		err := w.jobs.Start("Importing "+req.Name, func(ctx context.Context, p job.Progress) error {
			req.Progress = p
			if _, err := ws.Import(ctx, req); err != nil {
				return err
			}
			fyne.Do(func() {
				w.refreshCases()
				w.OpenCase(req.Name)
			})
			return nil
		})
		if err != nil {
			w.showError(err)
		}
	}, w.win)
	d.Resize(fyne.NewSize(720, d.MinSize().Height))
	d.Show()
}

// switchReaderDialog picks another reader of the workspace.
func (w *Workstation) switchReaderDialog() {
	var names []string
	for _, r := range w.ws.Readers() {
		names = append(names, r.Name)
	}
	sel := widget.NewSelectEntry(names)
	sel.SetText(w.reader)
	d := dialog.NewForm("Switch reader", "Switch", "Cancel", []*widget.FormItem{widget.NewFormItem("Reader", sel)}, func(ok bool) {
		if !ok || sel.Text == w.reader {
			return
		}
		if err := w.SwitchReader(strings.TrimSpace(sel.Text)); err != nil {
			w.showError(fmt.Errorf("switch reader: %w", err))
		}
	}, w.win)
	d.Resize(fyne.NewSize(360, d.MinSize().Height))
	d.Show()
}

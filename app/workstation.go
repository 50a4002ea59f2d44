// Package app is Metascope's Fyne application: the workstation window with
// its menus, toolbar, case list, slice views, layer and tool panels, lesion
// table and status bar, and the wiring between them and the packages that do
// the work (workspace, viewer, segedit, lesion). It is the only package that
// imports fyne.io/fyne/v2/app (in run.go); everything else builds on a given
// fyne.App so that tests drive it with Fyne's test driver, without a window.
package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"metascope/job"
	"metascope/lesion"
	"metascope/segedit"
	"metascope/viewer"
	"metascope/volume"
	"metascope/workspace"
)

// Options configure a workstation.
type Options struct {
	// Reader is who reads and edits. Empty: the first reader of the
	// workspace with the reader role, or $USER.
	Reader string
	// CheckpointEvery is how often the reader's label is saved in full (the
	// journal already makes every stroke durable). Zero: only on case
	// switch and close.
	CheckpointEvery time.Duration
	// Demo, when set, generates the missing demo cases in a background job
	// after the window opens.
	Demo *DemoOptions
	// Case is opened first; empty opens the first case.
	Case string

	// onLoaded, for tests, is called on the UI goroutine after each case
	// load finishes.
	onLoaded func(name string, err error)
}

// Validate checks the options.
func (o Options) Validate() error {
	if o.Reader != "" {
		if err := workspace.ValidName(o.Reader); err != nil {
			return fmt.Errorf("reader %q: %w", o.Reader, err)
		}
	}
	if o.CheckpointEvery < 0 {
		return fmt.Errorf("CheckpointEvery is %v; must not be negative", o.CheckpointEvery)
	}
	if o.Demo != nil {
		if err := o.Demo.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Workstation is the main window and the state of the open case. Every
// method runs on the Fyne UI goroutine; background work (loading a case,
// making demo cases) hands its results back through fyne.Do.
type Workstation struct {
	app    fyne.App
	win    fyne.Window
	ws     *workspace.Workspace
	opts   Options
	reader string
	jobs   *jobBar

	cd       *caseData // nil while no case is open
	lastCase string    // the case shown last, remembered between runs
	loadSeq  int       // identifies the newest load request
	loading  string    // case being loaded
	onLoaded func(name string, err error)

	cursor      [3]int
	orient      viewer.Orientation
	layout      Layout
	activeSeq   volume.Sequence
	activePlane viewer.Plane
	zoom        [3]float64
	pan         [3][2]float64
	wl          [4]viewer.WindowLevel
	preset      [4]int
	slots       [4][3]*slot
	bySV        map[*viewer.SliceView]*slot
	hovered     *slot

	editor      segedit.EditorState
	lesionLayer int // index into cd.layers of the lesion table's layer
	lesions     []lesion.Component
	lesionIdx   int

	preview struct { // the threshold range preview, cached
		key  rangeKey
		mask *volume.Label
	}

	cons consensusUI // the consensus tab (consensus.go)
	rev  reviewUI    // the AI candidate review tab (review.go)

	stopTicker chan struct{}
	closed     bool

	ui widgets
}

// NewWorkstation builds the workstation window for workspace ws on app a
// (Fyne's test app in tests). It does not show the window. The first case
// starts loading in the background.
func NewWorkstation(a fyne.App, ws *workspace.Workspace, opts Options) (*Workstation, error) {
	if a == nil || ws == nil {
		return nil, errors.New("NewWorkstation needs an app and a workspace")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	reader, err := chooseReader(ws, opts.Reader)
	if err != nil {
		return nil, err
	}
	w := &Workstation{
		app: a, ws: ws, opts: opts, reader: reader,
		layout: LayoutPlanes, activeSeq: volume.T1c, activePlane: viewer.Axial,
		zoom:     [3]float64{1, 1, 1},
		editor:   segedit.DefaultEditorState(),
		bySV:     map[*viewer.SliceView]*slot{},
		onLoaded: opts.onLoaded,
	}
	w.editor.Tool = segedit.ToolNavigate
	w.jobs = newJobBar(w.jobDone)
	w.win = a.NewWindow("Metascope")
	w.build()
	w.refreshCases()
	first := opts.Case
	if first != "" {
		if _, err := ws.Case(first); err != nil {
			first = "" // gone since last time: start with the first case
		}
	}
	if first == "" && len(w.ui.caseNames) > 0 {
		first = w.ui.caseNames[0]
	}
	if first != "" {
		w.OpenCase(first)
	}
	if opts.Demo != nil {
		w.startDemoJob(*opts.Demo)
	}
	if opts.CheckpointEvery > 0 {
		w.stopTicker = make(chan struct{})
		go w.autosave(opts.CheckpointEvery, w.stopTicker)
	}
	w.win.SetCloseIntercept(func() {
		w.Close()
		w.win.Close()
	})
	return w, nil
}

// chooseReader picks who edits: the named reader (added to the workspace
// as a reader when new), else the first with the reader role, else $USER.
func chooseReader(ws *workspace.Workspace, name string) (string, error) {
	if name == "" {
		for _, r := range ws.Readers() {
			if r.Role == workspace.RoleReader {
				return r.Name, nil
			}
		}
		if rs := ws.Readers(); len(rs) > 0 {
			return rs[0].Name, nil
		}
		name = os.Getenv("USER")
		if name == "" {
			name = "reader"
		}
	}
	if _, ok := ws.Reader(name); !ok {
		if err := ws.AddReader(name, workspace.RoleReader); err != nil {
			return "", fmt.Errorf("reader %q: %w", name, err)
		}
	}
	return name, nil
}

// Window is the workstation's window.
func (w *Workstation) Window() fyne.Window { return w.win }

// Reader is the current reader's name.
func (w *Workstation) Reader() string { return w.reader }

// Workspace is the open workspace.
func (w *Workstation) Workspace() *workspace.Workspace { return w.ws }

// Close saves and closes the open case and stops the autosave. The window
// itself is closed by its owner.
func (w *Workstation) Close() {
	if w.closed {
		return
	}
	w.closed = true
	if w.stopTicker != nil {
		close(w.stopTicker)
	}
	w.jobs.Cancel()
	w.closeCase()
}

// autosave checkpoints periodically. The ticker runs in its own goroutine;
// the checkpoint itself runs on the UI goroutine, where the session lives.
func (w *Workstation) autosave(every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			fyne.Do(func() {
				if !w.closed {
					w.checkpoint()
				}
			})
		}
	}
}

// checkpoint saves the reader's label and resume state.
func (w *Workstation) checkpoint() {
	if w.cd == nil || w.cd.session == nil {
		return
	}
	w.recordResume()
	if w.cd.session.StrokeActive() {
		return // the stroke is not an edit yet; the next tick saves it
	}
	if err := w.cd.session.Checkpoint(); err != nil {
		w.showError(err)
	}
}

// recordResume hands the cursor and editor state to the session and writes
// the resume file at once, so that a crash resumes where the reader was.
func (w *Workstation) recordResume() {
	if w.cd == nil || w.cd.session == nil {
		return
	}
	r := segedit.Resume{Cursor: w.cursor, Plane: segedit.Plane(w.activePlane), Editor: w.editor}
	if err := w.cd.session.SetResume(r); err != nil {
		return
	}
	_ = w.cd.session.SaveResume()
}

// closeCase checkpoints and closes the open case's session.
func (w *Workstation) closeCase() {
	if w.cd == nil {
		return
	}
	w.endConsensus() // puts the reader's own session back
	w.recordResume()
	if err := w.cd.session.Close(); err != nil {
		w.showError(err)
	}
	w.cd = nil
}

// OpenCase saves the open case and loads another in the background; the
// views show it when it is ready.
func (w *Workstation) OpenCase(name string) {
	c, err := w.ws.Case(name)
	if err != nil {
		w.showError(err)
		return
	}
	w.closeCase()
	w.clearViews()
	w.loadSeq++
	seq := w.loadSeq
	w.loading = name
	req := loadRequest{ws: w.ws, c: c, reader: w.reader}
	w.ui.loadLabel.SetText("Loading " + name + "…")
	w.ui.loadBar.Show()
	w.ui.loadLabel.Show()
	w.updateInfo()
	go func() {
		progress := func(stage string, _ float64) {
			fyne.Do(func() {
				if seq == w.loadSeq {
					w.ui.loadLabel.SetText("Loading " + name + ": " + stage)
				}
			})
		}
		cd, err := loadCase(context.Background(), req, job.Progress(progress))
		fyne.Do(func() {
			if seq != w.loadSeq || w.closed {
				// A newer request (or Close) won; drop this one.
				if cd != nil {
					_ = cd.session.Close()
				}
				return
			}
			w.loading = ""
			w.ui.loadBar.Hide()
			w.ui.loadLabel.Hide()
			if err == nil {
				w.showCase(cd)
			} else {
				w.showError(err)
			}
			if w.onLoaded != nil {
				w.onLoaded(name, err)
			}
		})
	}()
}

// showCase makes a loaded case the open one: resume state, windows,
// layers, lesion table and views.
func (w *Workstation) showCase(cd *caseData) {
	w.cd = cd
	w.lastCase = cd.c.Name()
	r := cd.session.Resume()
	w.cursor = [3]int{cd.grid.Dims[0] / 2, cd.grid.Dims[1] / 2, cd.grid.Dims[2] / 2}
	if cd.grid.Contains(r.Cursor[0], r.Cursor[1], r.Cursor[2]) && r.Cursor != [3]int{} {
		// The reader was here before: cursor, plane and editor as left
		// (the threshold range included: it was set on this case).
		w.cursor = r.Cursor
		w.editor = r.Editor
		if r.Plane.Valid() {
			w.activePlane = viewer.Plane(r.Plane)
		}
	} else {
		// First visit: keep the tool, but intensities differ from case to
		// case, so the threshold range starts from this case's histogram
		// (the brightest 5 %: enhancing tissue on a T1c).
		h := cd.hist[w.editor.ThresholdSeq]
		w.editor.ThresholdLo, w.editor.ThresholdHi = h.Percentile(defaultRangeLow), h.Hi
	}
	for _, s := range volume.Sequences {
		w.wl[s] = cd.hist[s].Window(viewer.PresetAuto)
		w.preset[s] = 0
	}
	w.zoom = [3]float64{1, 1, 1}
	w.pan = [3][2]float64{}
	w.lesionLayer = len(cd.layers) - 1
	for i, l := range cd.layers {
		if l.kind == layerOwn {
			w.lesionLayer = i
		}
	}
	w.win.SetTitle(fmt.Sprintf("Metascope — %s — %s", cd.c.Name(), w.reader))
	for _, msg := range cd.warnings {
		fyne.LogError("open case "+cd.c.Name(), errors.New(msg))
	}
	w.refreshLayers()
	w.refreshTools()
	w.refreshLesions()
	w.refreshReader()
	w.refreshUndo()
	w.refreshConsensus()
	w.refreshReview()
	w.selectCaseInList(cd.c.Name())
	w.applyTool()
	w.redraw()
	w.updateInfo()
	w.updateStatus(w.cursor)
}

// markInProgress records the reader's first edit of the case.
func (w *Workstation) markInProgress() {
	if w.cd == nil || w.cons.draft != nil {
		return // a consensus draft is not the reader's own work
	}
	if w.cd.c.ReaderStatus(w.reader) == workspace.NotStarted {
		if err := w.cd.c.SetReaderStatus(w.reader, workspace.InProgress); err != nil {
			w.showError(err)
		}
		w.refreshCases()
		w.refreshReader()
	}
}

// submit marks the reader's labels of the open case as finished.
func (w *Workstation) submit() {
	if w.cd == nil {
		return
	}
	w.checkpoint()
	if err := w.cd.c.SetReaderStatus(w.reader, workspace.Submitted); err != nil {
		w.showError(err)
		return
	}
	w.refreshCases()
	w.refreshReader()
	// Blinding lifts once the reader has submitted: reopen to show the
	// other readers' labels.
	if w.ws.Settings().Blinding {
		w.reloadCase()
	}
}

// SwitchReader closes the open case and reopens it as another reader.
func (w *Workstation) SwitchReader(name string) error {
	r, err := chooseReader(w.ws, name)
	if err != nil {
		return err
	}
	open := ""
	if w.cd != nil {
		open = w.cd.c.Name()
	}
	w.closeCase()
	w.reader = r
	w.refreshReader()
	if open != "" {
		w.OpenCase(open)
	}
	return nil
}

func (w *Workstation) showError(err error) {
	if err == nil {
		return
	}
	fyne.LogError("metascope", err)
	if w.win != nil && !w.closed {
		dialog.ShowError(err, w.win)
	}
}

func (w *Workstation) jobDone(name string, err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		w.showError(fmt.Errorf("%s: %w", name, err))
	}
}

// widgets holds the window's widgets that change after building.
type widgets struct {
	centre        *fyne.Container
	caseList      *widget.List
	caseNames     []string
	caseInfo      []string
	caseSel       int
	caseFilter    *widget.Entry
	status        *widget.Label
	readerTop     *widget.Label
	readerBot     *widget.Label
	loadBar       *widget.ProgressBarInfinite
	loadLabel     *widget.Label
	toolButtons   map[segToolKey]*widget.Button
	layoutButtons map[Layout]*widget.Button
	layersBox     *fyne.Container
	aiNote        *widget.Label
	toolsBox      *fyne.Container
	lesionList    *widget.List
	lesionOf      *widget.Select
	lesionSum     *widget.Label
	infoText      *widget.Label
	undo, redo    *widget.Button
}

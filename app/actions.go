package app

import (
	"context"

	"fyne.io/fyne/v2"

	"metascope/inference"
	"metascope/job"
	"metascope/preprocess"
	"metascope/volume"
	"metascope/workspace"
)

// reloadCase reopens the open case (to see new candidates or labels).
func (w *Workstation) reloadCase() {
	if w.cd != nil {
		w.OpenCase(w.cd.c.Name())
	}
}

// FindCandidates runs the AI model over the open case in the background
// (preprocessing it first when its preproc/ folder is missing) and shows
// its candidates when done. The job bar shows each stage and can cancel it.
func (w *Workstation) FindCandidates() {
	if w.cd == nil {
		return
	}
	c, ws, reader := w.cd.c, w.ws, w.reader
	name := c.Name()
	err := w.jobs.Start("Finding candidates in "+name, func(ctx context.Context, p job.Progress) error {
		if _, err := findCandidates(ctx, ws, c, reader, p); err != nil {
			return err
		}
		w.reopenIfOpen(name)
		return nil
	})
	if err != nil {
		w.showError(err)
		return
	}
	w.info("Find candidates", "The model is running on "+name+" (preprocessing first if needed); the candidates appear as layers when it is done.\n\n"+aiDisclaimer)
}

// findCandidates is the work of FindCandidates, off the UI goroutine: the
// same inference.RunCase as 'metascope infer', with the same default model,
// audited as done by the reader.
func findCandidates(ctx context.Context, ws *workspace.Workspace, c *workspace.Case, reader string, p job.Progress) (*inference.CaseRun, error) {
	p.Report("loading the model", 0)
	model, modelName, err := inference.DefaultModel(ws)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return runModel(ctx, c, reader, model, modelName, p.Sub(0.01, 1))
}

// runModel runs a loaded model over a case and writes its candidates.
func runModel(ctx context.Context, c *workspace.Case, reader string, model *inference.Ensemble, modelName string, p job.Progress) (*inference.CaseRun, error) {
	return inference.RunCase(ctx, inference.WorkspaceJob(c, reader, model, modelName), p)
}

// AlignSequences preprocesses the open case (registration of T1, T2 and
// FLAIR to the T1c among the rest) in the background and reopens it, so
// that every sequence lines up with the labels.
func (w *Workstation) AlignSequences() {
	if w.cd == nil {
		return
	}
	c := w.cd.c
	name := c.Name()
	err := w.jobs.Start("Preprocessing "+name, func(ctx context.Context, p job.Progress) error {
		if err := alignCase(ctx, c, p); err != nil {
			return err
		}
		w.reopenIfOpen(name)
		return nil
	})
	if err != nil {
		w.showError(err)
	}
}

// alignCase writes a workspace case's preproc/ folder: the same
// preprocess.RunCase as 'metascope preprocess'.
func alignCase(ctx context.Context, c *workspace.Case, p job.Progress) error {
	var files preprocess.CaseFiles
	for _, s := range volume.Sequences {
		files[s] = c.ImagePath(s)
	}
	_, err := preprocess.RunCase(ctx, files, c.PreprocDir(), preprocess.DefaultOptions(), p)
	return err
}

// reopenIfOpen reopens the named case, from any goroutine, if it is still
// the open one.
func (w *Workstation) reopenIfOpen(name string) {
	fyne.Do(func() {
		if !w.closed && w.cd != nil && w.cd.c.Name() == name {
			w.OpenCase(name)
		}
	})
}

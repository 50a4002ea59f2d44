package app

import (
	"context"

	"fyne.io/fyne/v2"

	"metascope/job"
)

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

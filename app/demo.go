package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2"

	"metascope/inference"
	"metascope/job"
	"metascope/phantom"
	"metascope/volume"
	"metascope/workspace"
)

// DemoOptions describe the demo workspace of phantom cases.
type DemoOptions struct {
	Cases int          // number of cases, 1..20
	Size  phantom.Size // phantom.Full for the real demo, Small for tests
	Seed  int64        // seed of the first case; case i uses Seed+i
	// Align preprocesses each case (the code of 'metascope preprocess')
	// before it is announced, so that its sequences are shown registered
	// to the T1c.
	Align bool
	// Candidates runs the default (shipped demo) model over each new case
	// once all are made, so that a fresh demo shows AI candidates to review
	// without training first. Skipped quietly when no model is available.
	Candidates bool
}

// DefaultDemoOptions is five full-size cases, aligned, with AI candidates.
func DefaultDemoOptions() DemoOptions {
	return DemoOptions{Cases: 5, Size: phantom.Full, Seed: 101, Align: true, Candidates: true}
}

// Validate checks the options.
func (o DemoOptions) Validate() error {
	if o.Cases < 1 || o.Cases > 20 {
		return fmt.Errorf("demo Cases is %d; want 1 to 20", o.Cases)
	}
	if o.Size != phantom.Small && o.Size != phantom.Full {
		return fmt.Errorf("demo Size is %v; want small or full", o.Size)
	}
	return nil
}

// Demo readers: two readers and an adjudicator, as in the study.
var demoReaders = []workspace.Reader{
	{Name: "Dr A", Role: workspace.RoleReader},
	{Name: "Dr B", Role: workspace.RoleReader},
	{Name: "Senior", Role: workspace.RoleAdjudicator},
}

// demoCaseName is the name of demo case i (0-based).
func demoCaseName(i int) string { return fmt.Sprintf("demo-%02d", i+1) }

// PrepareDemo opens the demo workspace in dir, creating it with its readers
// when new. It is quick; the cases themselves come from MakeDemoCases.
func PrepareDemo(dir string) (*workspace.Workspace, error) {
	ws, err := workspace.OpenOrCreate(dir)
	if err != nil {
		return nil, fmt.Errorf("demo workspace: %w", err)
	}
	for _, r := range demoReaders {
		if _, ok := ws.Reader(r.Name); ok {
			continue
		}
		if err := ws.AddReader(r.Name, r.Role); err != nil {
			return nil, fmt.Errorf("demo workspace: %w", err)
		}
	}
	return ws, nil
}

// MissingDemoCases lists the demo cases not yet in ws.
func MissingDemoCases(ws *workspace.Workspace, o DemoOptions) []int {
	var out []int
	for i := 0; i < o.Cases; i++ {
		if _, err := ws.Case(demoCaseName(i)); err != nil {
			out = append(out, i)
		}
	}
	return out
}

// MakeDemoCases generates the missing phantom cases and imports each into
// ws like any other case (images only; the ground truth stays out of the
// workspace, as it would for real patients), preprocessed when o.Align is
// set. done is called after each case. With o.Candidates, a second pass
// then runs the default model over the new cases (the same code as AI >
// Find candidates), calling done again for each.
func MakeDemoCases(ctx context.Context, ws *workspace.Workspace, o DemoOptions, progress job.Progress, done func(name string)) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if progress == nil {
		progress = func(string, float64) {}
	}
	missing := MissingDemoCases(ws, o)
	for n, i := range missing {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := demoCaseName(i)
		progress(fmt.Sprintf("phantom %s (%d of %d)", name, n+1, len(missing)), float64(n)/float64(len(missing)))
		po := phantom.DefaultOptions(o.Size)
		po.Seed = o.Seed + int64(i)
		pc, err := phantom.Generate(po)
		if err != nil {
			return fmt.Errorf("demo case %s: %w", name, err)
		}
		tmp, err := os.MkdirTemp(ws.Dir(), ".phantom-")
		if err != nil {
			return fmt.Errorf("demo case %s: %w", name, err)
		}
		err = func() error {
			defer os.RemoveAll(tmp)
			if err := phantom.WriteCase(tmp, pc); err != nil {
				return err
			}
			req := workspace.ImportRequest{Name: name, By: "metascope demo", Sources: map[volume.Sequence]workspace.Source{}}
			for _, s := range volume.Sequences {
				req.Sources[s] = workspace.Source{Path: filepath.Join(tmp, phantom.ImageFile(s))}
			}
			_, err := ws.Import(ctx, req)
			return err
		}()
		if err != nil {
			return fmt.Errorf("demo case %s: %w", name, err)
		}
		if o.Align {
			c, err := ws.Case(name)
			if err != nil {
				return fmt.Errorf("demo case %s: %w", name, err)
			}
			lo, hi := (float64(n)+0.3)/float64(len(missing)), float64(n+1)/float64(len(missing))
			reg := func(stage string, done float64) {
				progress(fmt.Sprintf("registering %s (%d of %d): %s", name, n+1, len(missing), stage), lo+(hi-lo)*done)
			}
			if err := alignCase(ctx, c, reg); err != nil {
				return fmt.Errorf("demo case %s: preprocessing: %w", name, err)
			}
		}
		if done != nil {
			done(name)
		}
	}
	if o.Candidates && len(missing) > 0 {
		if err := demoCandidates(ctx, ws, missing, progress, done); err != nil {
			return err
		}
	}
	progress("done", 1)
	return nil
}

// demoCandidates loads the default model once and runs it over the demo
// cases listed. A workspace without a model (a build without the embedded
// demo model) is not an error for the demo: the cases stay, without
// candidates.
func demoCandidates(ctx context.Context, ws *workspace.Workspace, cases []int, progress job.Progress, done func(name string)) error {
	model, modelName, err := inference.DefaultModel(ws)
	if err != nil {
		progress("no model for AI candidates: "+err.Error(), 1)
		return nil
	}
	for n, i := range cases {
		name := demoCaseName(i)
		c, err := ws.Case(name)
		if err != nil {
			return fmt.Errorf("demo case %s: %w", name, err)
		}
		p := progress.Sub(float64(n)/float64(len(cases)), float64(n+1)/float64(len(cases)))
		step := func(stage string, f float64) {
			p(fmt.Sprintf("AI candidates %s (%d of %d): %s", name, n+1, len(cases), stage), f)
		}
		if _, err := runModel(ctx, c, "metascope demo", model, modelName, step); err != nil {
			return fmt.Errorf("demo case %s: AI candidates: %w", name, err)
		}
		if done != nil {
			done(name)
		}
	}
	return nil
}

// startDemoJob makes the missing demo cases in the background; each one
// appears in the case list when ready, and the first is opened.
func (w *Workstation) startDemoJob(o DemoOptions) {
	if len(MissingDemoCases(w.ws, o)) == 0 {
		return
	}
	err := w.jobs.Start("Making demo cases", func(ctx context.Context, progress job.Progress) error {
		return MakeDemoCases(ctx, w.ws, o, progress, func(name string) {
			fyne.Do(func() {
				if w.closed {
					return
				}
				w.refreshCases()
				switch {
				case w.cd == nil && w.loading == "":
					w.OpenCase(name)
				case w.cd != nil && w.cd.c.Name() == name && !w.strokeActive():
					// Its AI candidates arrived: show them.
					w.OpenCase(name)
				}
			})
		})
	})
	if err != nil {
		w.showError(err)
	}
	w.updateInfo()
}

// strokeActive reports whether the reader is in the middle of a stroke (a
// reload then would cut it short).
func (w *Workstation) strokeActive() bool {
	return w.cd != nil && w.cd.session != nil && w.cd.session.StrokeActive()
}

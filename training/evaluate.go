package training

import (
	"context"
	"fmt"
	"runtime/debug"

	"metascope/inference"
	"metascope/job"
	"metascope/lesion"
)

// Evaluation is an ensemble scored on a test set as the study did: the
// fused ensemble (majority vote) and each fold alone, pooled over scans,
// on each case's T1c grid.
type Evaluation struct {
	Fused lesion.CohortResult
	Folds []lesion.CohortResult
	// Cases are the fused per-case results, in test set order.
	Cases []lesion.CaseResult
}

// Table is the study's results table: the fused ensemble, then each fold.
func (e *Evaluation) Table() lesion.Table {
	cols := []lesion.TableColumn{{Name: "Ensemble (majority vote)", Result: e.Fused}}
	for i, f := range e.Folds {
		cols = append(cols, lesion.TableColumn{Name: fmt.Sprintf("Fold %d", i+1), Result: f})
	}
	t := lesion.StudyTable(cols)
	t.Extended = true
	return t
}

// EvaluateEnsemble predicts every test case with the ensemble (reading and,
// when needed, preprocessing it as inference does), maps the fused and the
// per-fold label maps back to the case's T1c grid, and scores them against
// the ground truth with opts.
func EvaluateEnsemble(ctx context.Context, e *inference.Ensemble, cases []Case, opts lesion.EvalOptions, progress job.Progress) (ev *Evaluation, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("evaluate: internal error: %v\n%s", r, debug.Stack())
		}
	}()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("evaluate: no test cases")
	}
	perFold := make([][]lesion.CaseResult, len(e.Folds))
	ev = &Evaluation{}
	for i, c := range cases {
		p := progress.Sub(float64(i)/float64(len(cases)), float64(i+1)/float64(len(cases)))
		p.Report("reading "+c.Name, 0)
		s, err := LoadSample(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		pred, err := inference.Predict(ctx, e, s.Pre.Images, s.Pre.BrainMask, inference.Options{Connectivity: opts.Conn}, p)
		if err != nil {
			return nil, fmt.Errorf("evaluate: case %s: %w", c.Name, err)
		}
		fused, err := s.Pre.LabelToReference(pred.Label)
		if err != nil {
			return nil, fmt.Errorf("evaluate: case %s: %w", c.Name, err)
		}
		r := lesion.EvaluateCase(s.Truth, fused, opts)
		r.Name = c.Name
		ev.Cases = append(ev.Cases, r)
		for f, fl := range pred.FoldLabels {
			ref, err := s.Pre.LabelToReference(fl)
			if err != nil {
				return nil, fmt.Errorf("evaluate: case %s: %w", c.Name, err)
			}
			fr := lesion.EvaluateCase(s.Truth, ref, opts)
			fr.Name = c.Name
			perFold[f] = append(perFold[f], fr)
		}
	}
	ev.Fused = lesion.Cohort(ev.Cases)
	for _, rs := range perFold {
		ev.Folds = append(ev.Folds, lesion.Cohort(rs))
	}
	return ev, nil
}

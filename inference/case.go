package inference

import (
	"context"
	"fmt"
	"time"

	"metascope/job"
	"metascope/preprocess"
	"metascope/volume"
)

// CaseResult is a prediction mapped into a case's T1c grid, where readers
// draw and where it is shown and stored.
type CaseResult struct {
	// Label (1 = candidate, nearest neighbour) and Prob (the folds' mean,
	// trilinear) on the T1c grid.
	Label *volume.Label
	Prob  *volume.Volume
	// Report lists the candidates as found on the T1c grid (positions and
	// volumes a reader sees), with the model's notice.
	Report CandidateReport
	// Network is the prediction on the preprocessed 1 mm grid.
	Network *Prediction
}

// PredictCase runs the ensemble on a preprocessed case and maps the result
// into the case's T1c grid. name is the model's name in the report (the
// model folder's name). The GUI and `metascope infer` both call it.
func PredictCase(ctx context.Context, e *Ensemble, name string, res *preprocess.Result, opts Options, progress job.Progress) (*CaseResult, error) {
	start := time.Now()
	pred, err := Predict(ctx, e, res.Images, res.BrainMask, opts, progress.Sub(0, 0.95))
	if err != nil {
		return nil, err
	}
	progress.Report("mapping to the T1c grid", 0.95)
	label, err := res.LabelToReference(pred.Label)
	if err != nil {
		return nil, fmt.Errorf("predict case: %w", err)
	}
	prob, err := res.VolumeToReference(pred.Prob)
	if err != nil {
		return nil, fmt.Errorf("predict case: %w", err)
	}
	var folds []*volume.Label
	for _, f := range pred.FoldLabels {
		fr, err := res.LabelToReference(f)
		if err != nil {
			return nil, fmt.Errorf("predict case: %w", err)
		}
		folds = append(folds, fr)
	}
	cands := Candidates(label, prob, folds, opts.Connectivity)
	progress.Report("done", 1)
	return &CaseResult{
		Label: label, Prob: prob, Network: pred,
		Report: NewReport(e, name, label.Grid, pred.Removed, cands, time.Since(start).Seconds()),
	}, nil
}

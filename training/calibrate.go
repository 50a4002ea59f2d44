package training

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime/debug"

	"metascope/inference"
	"metascope/job"
	"metascope/lesion"
)

// ThresholdPoint is the pooled out-of-fold result at one threshold.
type ThresholdPoint struct {
	Threshold float64
	Result    lesion.CohortResult
}

// CalibrateThreshold chooses the probability threshold of a trained
// ensemble on its own cross-validation: every validation case of fold f is
// predicted by fold f alone (the network that never trained on it), and
// the threshold with the best pooled F1 score wins. The test set plays no
// part. data must be the dataset the model was trained on; at most
// maxPerFold validation cases of each fold are used (0: all).
func CalibrateThreshold(ctx context.Context, e *inference.Ensemble, data *Dataset, thresholds []float64, maxPerFold int, opts lesion.EvalOptions, progress job.Progress) (best float64, pts []ThresholdPoint, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("calibrate: internal error: %v\n%s", r, debug.Stack())
		}
	}()
	var doc struct {
		Folds []FoldResult `json:"folds"`
	}
	if err := json.Unmarshal(e.Info.Data, &doc); err != nil || len(doc.Folds) != len(e.Folds) {
		return 0, nil, fmt.Errorf("calibrate: model %s does not list its folds' validation cases", e.Dir)
	}
	byName := map[string]Case{}
	for _, c := range data.Train {
		byName[c.Name] = c
	}
	results := make([][]lesion.CaseResult, len(thresholds))
	var jobs [][2]int // fold, case
	var cases []Case
	for f, fr := range doc.Folds {
		n := 0
		for _, name := range fr.Val {
			c, ok := byName[name]
			if !ok {
				return 0, nil, fmt.Errorf("calibrate: validation case %s of fold %d is not in %s", name, f+1, data.Source)
			}
			if maxPerFold > 0 && n >= maxPerFold {
				break
			}
			jobs = append(jobs, [2]int{f, len(cases)})
			cases = append(cases, c)
			n++
		}
	}
	for i, j := range jobs {
		progress.Report("calibrating on "+cases[j[1]].Name, float64(i)/float64(len(jobs)))
		s, err := LoadSample(ctx, cases[j[1]])
		if err != nil {
			return 0, nil, fmt.Errorf("calibrate: %w", err)
		}
		prob, err := inference.PredictProb(ctx, e.Folds[j[0]], s.Pre.Images[:], s.Pre.BrainMask, inference.DefaultSegment, nil)
		if err != nil {
			return 0, nil, fmt.Errorf("calibrate: case %s: %w", s.Name, err)
		}
		for ti, t := range thresholds {
			lab, _ := lesion.RemoveSmall(lesion.Threshold(prob, float32(t)), e.Info.MinComponentCM3, opts.Conn)
			ref, err := s.Pre.LabelToReference(lab)
			if err != nil {
				return 0, nil, fmt.Errorf("calibrate: case %s: %w", s.Name, err)
			}
			results[ti] = append(results[ti], lesion.EvaluateCase(s.Truth, ref, opts))
		}
	}
	bestF1 := math.Inf(-1)
	for ti, t := range thresholds {
		r := lesion.Cohort(results[ti])
		pts = append(pts, ThresholdPoint{Threshold: t, Result: r})
		if f1 := r.F1; !math.IsNaN(f1) && f1 > bestF1 {
			best, bestF1 = t, f1
		}
	}
	if math.IsInf(bestF1, -1) {
		return 0, pts, fmt.Errorf("calibrate: no threshold gives a defined F1 score")
	}
	progress.Report("calibrated", 1)
	return best, pts, nil
}

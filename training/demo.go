package training

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"metascope/inference"
	"metascope/job"
	"metascope/lesion"
	"metascope/phantom"
	"metascope/preprocess"
)

// DemoOptions describe the demo model's pipeline: a phantom cohort like
// the study's (55 training, 14 test cases), a fold ensemble trained on the
// training cases, scored on the test cases.
type DemoOptions struct {
	// WorkDir holds the cohort (WorkDir/cohort, with each case's cached
	// preprocessing) and the training run (WorkDir/run); a rerun reuses
	// both and resumes training.
	WorkDir string
	// OutDir receives the model folder that ships (model.json + folds).
	OutDir string
	// Cases and Seed make the cohort (69 and 1: the study's size).
	Cases int
	Seed  int64
	// MaxTrain and MaxTest, when positive, use only the first cases of
	// each split: a quicker, weaker model from the same cohort.
	MaxTrain, MaxTest int
	// Training are the training options (DemoTrainingOptions).
	Training Options
	// Progress receives training progress; Stage receives the other
	// stages (cohort, evaluation). Both may be nil.
	Progress ProgressFunc
	Stage    job.Progress
}

// DemoTrainingOptions is what the shipped demo model is trained with: the
// demo network on 12^3 output patches (DeepMedic's own training segment is
// 9^3, a 25^3 input to the normal pathway; a little more output per patch
// shows the network more background around each lesion), batch 10, 5
// folds, 20 epochs of 280 patches: about an hour on two cores (8 epochs,
// the first model's, left 3.07 false positives per test scan; 20 left
// 1.21).
func DemoTrainingOptions() Options {
	o := DefaultOptions()
	o.Network = NetworkConfig(Demo)
	o.PatchSize = 12
	o.Epochs = 20
	o.PatchesPerEpoch = 280
	o.ValPatches = 60
	o.CasesLoaded = 12
	o.LearningRate = 2e-3
	o.Patience = 2
	return o
}

// DemoResult is the finished demo: the model folder and its test score.
type DemoResult struct {
	Model      string
	Train      *Result
	Evaluation *Evaluation
	TestCases  []string
	// Excluded are the cases left out, with the reason.
	Excluded []string
}

// Preprocessable preprocesses (and caches) every case that has no cached
// preprocessing yet and returns those that have one, and the others with
// the reason they failed. Only cancellation is an error.
func Preprocessable(ctx context.Context, cases []Case) (ok []Case, excluded []string, err error) {
	for _, c := range cases {
		if _, err := os.Stat(filepath.Join(c.PreprocDir, preprocess.ManifestFile)); err == nil {
			ok = append(ok, c)
			continue
		}
		if _, err := LoadSample(ctx, c); err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			excluded = append(excluded, fmt.Sprintf("%s: %v", c.Name, err))
			continue
		}
		ok = append(ok, c)
	}
	return ok, excluded, nil
}

// RunDemo generates the cohort (if WorkDir has none), trains the ensemble,
// copies it to OutDir and evaluates it on the test split.
func RunDemo(ctx context.Context, o DemoOptions) (*DemoResult, error) {
	if o.WorkDir == "" || o.OutDir == "" {
		return nil, errors.New("demo: WorkDir and OutDir are required")
	}
	cohort := filepath.Join(o.WorkDir, "cohort")
	if _, err := os.Stat(filepath.Join(cohort, phantom.ManifestFile)); err != nil {
		co := phantom.DefaultCohortOptions(phantom.Full)
		co.Cases, co.Seed = o.Cases, o.Seed
		if _, err := phantom.GenerateCohort(ctx, co, cohort, o.Stage.Sub(0, 0.1)); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	d, err := OpenDataset(cohort)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if o.MaxTrain > 0 && len(d.Train) > o.MaxTrain {
		d.Train = d.Train[:o.MaxTrain]
	}
	if o.MaxTest > 0 && len(d.Test) > o.MaxTest {
		d.Test = d.Test[:o.MaxTest]
	}
	// Cases whose preprocessing fails (a skull strip out of bounds, say)
	// are left out and listed, as a study lists its exclusions.
	var excluded []string
	if d.Train, excluded, err = Preprocessable(ctx, d.Train); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	var exTest []string
	if d.Test, exTest, err = Preprocessable(ctx, d.Test); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	excluded = append(excluded, exTest...)
	run := filepath.Join(o.WorkDir, "run")
	desc := fmt.Sprintf("Demo model: %d-fold ensemble of the %s network trained on %d synthetic phantom cases (metascope demomodel), scored on %d held-out phantom cases.",
		o.Training.Folds, "demo", len(d.Train), len(d.Test))
	tr, err := Train(ctx, d, o.Training, RunOptions{OutDir: run, Name: "demo", Description: desc, Resume: true,
		SyntheticData: true, Progress: o.Progress})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	e, err := inference.LoadModel(run)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	info := e.Info
	info.Created = time.Now().UTC().Format(time.RFC3339)
	if err := inference.SaveModel(o.OutDir, info, e.Folds); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	res := &DemoResult{Model: o.OutDir, Train: tr, Excluded: excluded}
	for _, c := range d.Test {
		res.TestCases = append(res.TestCases, c.Name)
	}
	if len(d.Test) > 0 {
		if res.Evaluation, err = EvaluateEnsemble(ctx, e, d.Test, lesion.DefaultEvalOptions(), o.Stage.Sub(0.9, 1)); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	return res, nil
}

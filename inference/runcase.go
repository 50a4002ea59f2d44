package inference

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"metascope/job"
	"metascope/preprocess"
	"metascope/volume"
	"metascope/workspace"
)

// CaseJob is one case to find candidates in.
type CaseJob struct {
	// Files are the case's four images, read only when PreprocDir holds no
	// preprocessed result yet.
	Files preprocess.CaseFiles
	// PreprocDir is the case's preproc/ folder: read when present, else
	// written by preprocessing the case first.
	PreprocDir string
	// CandidatesDir receives <model>.json, <model>.nii.gz, <model>_prob.nii.gz.
	CandidatesDir string
	// Model and its name in the report and file names (see FindModel).
	Model     *Ensemble
	ModelName string
	Options   Options
	// Audit, when set, is the workspace case whose audit log records the
	// run, as done by Who.
	Audit *workspace.Case
	Who   string
}

// FolderJob is the job for a case folder holding t1, t2, t1c and flair
// .nii.gz: preproc/ and candidates/ inside it.
func FolderJob(dir string, model *Ensemble, modelName string) CaseJob {
	return CaseJob{
		Files:      preprocess.FolderFiles(dir),
		PreprocDir: filepath.Join(dir, "preproc"), CandidatesDir: filepath.Join(dir, "candidates"),
		Model: model, ModelName: modelName,
	}
}

// WorkspaceJob is the job for a workspace case, audited as done by who.
func WorkspaceJob(c *workspace.Case, who string, model *Ensemble, modelName string) CaseJob {
	j := CaseJob{PreprocDir: c.PreprocDir(), CandidatesDir: c.CandidatesDir(), Model: model, ModelName: modelName, Audit: c, Who: who}
	for _, s := range volume.Sequences {
		j.Files[s] = c.ImagePath(s)
	}
	return j
}

// Validate checks the job.
func (j CaseJob) Validate() error {
	switch {
	case j.Model == nil:
		return errors.New("find candidates: no model")
	case j.ModelName == "":
		return errors.New("find candidates: no model name")
	case j.PreprocDir == "" || j.CandidatesDir == "":
		return errors.New("find candidates: no preproc or candidates folder")
	case j.Audit != nil && j.Who == "":
		return errors.New("find candidates: an audited run needs Who")
	}
	return nil
}

// CaseRun is what RunCase did.
type CaseRun struct {
	// Report is the candidate list as written; Report.Seconds is the whole
	// run's time.
	Report CandidateReport
	// ListPath is the candidate list's file.
	ListPath string
	// Preprocessed tells whether the case was preprocessed first.
	Preprocessed bool
	// PreprocessSeconds (reading or preprocessing) and NetworkSeconds.
	PreprocessSeconds, NetworkSeconds float64
}

// RunCase is `metascope infer` and the workstation's Find candidates: it
// preprocesses the case when its preproc/ folder is missing, runs the
// model's folds, writes the candidates into the case and, for a workspace
// case, records the run in its audit log. progress gets the stage and the
// whole run's fraction; cancelling ctx stops it between and within steps,
// with no candidates written.
func RunCase(ctx context.Context, j CaseJob, progress job.Progress) (*CaseRun, error) {
	if err := j.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	// Preprocessing, when it runs, takes about as long as the networks.
	netFrom := 0.5
	res, ran, err := preprocess.ReadOrRunCase(ctx, j.Files, j.PreprocDir, preprocess.DefaultOptions(),
		func(stage string, done float64) { progress.Report("preprocess: "+stage, netFrom*done) })
	if err != nil {
		return nil, err
	}
	if !ran {
		netFrom = 0.02
	}
	tPre := time.Since(start)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cr, err := PredictCase(ctx, j.Model, j.ModelName, res, j.Options, progress.Sub(netFrom, 0.98))
	if err != nil {
		return nil, err
	}
	tNet := time.Since(start) - tPre
	rep := cr.Report
	rep.Seconds = time.Since(start).Seconds()
	// Past this point the run completes: a cancel would leave the
	// candidates and the audit log disagreeing.
	progress.Report("writing candidates", 0.98)
	if err := WriteCandidates(j.CandidatesDir, rep, cr.Label, cr.Prob); err != nil {
		return nil, err
	}
	if j.Audit != nil {
		if err := j.Audit.Audit(j.Who, "AI candidates", map[string]any{
			"model": j.ModelName, "folds": len(j.Model.Folds), "candidates": len(rep.Candidates), "synthetic_data": rep.SyntheticData,
		}); err != nil {
			return nil, fmt.Errorf("find candidates: %w", err)
		}
	}
	list, _, _ := CandidatePaths(j.CandidatesDir, j.ModelName)
	progress.Report("done", 1)
	return &CaseRun{
		Report: rep, ListPath: list, Preprocessed: ran,
		PreprocessSeconds: tPre.Seconds(), NetworkSeconds: tNet.Seconds(),
	}, nil
}

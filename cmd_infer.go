package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"metascope/inference"
	"metascope/workspace"
)

func cmdInfer(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("infer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelFlag := fs.String("model", "", "model folder (model.json + fold weights), or a model name in the workspace (default: the workspace's models/demo, else the built-in demo model)")
	ws := fs.String("workspace", "", "workspace folder (with --case)")
	caseName := fs.String("case", "", "case name in the workspace")
	segment := fs.Int("segment", inference.DefaultSegment, "output edge of an inference tile in voxels (a multiple of 6; 60 measured fastest; larger uses more memory)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage:")
		fmt.Fprintln(stderr, "  metascope infer [--model DIR] CASE_DIR                (t1, t2, t1c, flair .nii.gz inside)")
		fmt.Fprintln(stderr, "  metascope infer [--model DIR|NAME] --workspace W --case C")
		fmt.Fprintln(stderr, "\nRuns the model's fold networks over the preprocessed brain (preprocessing the case first")
		fmt.Fprintln(stderr, "when its preproc/ folder is missing), fuses them by majority vote, drops components under")
		fmt.Fprintln(stderr, "the model's minimum volume, and writes candidates/<model>.json (the candidate list),")
		fmt.Fprintln(stderr, "<model>.nii.gz (label map) and <model>_prob.nii.gz (mean probability) on the T1c grid.")
		fmt.Fprintln(stderr, "Research software, not a medical device.")
		fs.PrintDefaults()
	}
	pos, code, ok := parseCommandLine(fs, args)
	if !ok {
		return code
	}
	usageErr := func(msg string) int { return usageError(fs, stderr, msg) }
	fail := func(err error) int { return commandError(stderr, "infer", err) }
	if *segment <= 0 || *segment%6 != 0 || *segment > 300 {
		return usageErr(fmt.Sprintf("--segment %d: must be a positive multiple of 6, at most 300", *segment))
	}

	var (
		wsp *workspace.Workspace
		err error
	)
	var j inference.CaseJob
	switch {
	case *ws != "" || *caseName != "":
		if *ws == "" || *caseName == "" || len(pos) > 0 {
			return usageErr("--workspace and --case go together, without a case folder")
		}
		if wsp, err = workspace.Open(*ws); err != nil {
			return fail(err)
		}
		c, err := wsp.Case(*caseName)
		if err != nil {
			return fail(err)
		}
		j = inference.WorkspaceJob(c, "metascope infer", nil, "")
	case len(pos) == 1:
		j = inference.FolderJob(pos[0], nil, "")
	default:
		return usageErr("give a case folder, or --workspace and --case")
	}
	if j.Model, j.ModelName, err = inference.FindModel(*modelFlag, wsp); err != nil {
		return fail(err)
	}
	j.Options = inference.Options{Segment: *segment}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgressBar(stderr, *quiet)
	run, err := inference.RunCase(ctx, j, bar.update)
	bar.finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "metascope infer: interrupted; nothing written")
			return exitError
		}
		return fail(err)
	}
	rep, folds := run.Report, len(j.Model.Folds)
	fmt.Fprintf(stdout, "%d candidate(s) from model %s (%d folds) written to %s\n", len(rep.Candidates), j.ModelName, folds, run.ListPath)
	for _, c := range rep.Candidates {
		fmt.Fprintf(stdout, "  #%-3d %8.3f cm3  at RAS %6.1f %6.1f %6.1f mm  max p %.2f  mean p %.2f  folds %d/%d\n",
			c.ID, c.VolumeCM3, c.CentroidRAS[0], c.CentroidRAS[1], c.CentroidRAS[2], c.MaxProb, c.MeanProb, c.Folds, folds)
	}
	fmt.Fprintf(stdout, "time: preprocessing %.1f s, networks %.1f s, total %.1f s\n", run.PreprocessSeconds, run.NetworkSeconds, rep.Seconds)
	fmt.Fprintln(stdout, rep.Notice)
	return exitOK
}

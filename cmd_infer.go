package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"metascope/inference"
	"metascope/preprocess"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// demoModelName is the folder name of the demo model in a workspace's
// models/ and in models/ beside the executable; `metascope demomodel`
// writes it to assets/demomodel.
const demoModelName = "demo"

func cmdInfer(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("infer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelFlag := fs.String("model", "", "model folder (model.json + fold weights), or a model name in the workspace (default: the demo model)")
	ws := fs.String("workspace", "", "workspace folder (with --case)")
	caseName := fs.String("case", "", "case name in the workspace")
	segment := fs.Int("segment", inference.DefaultSegment, "output edge of an inference tile in voxels (a multiple of 6; larger is faster, uses more memory)")
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
	pos, err := parseMixedFlags(fs, args)
	if err == flag.ErrHelp {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	usageErr := func(msg string) int {
		fmt.Fprintf(stderr, "metascope infer: %s\n\n", msg)
		fs.Usage()
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "metascope infer: %v\n", err)
		return exitError
	}
	if *segment <= 0 || *segment%6 != 0 || *segment > 300 {
		return usageErr(fmt.Sprintf("--segment %d: must be a positive multiple of 6, at most 300", *segment))
	}

	var files [4]string
	var preprocDir, candDir string
	var wsp *workspace.Workspace
	var wsCase *workspace.Case
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
		wsCase = c
		for _, s := range volume.Sequences {
			files[s] = c.ImagePath(s)
		}
		preprocDir, candDir = c.PreprocDir(), c.CandidatesDir()
	case len(pos) == 1:
		for _, s := range volume.Sequences {
			files[s] = filepath.Join(pos[0], s.String()+".nii.gz")
		}
		preprocDir, candDir = filepath.Join(pos[0], "preproc"), filepath.Join(pos[0], "candidates")
	default:
		return usageErr("give a case folder, or --workspace and --case")
	}

	modelDir, err := findModel(*modelFlag, wsp)
	if err != nil {
		return fail(err)
	}
	model, err := inference.LoadModel(modelDir)
	if err != nil {
		return fail(err)
	}
	modelName := filepath.Base(filepath.Clean(modelDir))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgressBar(stderr, *quiet)
	defer bar.finish()
	start := time.Now()

	res, err := readOrPreprocess(ctx, files, preprocDir, bar.update)
	if err != nil {
		bar.finish()
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "metascope infer: interrupted; nothing written")
			return exitError
		}
		return fail(err)
	}
	tPre := time.Since(start)

	cr, err := inference.PredictCase(ctx, model, modelName, res, inference.Options{Segment: *segment}, bar.update)
	if err != nil {
		bar.finish()
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "metascope infer: interrupted; nothing written")
			return exitError
		}
		return fail(err)
	}
	tNet := time.Since(start) - tPre
	rep := cr.Report
	rep.Seconds = time.Since(start).Seconds()
	cands := rep.Candidates
	if err := inference.WriteCandidates(candDir, rep, cr.Label, cr.Prob); err != nil {
		return fail(err)
	}
	if wsCase != nil {
		if err := wsCase.Audit("metascope infer", "AI candidates", map[string]any{
			"model": modelName, "folds": len(model.Folds), "candidates": len(cands), "synthetic_data": rep.SyntheticData,
		}); err != nil {
			return fail(err)
		}
	}
	bar.finish()
	list, _, _ := inference.CandidatePaths(candDir, modelName)
	fmt.Fprintf(stdout, "%d candidate(s) from model %s (%d folds) written to %s\n", len(cands), modelName, len(model.Folds), list)
	for _, c := range cands {
		fmt.Fprintf(stdout, "  #%-3d %8.3f cm3  at RAS %6.1f %6.1f %6.1f mm  max p %.2f  mean p %.2f  folds %d/%d\n",
			c.ID, c.VolumeCM3, c.CentroidRAS[0], c.CentroidRAS[1], c.CentroidRAS[2], c.MaxProb, c.MeanProb, c.Folds, len(model.Folds))
	}
	fmt.Fprintf(stdout, "time: preprocessing %.1f s, networks %.1f s, total %.1f s\n", tPre.Seconds(), tNet.Seconds(), time.Since(start).Seconds())
	fmt.Fprintln(stdout, rep.Notice)
	return exitOK
}

// findModel resolves --model: a folder, or a model name in the workspace;
// without it, the demo model in the workspace or beside the executable.
func findModel(flagValue string, w *workspace.Workspace) (string, error) {
	if flagValue != "" {
		if st, err := os.Stat(flagValue); err == nil && st.IsDir() {
			return flagValue, nil
		}
		if w != nil {
			if d, err := w.ModelDir(flagValue); err == nil {
				if _, err := os.Stat(filepath.Join(d, inference.ModelFile)); err == nil {
					return d, nil
				}
			}
		}
		return "", fmt.Errorf("model %q: no such model folder", flagValue)
	}
	var tried []string
	if w != nil {
		if d, err := w.ModelDir(demoModelName); err == nil {
			if _, err := os.Stat(filepath.Join(d, inference.ModelFile)); err == nil {
				return d, nil
			}
			tried = append(tried, d)
		}
	}
	// Beside the executable (an installed program), then where
	// `metascope demomodel` writes it in a checkout.
	var cands []string
	if exe, err := os.Executable(); err == nil {
		cands = append(cands, filepath.Join(filepath.Dir(exe), "models", demoModelName),
			filepath.Join(filepath.Dir(exe), "assets", "demomodel"))
	}
	cands = append(cands, filepath.Join("assets", "demomodel"))
	for _, d := range cands {
		if _, err := os.Stat(filepath.Join(d, inference.ModelFile)); err == nil {
			return d, nil
		}
		tried = append(tried, d)
	}
	return "", fmt.Errorf("no --model given and no demo model found (looked in %v); train one or pass --model DIR", tried)
}

// readOrPreprocess reads the case's preprocessed folder, or preprocesses
// the case into it first.
func readOrPreprocess(ctx context.Context, files [4]string, dir string, progress func(string, float64)) (*preprocess.Result, error) {
	if _, err := os.Stat(filepath.Join(dir, preprocess.ManifestFile)); err == nil {
		return preprocess.ReadResult(dir)
	}
	var in preprocess.Inputs
	for _, s := range volume.Sequences {
		v, err := nifti.ReadVolume(files[s])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Title(), err)
		}
		in.Images[s] = v
	}
	res, err := preprocess.Run(ctx, in, preprocess.DefaultOptions(), func(stage string, done float64) {
		progress("preprocess: "+stage, done)
	})
	if err != nil {
		return nil, err
	}
	if err := preprocess.WriteResult(dir, res); err != nil {
		return nil, err
	}
	return res, nil
}

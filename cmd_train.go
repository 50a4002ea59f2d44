package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"metascope/inference"
	"metascope/lesion"
	"metascope/training"
	"metascope/workspace"
)

func cmdTrain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := training.DefaultOptions()
	data := fs.String("data", "", "training data: a workspace (cases marked ready), an nnU-Net folder (dataset.json) or a phantom cohort (manifest.json)")
	out := fs.String("out", "", "model folder to write (a plain name goes into the workspace's models/ when --data is a workspace)")
	folds := fs.Int("folds", def.Folds, "cross-validation folds (split by case)")
	epochs := fs.Int("epochs", def.Epochs, "epochs per fold")
	preset := fs.String("config", "full", "network size: tiny, demo or full (the study's)")
	seed := fs.Uint64("seed", def.Seed, "seed of every random choice (same seed, same bits)")
	resume := fs.Bool("resume", false, "continue the run in --out from its checkpoints")
	patch := fs.Int("patch", 0, "output edge of a training patch in voxels, a multiple of 3 (default 24 for full, 9 for demo and tiny)")
	batchSize := fs.Int("batch", def.BatchSize, "patches per step")
	perEpoch := fs.Int("patches-per-epoch", def.PatchesPerEpoch, "patches per epoch")
	lr := fs.Float64("lr", def.LearningRate, "initial RMSprop learning rate")
	evalOnly := fs.Bool("eval-only", false, "do not train: evaluate --model on --test")
	model := fs.String("model", "", "model folder to evaluate (with --eval-only)")
	test := fs.String("test", "", "test set: a phantom cohort (its test split), workspace or nnU-Net folder; evaluated after training too")
	md := fs.String("md", "", "also write the results table as Markdown to `FILE`")
	csvOut := fs.String("csv", "", "also write the results table as CSV to `FILE`")
	calibrate := fs.Bool("calibrate", false, "do not train: choose --model's threshold on its own cross-validation folds of --data (out-of-fold F1) and rewrite its model.json")
	perFold := fs.Int("max-per-fold", 0, "with --calibrate: validation cases used per fold (0: all)")
	quiet := fs.Bool("quiet", false, "no progress line")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage:")
		fmt.Fprintln(stderr, "  metascope train --data DIR --out models/NAME [--folds 5] [--epochs 35] [--config tiny|demo|full] [--seed N] [--resume] [--test DIR]")
		fmt.Fprintln(stderr, "  metascope train --eval-only --model DIR --test DIR [--md FILE] [--csv FILE]")
		fmt.Fprintln(stderr, "  metascope train --calibrate --model DIR --data DIR [--max-per-fold N]")
		fmt.Fprintln(stderr, "\nTrains a k-fold ensemble (patches half on lesion, half on brain, random flips, Dice loss,")
		fmt.Fprintln(stderr, "RMSprop, learning rate halved after 3 epochs without validation progress), checkpointing")
		fmt.Fprintln(stderr, "every epoch into OUT/training (Ctrl-C stops; --resume continues exactly), and writes the")
		fmt.Fprintln(stderr, "model folder. With --test, prints the study's table for the fused ensemble and each fold.")
		fmt.Fprintln(stderr, "Research software, not a medical device.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err == flag.ErrHelp {
		return exitOK
	} else if err != nil {
		return exitUsage
	}
	usageErr := func(msg string) int { return usageError(fs, stderr, msg) }
	fail := func(err error) int { return commandError(stderr, "train", err) }
	if fs.NArg() > 0 {
		return usageErr("unexpected arguments: " + strings.Join(fs.Args(), " "))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *calibrate {
		if *model == "" || *data == "" {
			return usageErr("--calibrate needs --model and --data")
		}
		return calibrateModel(ctx, *model, *data, *perFold, *quiet, stdout, stderr)
	}
	if *evalOnly {
		if *model == "" || *test == "" {
			return usageErr("--eval-only needs --model and --test")
		}
		e, err := inference.LoadModel(*model)
		if err != nil {
			return fail(err)
		}
		return evalAndPrint(ctx, e, *test, *md, *csvOut, *quiet, stdout, stderr)
	}
	if *data == "" || *out == "" {
		return usageErr("--data and --out are required")
	}
	p, err := training.ParsePreset(*preset)
	if err != nil {
		return usageErr(err.Error())
	}
	o := def
	o.Network = training.NetworkConfig(p)
	if p != training.Full {
		o.PatchSize = 9
	}
	if *patch != 0 {
		o.PatchSize = *patch
	}
	o.Folds, o.Epochs, o.Seed, o.BatchSize, o.PatchesPerEpoch, o.LearningRate = *folds, *epochs, *seed, *batchSize, *perEpoch, *lr
	if err := o.Validate(); err != nil {
		return usageErr(err.Error())
	}
	d, err := training.OpenDataset(*data)
	if err != nil {
		return fail(err)
	}
	outDir := *out
	if d.Kind == "workspace" && !strings.ContainsAny(outDir, `/\`) {
		w, err := workspace.Open(*data)
		if err != nil {
			return fail(err)
		}
		if outDir, err = w.ModelDir(outDir); err != nil {
			return fail(err)
		}
	}
	line := newTrainLine(stderr, *quiet)
	res, err := training.Train(ctx, d, o, training.RunOptions{
		OutDir: outDir, Name: filepath.Base(outDir), Resume: *resume, SyntheticData: d.Kind == "phantom",
		Description: fmt.Sprintf("%d-fold ensemble (%s network) trained on %d cases of %s", o.Folds, p, len(d.Train), d.Source),
		Progress:    line.update,
	})
	line.finish()
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "metascope train: stopped; continue with --resume (checkpoints in %s)\n", training.TrainingDir(outDir))
		}
		return fail(err)
	}
	fmt.Fprintf(stdout, "model written to %s (%d folds)\n", res.ModelDir, len(res.Folds))
	for _, f := range res.Folds {
		fmt.Fprintf(stdout, "  fold %d: %d training, %d validation cases, validation Dice %.3f, loss %.3f; curve in %s\n",
			f.Fold, len(f.Train), len(f.Val), f.ValDice, f.ValLoss, filepath.Join(training.TrainingDir(outDir), fmt.Sprintf("fold-%d", f.Fold), training.CurvePNG))
	}
	if *test == "" {
		return exitOK
	}
	e, err := inference.LoadModel(outDir)
	if err != nil {
		return fail(err)
	}
	return evalAndPrint(ctx, e, *test, *md, *csvOut, *quiet, stdout, stderr)
}

// evalAndPrint scores an ensemble on a test set and prints the study's
// table (fused ensemble and each fold).
func evalAndPrint(ctx context.Context, e *inference.Ensemble, testDir, md, csvPath string, quiet bool, stdout, stderr io.Writer) int {
	d, err := training.OpenDataset(testDir)
	if err != nil {
		return commandError(stderr, "train", err)
	}
	cases := d.Test
	if len(cases) == 0 {
		cases = d.Train
	}
	bar := newProgressBar(stderr, quiet)
	ev, err := training.EvaluateEnsemble(ctx, e, cases, lesion.DefaultEvalOptions(), bar.update)
	bar.finish()
	if err != nil {
		return commandError(stderr, "train", err)
	}
	return printEvaluation(ev, e, len(cases), md, csvPath, stdout, stderr)
}

func printEvaluation(ev *training.Evaluation, e *inference.Ensemble, n int, md, csvPath string, stdout, stderr io.Writer) int {
	t := ev.Table()
	fmt.Fprintf(stdout, "\nModel %s on %d test cases:\n\n", e.Dir, n)
	if err := t.WriteMarkdown(stdout); err != nil {
		return commandError(stderr, "train", err)
	}
	fmt.Fprintln(stdout, "\nSensitivity by lesion size (fused ensemble):")
	for _, b := range ev.Fused.SensitivityBySize {
		fmt.Fprintf(stdout, "  %-14s %2d/%-2d  %s\n", b.Label(), b.Detected, b.Lesions, pct(b.Sensitivity))
	}
	if e.Info.SyntheticData {
		fmt.Fprintln(stdout, "\n"+inference.SyntheticNotice)
	}
	for path, write := range map[string]func(io.Writer) error{md: t.WriteMarkdown, csvPath: t.WriteCSV} {
		if path == "" {
			continue
		}
		f, err := os.Create(path)
		if err == nil {
			err = write(f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return commandError(stderr, "train", err)
		}
	}
	return exitOK
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.0f %%", 100*x)
}

// trainLine is the terminal's view of training progress: one line,
// rewritten at most every half second.
type trainLine struct {
	mu    sync.Mutex
	w     io.Writer
	quiet bool
	last  time.Time
	drawn bool
}

func newTrainLine(w io.Writer, quiet bool) *trainLine { return &trainLine{w: w, quiet: quiet} }

func (l *trainLine) update(p training.Progress) {
	if l.quiet {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.last) < 500*time.Millisecond && p.Stage == "training" && p.Step != p.Steps {
		return
	}
	l.last, l.drawn = time.Now(), true
	val := "-"
	if !math.IsNaN(p.ValDice) {
		val = fmt.Sprintf("%.3f", p.ValDice)
	}
	fmt.Fprintf(l.w, "\r%3.0f%% fold %d/%d epoch %d/%d step %d/%d loss %.4f val Dice %s lr %.2g %s, %s left  ",
		100*p.Done, p.Fold, p.Folds, p.Epoch, p.Epochs, p.Step, p.Steps, p.Loss, val, p.LearningRate,
		p.Elapsed.Round(time.Second), p.Remaining.Round(time.Second))
}

func (l *trainLine) finish() {
	if l.drawn {
		fmt.Fprintln(l.w)
	}
}

// calibrateModel sets a model's threshold to the one with the best
// out-of-fold F1 on its training data, and prints the candidates.
func calibrateModel(ctx context.Context, modelDir, dataDir string, perFold int, quiet bool, stdout, stderr io.Writer) int {
	fail := func(err error) int { return commandError(stderr, "train", err) }
	e, err := inference.LoadModel(modelDir)
	if err != nil {
		return fail(err)
	}
	d, err := training.OpenDataset(dataDir)
	if err != nil {
		return fail(err)
	}
	ths := []float64{0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98}
	bar := newProgressBar(stderr, quiet)
	best, pts, err := training.CalibrateThreshold(ctx, e, d, ths, perFold, lesion.DefaultEvalOptions(), bar.update)
	bar.finish()
	if err != nil {
		return fail(err)
	}
	fmt.Fprintln(stdout, "threshold  sensitivity  precision  F1    FPs/scan  (out-of-fold, pooled)")
	for _, p := range pts {
		r := p.Result
		fmt.Fprintf(stdout, "%9.2f  %11s  %9s  %4.2f  %8.2f\n", p.Threshold, pct(r.Sensitivity), pct(r.Precision), r.F1, r.FPPerScan)
	}
	info := e.Info
	info.Threshold = best
	if err := inference.SaveModel(modelDir, info, e.Folds); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "threshold of %s set to %.2f\n", modelDir, best)
	return exitOK
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"metascope/inference"
	"metascope/training"
)

func cmdDemoModel(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demomodel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := training.DemoTrainingOptions()
	out := fs.String("out", "assets/demomodel", "model folder to write (the shipped demo model)")
	work := fs.String("work", "", "work folder: the phantom cohort, its preprocessing and the training run (reused and resumed)")
	cases := fs.Int("cases", 69, "cohort size (the study: 69, of which 14 test)")
	seed := fs.Int64("seed", 1, "cohort seed")
	maxTrain := fs.Int("max-train", 0, "use only the first N training cases (0: all)")
	maxTest := fs.Int("max-test", 0, "use only the first N test cases (0: all)")
	epochs := fs.Int("epochs", def.Epochs, "epochs per fold")
	perEpoch := fs.Int("patches-per-epoch", def.PatchesPerEpoch, "patches per epoch")
	folds := fs.Int("folds", def.Folds, "cross-validation folds")
	patch := fs.Int("patch", def.PatchSize, "output edge of a training patch (a multiple of 3)")
	md := fs.String("md", "", "also write the test table as Markdown to `FILE`")
	quiet := fs.Bool("quiet", false, "no progress line")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: metascope demomodel --work DIR [--out assets/demomodel] [--cases 69] [--epochs N]")
		fmt.Fprintln(stderr, "\nGenerates a synthetic phantom cohort like the study's (55 training, 14 test cases),")
		fmt.Fprintln(stderr, "preprocesses it, trains the demo-size fold ensemble, writes it to --out and prints its")
		fmt.Fprintln(stderr, "table on the test cases. Synthetic data: the demo model is not a medical device.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err == flag.ErrHelp {
		return exitOK
	} else if err != nil {
		return exitUsage
	}
	if *work == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "metascope demomodel: --work is required and takes no arguments")
		fs.Usage()
		return exitUsage
	}
	o := def
	o.Epochs, o.PatchesPerEpoch, o.Folds, o.PatchSize = *epochs, *perEpoch, *folds, *patch
	if err := o.Validate(); err != nil {
		fmt.Fprintf(stderr, "metascope demomodel: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	line := newTrainLine(stderr, *quiet)
	bar := newProgressBar(stderr, *quiet)
	began := time.Now()
	res, err := training.RunDemo(ctx, training.DemoOptions{
		WorkDir: *work, OutDir: *out, Cases: *cases, Seed: *seed, MaxTrain: *maxTrain, MaxTest: *maxTest,
		Training: o, Progress: line.update, Stage: bar.update,
	})
	line.finish()
	bar.finish()
	if err != nil {
		return commandError(stderr, "demomodel", err)
	}
	fmt.Fprintf(stdout, "demo model written to %s in %s\n", res.Model, time.Since(began).Round(time.Second))
	for _, x := range res.Excluded {
		fmt.Fprintf(stdout, "  excluded %s\n", x)
	}
	for _, f := range res.Train.Folds {
		fmt.Fprintf(stdout, "  fold %d: validation Dice %.3f on %d cases\n", f.Fold, f.ValDice, len(f.Val))
	}
	if res.Evaluation == nil {
		return exitOK
	}
	e, err := inference.LoadModel(res.Model)
	if err != nil {
		return commandError(stderr, "demomodel", err)
	}
	return printEvaluation(res.Evaluation, e, len(res.TestCases), *md, "", stdout, stderr)
}

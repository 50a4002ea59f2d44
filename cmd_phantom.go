package main

import (
	"context"
	"flag"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"

	"metascope/internal/atomicfile"
	"metascope/phantom"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

func cmdPhantom(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("phantom", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cases := fs.Int("cases", 1, "number of cases")
	seed := fs.Int64("seed", 1, "cohort seed (each case's seed derives from it)")
	out := fs.String("out", "", "output folder: one folder per case plus manifest.json")
	size := fs.String("size", "small", "small (3 mm, for tests) or full (1 mm T1c, 2D thick-slice T2/FLAIR)")
	noMets := fs.Bool("no-mets", false, "generate control scans without metastases")
	controls := fs.Float64("controls", 0, "fraction of cases generated without metastases")
	testFrac := fs.Float64("test-fraction", 14.0/69, "fraction of cases held out as the test split (the study: 14 of 69)")
	workers := fs.Int("workers", 2, "cases generated at once")
	flipProb := fs.Float64("storage-flip", 0, "probability that T1, T2 and FLAIR are stored LPS (x and y axes reversed)")
	bias := fs.Bool("bias", false, "also write the true bias fields (bias_<seq>.nii.gz, float32)")
	mni := fs.String("mni", "", "NIfTI T1 head to use as the anatomical base instead of the procedural head")
	ws := fs.String("workspace", "", "also import every case into this workspace (created if missing), ground truth as the agreed consensus")
	sheet := fs.String("sheet", "", "render the contact sheet of this case folder instead of generating")
	pngOut := fs.String("png", "", "PNG file for --sheet")
	quiet := fs.Bool("quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: metascope phantom --cases N --seed S --out DIR [--size small|full] [--no-mets] [--workspace W]")
		fmt.Fprintln(stderr, "       metascope phantom --sheet CASE_DIR --png OUT.png")
		fmt.Fprintln(stderr, "\nGenerates synthetic T1, T2, T1c and FLAIR with metastases and exact ground truth")
		fmt.Fprintln(stderr, "(not patient data). Each case folder holds t1/t2/t1c/flair/label/brain_mask/tissue .nii.gz,")
		fmt.Fprintln(stderr, "lesions.json and truth.json; DIR/manifest.json lists the cases, lesions and train/test split.")
		fs.PrintDefaults()
	}
	pos, code, ok := parseCommandLine(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		fmt.Fprintf(stderr, "metascope phantom: unexpected argument %q\n", pos[0])
		fs.Usage()
		return exitUsage
	}
	if *sheet != "" {
		if *pngOut == "" {
			fmt.Fprintln(stderr, "metascope phantom: --sheet needs --png OUT.png")
			return exitUsage
		}
		return phantomSheet(*sheet, *pngOut, stdout, stderr)
	}
	if *out == "" && *ws == "" {
		fmt.Fprintln(stderr, "metascope phantom: --out (or --workspace) is required")
		fs.Usage()
		return exitUsage
	}
	sz, err := phantom.ParseSize(*size)
	if err != nil {
		fmt.Fprintf(stderr, "metascope phantom: --size: %v\n", err)
		return exitUsage
	}
	o := phantom.DefaultCohortOptions(sz)
	o.Cases, o.Seed, o.Workers = *cases, *seed, *workers
	o.ControlFraction, o.TestFraction = *controls, *testFrac
	o.Base.NoMetastases = *noMets
	o.Base.MNIPath = *mni
	o.Base.StorageFlipProb = *flipProb
	if err := o.Validate(); err != nil {
		fmt.Fprintf(stderr, "metascope phantom: %v\n", err)
		return exitUsage
	}
	dir := *out
	if dir == "" {
		tmp, err := os.MkdirTemp("", "metascope-phantom-*")
		if err != nil {
			return commandError(stderr, "phantom", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	bar := newProgressBar(stderr, *quiet)
	m, err := phantom.GenerateCohort(context.Background(), o, dir, bar.update)
	bar.finish()
	if err != nil {
		return commandError(stderr, "phantom", err)
	}
	if *bias {
		for _, mc := range m.Cases {
			cdir := filepath.Join(dir, mc.Dir)
			c, err := phantom.ReadCase(cdir)
			if err == nil {
				// Regenerate (deterministic) rather than store the fields
				// in memory for the whole cohort.
				opts := c.Options
				if c, err = phantom.Generate(opts); err == nil {
					err = phantom.WriteBiasFields(cdir, c)
				}
			}
			if err != nil {
				fmt.Fprintf(stderr, "metascope phantom: %s: %v\n", mc.Name, err)
				return exitError
			}
		}
	}
	if *ws != "" {
		if err := phantomToWorkspace(*ws, dir, m); err != nil {
			fmt.Fprintf(stderr, "metascope phantom: workspace %s: %v\n", *ws, err)
			return exitError
		}
	}
	where := dir
	if *out == "" {
		where = *ws
	}
	fmt.Fprintf(stdout, "%d cases (%d train, %d test), %d lesions, mean %.2f cm3, in %s\n",
		len(m.Cases), len(m.Train), len(m.Test), m.Lesions, m.MeanLesionCM3, where)
	fmt.Fprintln(stdout, "Synthetic data: the demo model trained on it is not a medical device.")
	return exitOK
}

// phantomToWorkspace imports each generated case and records its ground
// truth as the agreed consensus, ready for training.
func phantomToWorkspace(wsDir, dir string, m phantom.Manifest) error {
	w, err := workspace.OpenOrCreate(wsDir)
	if err != nil {
		return err
	}
	for _, mc := range m.Cases {
		cdir := filepath.Join(dir, mc.Dir)
		req := workspace.ImportRequest{Name: mc.Name, By: "phantom", Sources: map[volume.Sequence]workspace.Source{}}
		for _, s := range volume.Sequences {
			req.Sources[s] = workspace.Source{Path: filepath.Join(cdir, phantom.ImageFile(s))}
		}
		c, err := w.Import(context.Background(), req)
		if err != nil {
			return fmt.Errorf("case %s: %w", mc.Name, err)
		}
		label, err := nifti.ReadLabel(filepath.Join(cdir, phantom.LabelFile))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(c.ConsensusPath()), 0o755); err != nil {
			return err
		}
		if err := nifti.WriteLabel(c.ConsensusPath(), label); err != nil {
			return err
		}
		if err := c.SetConsensus("phantom", workspace.ConsensusAgreed); err != nil {
			return err
		}
		if err := c.SetReadyForTraining("phantom", true); err != nil {
			return err
		}
		if err := c.Audit("phantom", "ground truth from phantom", map[string]any{
			"seed": mc.Seed, "split": string(mc.Split), "lesions": len(mc.Lesions)}); err != nil {
			return err
		}
	}
	return nil
}

func phantomSheet(caseDir, pngPath string, stdout, stderr io.Writer) int {
	c, err := phantom.ReadCase(caseDir)
	if err != nil {
		return commandError(stderr, "phantom", err)
	}
	img := phantom.RenderContactSheet(c)
	if err := atomicfile.Write(pngPath, func(w io.Writer) error { return png.Encode(w, img) }); err != nil {
		return commandError(stderr, "phantom", err)
	}
	fmt.Fprintf(stdout, "contact sheet of %s (%d lesions) written to %s\n", caseDir, len(c.Lesions), pngPath)
	return exitOK
}

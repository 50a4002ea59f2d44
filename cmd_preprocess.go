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
	"strings"
	"sync"

	"metascope/preprocess"
	"metascope/volume"
	"metascope/workspace"
)

func cmdPreprocess(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("preprocess", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ws := fs.String("workspace", "", "workspace folder (with --case)")
	caseName := fs.String("case", "", "case name in the workspace")
	out := fs.String("out", "", "output folder (default: <case folder>/preproc)")
	paths := map[volume.Sequence]*string{}
	for _, s := range volume.Sequences {
		paths[s] = fs.String(s.String(), "", s.Title()+" NIfTI file (with the other three and --out)")
	}
	noBias := fs.Bool("no-bias", false, "skip bias-field correction (images already corrected)")
	spacing := fs.Float64("spacing", 1, "output voxel size in mm")
	quiet := fs.Bool("quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage:")
		fmt.Fprintln(stderr, "  metascope preprocess CASE_DIR                 (t1, t2, t1c, flair .nii.gz inside; writes CASE_DIR/preproc)")
		fmt.Fprintln(stderr, "  metascope preprocess --workspace W --case C   (writes the case's preproc/ folder)")
		fmt.Fprintln(stderr, "  metascope preprocess --t1 F --t2 F --t1c F --flair F --out DIR")
		fmt.Fprintln(stderr, "\nBias correction (N4), rigid registration of T1, T2, FLAIR to T1c (mutual information),")
		fmt.Fprintln(stderr, "skull stripping, resampling to 1 mm and z-scoring inside the brain. Writes t1, t2, t1c,")
		fmt.Fprintln(stderr, "flair and brain_mask .nii.gz, transforms.json and preprocess.json; prints each step's time.")
		fs.PrintDefaults()
	}
	pos, code, ok := parseCommandLine(fs, args)
	if !ok {
		return code
	}
	usageErr := func(msg string) int { return usageError(fs, stderr, msg) }
	nFiles := 0
	for _, s := range volume.Sequences {
		if *paths[s] != "" {
			nFiles++
		}
	}
	var files preprocess.CaseFiles
	outDir := *out
	switch {
	case *ws != "" || *caseName != "":
		if *ws == "" || *caseName == "" || nFiles > 0 || len(pos) > 0 {
			return usageErr("--workspace and --case go together, without files or a case folder")
		}
		w, err := workspace.Open(*ws)
		if err != nil {
			return commandError(stderr, "preprocess", err)
		}
		c, err := w.Case(*caseName)
		if err != nil {
			return commandError(stderr, "preprocess", err)
		}
		for _, s := range volume.Sequences {
			files[s] = c.ImagePath(s)
		}
		if outDir == "" {
			outDir = c.PreprocDir()
		}
	case nFiles > 0:
		if nFiles != 4 || len(pos) > 0 {
			return usageErr("give all four of --t1 --t2 --t1c --flair (and no case folder)")
		}
		if outDir == "" {
			return usageErr("--out is required with --t1 --t2 --t1c --flair")
		}
		for _, s := range volume.Sequences {
			files[s] = *paths[s]
		}
	case len(pos) == 1:
		files = preprocess.FolderFiles(pos[0])
		if outDir == "" {
			outDir = filepath.Join(pos[0], "preproc")
		}
	default:
		return usageErr("give a case folder, --workspace and --case, or four files")
	}

	opts := preprocess.DefaultOptions()
	opts.SkipBias = *noBias
	opts.SpacingMM = *spacing
	if err := opts.Validate(); err != nil {
		return usageErr(err.Error())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgressBar(stderr, *quiet)
	res, err := preprocess.RunCase(ctx, files, outDir, opts, bar.update)
	bar.finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "metascope preprocess: interrupted; nothing written")
		} else {
			fmt.Fprintf(stderr, "metascope preprocess: %v\n", err)
		}
		return exitError
	}
	fmt.Fprintf(stdout, "preprocessed into %s (grid %dx%dx%d at %g mm, brain %.0f cm3)\n", outDir,
		res.Grid.Dims[0], res.Grid.Dims[1], res.Grid.Dims[2], opts.SpacingMM, res.BrainMask.VolumeCM3())
	for _, t := range res.Timings {
		fmt.Fprintf(stdout, "  %-16s %6.1f s\n", t.Step, t.Seconds)
	}
	fmt.Fprintf(stdout, "  %-16s %6.1f s\n", "total", res.TotalSeconds())
	for _, s := range []volume.Sequence{volume.T1, volume.T2, volume.FLAIR} {
		r := res.Transforms[s].Rigid
		fmt.Fprintf(stdout, "  %-5s to T1c: rotation %.2f %.2f %.2f deg, translation %.2f %.2f %.2f mm\n", s.Title(),
			r.Rotation[0]*180/3.141592653589793, r.Rotation[1]*180/3.141592653589793, r.Rotation[2]*180/3.141592653589793,
			r.Translation[0], r.Translation[1], r.Translation[2])
	}
	return exitOK
}

// progressBar draws one updating line on a terminal (stderr).
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	quiet bool
	last  int
	stage string
}

func newProgressBar(w io.Writer, quiet bool) *progressBar {
	return &progressBar{w: w, quiet: quiet, last: -1}
}

func (b *progressBar) update(stage string, done float64) {
	if b.quiet {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	pct := int(100 * max(0, min(1, done)))
	if pct == b.last && stage == b.stage {
		return
	}
	b.last, b.stage = pct, stage
	n := pct * 30 / 100
	fmt.Fprintf(b.w, "\r[%s%s] %3d%% %-40.40s", strings.Repeat("#", n), strings.Repeat(".", 30-n), pct, stage)
}

func (b *progressBar) finish() {
	if !b.quiet && b.last >= 0 {
		fmt.Fprintln(b.w)
	}
}

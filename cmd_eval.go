package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"metascope/internal/atomicfile"
	"metascope/lesion"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

const evalUsage = `Usage: metascope eval --truth DIR_OR_WORKSPACE [--pred [NAME=]DIR]... [flags]

Scores predicted lesion maps against ground truth the way the study did
(lesion detection: sensitivity, precision, F1, missed lesions, false positives
per scan; per-lesion Dice), prints the study's table, and draws FROC curves
from probability maps.

Truth: a folder of <case>.nii.gz files or of <case>/label.nii.gz folders, or a
Metascope workspace (its consensus labels; cases without one are skipped).
Predictions, one table column each:
  --pred [NAME=]DIR   label maps DIR/<case>.nii.gz or DIR/<case>/label.nii.gz;
                      NAME defaults to DIR's base name; repeat for more columns
                      (the study: fused ensemble first, then each fold)
  --pred-glob GLOB    label maps matching GLOB inside each case folder (of every
                      --pred DIR, or of the truth when no --pred is given); each
                      file name makes a column
With a workspace and none of these flags, each model's candidates/<model>.nii.gz
is a column: a label map when its data are integers, a probability map (FROC)
when they are floats.
  --prob [NAME=]DIR   probability maps DIR/<case>.nii.gz or DIR/<case>/prob.nii.gz,
                      one FROC curve each
  --prob-glob GLOB    probability maps matching GLOB inside each case folder

Flags:
`

// evalConfig is the command's validated flags.
type evalConfig struct {
	truth               string
	preds, probs        []string
	predGlob, probGlob  string
	opts                lesion.EvalOptions
	thresholds          int
	tableCSV, tableMD   string
	frocPNG, frocCSV    string
	study, perCase, ext bool
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func cmdEval(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, evalUsage)
		fs.PrintDefaults()
	}
	var cfg evalConfig
	var preds, probs multiFlag
	var conn string
	fs.StringVar(&cfg.truth, "truth", "", "ground truth: folder of label maps, or a workspace")
	fs.Var(&preds, "pred", "`[NAME=]DIR` of predicted label maps (repeatable)")
	fs.Var(&probs, "prob", "`[NAME=]DIR` of probability maps for FROC (repeatable)")
	fs.StringVar(&cfg.predGlob, "pred-glob", "", "`GLOB` of predicted label maps inside each case folder")
	fs.StringVar(&cfg.probGlob, "prob-glob", "", "`GLOB` of probability maps inside each case folder")
	fs.Float64Var(&cfg.opts.MinCM3, "min-cm3", lesion.StudyMinCM3, "discard predicted lesions under this volume (cm3)")
	fs.StringVar(&conn, "conn", "26", "lesion connectivity: 26, 18 or 6")
	fs.IntVar(&cfg.thresholds, "thresholds", 19, "number of FROC probability thresholds, evenly spaced in (0, 1)")
	fs.StringVar(&cfg.tableCSV, "csv", "", "write the table as CSV to `FILE`")
	fs.StringVar(&cfg.tableMD, "md", "", "write the table as Markdown to `FILE`")
	fs.StringVar(&cfg.frocPNG, "froc", "", "draw the FROC curves as PNG to `FILE` (needs --prob or --prob-glob)")
	fs.StringVar(&cfg.frocCSV, "froc-csv", "", "write the FROC points as CSV to `FILE`")
	fs.BoolVar(&cfg.study, "study", true, "add the study's published fused result as a reference column and FROC point")
	fs.BoolVar(&cfg.ext, "extended", true, "add rows: detected/lesions, Dice 10-90 percentile, volume correlation")
	fs.BoolVar(&cfg.perCase, "per-case", false, "print one line per case and model")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	cfg.preds, cfg.probs = preds, probs
	c, err := lesion.ParseConnectivity(conn)
	if err != nil {
		fmt.Fprintf(stderr, "eval: --conn: %v\n", err)
		return exitUsage
	}
	cfg.opts.Conn = c
	cfg.opts.SizeBinsCM3 = lesion.DefaultEvalOptions().SizeBinsCM3
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(stderr, "eval: %v\n\n", err)
		fs.Usage()
		return exitUsage
	}
	if err := evaluate(cfg, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "eval: %v\n", err)
		return exitError
	}
	return exitOK
}

func (cfg evalConfig) validate() error {
	if cfg.truth == "" {
		return errors.New("--truth is required")
	}
	if err := cfg.opts.Validate(); err != nil {
		return err
	}
	if cfg.thresholds < 1 || cfg.thresholds > 1000 {
		return fmt.Errorf("--thresholds %d: want 1..1000", cfg.thresholds)
	}
	if (cfg.frocPNG != "" || cfg.frocCSV != "") && len(cfg.probs) == 0 && cfg.probGlob == "" {
		return errors.New("--froc and --froc-csv need probability maps (--prob or --prob-glob)")
	}
	for _, g := range []string{cfg.predGlob, cfg.probGlob} {
		if _, err := filepath.Match(g, ""); err != nil {
			return fmt.Errorf("bad glob %q: %w", g, err)
		}
	}
	return nil
}

// evalCase is one scan: its name, truth file and folder (for globs; empty
// when the truth is a bare <case>.nii.gz).
type evalCase struct {
	name, truth, dir string
}

// mapColumn is one model's maps, one file per case.
type mapColumn struct {
	name  string
	files map[string]string // case name -> file
}

func evaluate(cfg evalConfig, stdout, stderr io.Writer) error {
	cases, wsMode, skipped, err := discoverTruth(cfg.truth)
	if err != nil {
		return err
	}
	var predCols, probCols []mapColumn
	if wsMode && len(cfg.preds)+len(cfg.probs) == 0 && cfg.predGlob+cfg.probGlob == "" {
		// A workspace's AI candidates: one column per model, a label map
		// or a probability map as its NIfTI datatype says.
		cols, err := resolveColumns(cases, nil, "candidates/*.nii.gz", "")
		if err != nil {
			return fmt.Errorf("workspace candidates: %w", err)
		}
		if predCols, probCols, err = splitByDatatype(cols); err != nil {
			return fmt.Errorf("workspace candidates: %w", err)
		}
	} else {
		if predCols, err = resolveColumns(cases, cfg.preds, cfg.predGlob, "label"); err != nil {
			return fmt.Errorf("predictions: %w", err)
		}
		if probCols, err = resolveColumns(cases, cfg.probs, cfg.probGlob, "prob"); err != nil {
			return fmt.Errorf("probability maps: %w", err)
		}
	}
	if len(predCols) == 0 && len(probCols) == 0 {
		return errors.New("no predictions: give --pred, --pred-glob, --prob or --prob-glob")
	}

	thresholds := lesion.Thresholds(cfg.thresholds)
	results := make([][]lesion.CaseResult, len(predCols))
	froc := make([][][]lesion.FROCPoint, len(probCols))
	lesions := 0
	// One case at a time: only its truth and one map are held in memory.
	for _, c := range cases {
		truth, err := nifti.ReadLabel(c.truth)
		if err != nil {
			return fmt.Errorf("case %s: truth: %w", c.name, err)
		}
		lesions += len(lesion.ComponentList(truth, cfg.opts.Conn))
		for i, col := range predCols {
			path := col.files[c.name]
			pred, err := nifti.ReadLabel(path)
			if err != nil {
				return fmt.Errorf("case %s: %s: %w", c.name, col.name, err)
			}
			if err := lesion.CheckGrids(truth.Grid, pred.Grid); err != nil {
				return fmt.Errorf("case %s: %s and %s are on different grids: %w", c.name, path, c.truth, err)
			}
			var r lesion.CaseResult
			if err := safely(func() { r = lesion.EvaluateCase(truth, pred, cfg.opts) }); err != nil {
				return fmt.Errorf("case %s: %s: %w", c.name, path, err)
			}
			r.Name = c.name
			results[i] = append(results[i], r)
		}
		for i, col := range probCols {
			path := col.files[c.name]
			prob, err := nifti.ReadVolume(path)
			if err != nil {
				return fmt.Errorf("case %s: %s: %w", c.name, col.name, err)
			}
			if err := lesion.CheckGrids(truth.Grid, prob.Grid); err != nil {
				return fmt.Errorf("case %s: %s and %s are on different grids: %w", c.name, path, c.truth, err)
			}
			var pts []lesion.FROCPoint
			if err := safely(func() {
				pts = lesion.FROC([]*volume.Label{truth}, []*volume.Volume{prob}, thresholds, cfg.opts)
			}); err != nil {
				return fmt.Errorf("case %s: %s: %w", c.name, path, err)
			}
			froc[i] = append(froc[i], pts)
		}
	}

	fmt.Fprintf(stdout, "Lesion evaluation: %d cases, %d reference lesions, truth from %s", len(cases), lesions, cfg.truth)
	if skipped > 0 {
		fmt.Fprintf(stdout, " (%d workspace cases without consensus skipped)", skipped)
	}
	fmt.Fprintf(stdout, ".\nLesions are %s-connected components; predicted lesions under %g cm3 are discarded.\n\n",
		cfg.opts.Conn, cfg.opts.MinCM3)

	if cfg.perCase && len(predCols) > 0 {
		writePerCase(stdout, predCols, results)
	}
	if len(predCols) > 0 {
		tab := lesion.Table{Extended: cfg.ext, Note: evalNote}
		for i, col := range predCols {
			tab.Columns = append(tab.Columns, lesion.TableColumn{Name: col.name, Result: lesion.Cohort(results[i])})
		}
		if cfg.study {
			tab.Columns = append(tab.Columns, lesion.StudyReference())
		}
		if err := tab.WriteMarkdown(stdout); err != nil {
			return err
		}
		writeSizeBins(stdout, tab.Columns[:len(predCols)])
		if cfg.tableCSV != "" {
			if err := atomicfile.Write(cfg.tableCSV, tab.WriteCSV); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Table written to %s\n", cfg.tableCSV)
		}
		if cfg.tableMD != "" {
			if err := atomicfile.Write(cfg.tableMD, tab.WriteMarkdown); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Table written to %s\n", cfg.tableMD)
		}
	}
	if len(probCols) > 0 {
		curves := map[string][]lesion.FROCPoint{}
		for i, col := range probCols {
			curves[col.name] = lesion.PoolFROC(froc[i]...)
		}
		writeFROCSummary(stdout, probCols, curves)
		if cfg.frocCSV != "" {
			if err := atomicfile.Write(cfg.frocCSV, func(w io.Writer) error {
				return lesion.WriteFROCCurvesCSV(w, curves)
			}); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "FROC points written to %s\n", cfg.frocCSV)
		}
		if cfg.frocPNG != "" {
			var marks map[string]lesion.FROCPoint
			if cfg.study {
				marks = map[string]lesion.FROCPoint{lesion.StudyName: lesion.StudyOperatingPoint()}
			}
			if err := lesion.PlotFROCWithPoints(cfg.frocPNG, curves, marks); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "FROC plot written to %s\n", cfg.frocPNG)
		}
	}
	return nil
}

const evalNote = "Counting: a reference lesion is detected when any predicted component overlaps it by a voxel; " +
	"a predicted component overlapping no reference lesion is a false positive; Dice is per detected lesion " +
	"(median). Metascope's demo model is trained on synthetic data; not a medical device."

// safely runs f, turning a panic into an error (the library panics only
// on misuse; bad files must never crash the command).
func safely(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	f()
	return nil
}

// discoverTruth lists the cases of a truth folder or workspace.
func discoverTruth(root string) (cases []evalCase, wsMode bool, skipped int, err error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, false, 0, fmt.Errorf("truth: %w", err)
	}
	if !st.IsDir() {
		return nil, false, 0, fmt.Errorf("truth %s: not a folder (want a folder of label maps or a workspace)", root)
	}
	if _, err := os.Stat(filepath.Join(root, "workspace.json")); err == nil {
		ws, err := workspace.Open(root)
		if err != nil {
			return nil, true, 0, fmt.Errorf("truth: %w", err)
		}
		wcs, err := ws.Cases()
		if err != nil {
			return nil, true, 0, fmt.Errorf("truth: %w", err)
		}
		for _, c := range wcs {
			if _, err := os.Stat(c.ConsensusPath()); err != nil {
				skipped++
				continue
			}
			cases = append(cases, evalCase{name: c.Name(), truth: c.ConsensusPath(), dir: c.Dir()})
		}
		if len(cases) == 0 {
			return nil, true, skipped, fmt.Errorf("truth %s: no case of the workspace has a consensus label", root)
		}
		return cases, true, skipped, nil
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, false, 0, fmt.Errorf("truth: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if e.IsDir() {
			if f := firstExisting(filepath.Join(root, name), "label.nii.gz", "label.nii"); f != "" {
				cases = append(cases, evalCase{name: name, truth: f, dir: filepath.Join(root, name)})
			}
			continue
		}
		if stem, ok := niftiStem(name); ok {
			cases = append(cases, evalCase{name: stem, truth: filepath.Join(root, name)})
		}
	}
	if len(cases) == 0 {
		return nil, false, 0, fmt.Errorf("truth %s: no cases (want <case>.nii.gz files or <case>/label.nii.gz folders)", root)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].name < cases[j].name })
	for i := 1; i < len(cases); i++ {
		if cases[i].name == cases[i-1].name {
			return nil, false, 0, fmt.Errorf("truth %s: case %q appears twice (as a file and a folder?)", root, cases[i].name)
		}
	}
	return cases, false, 0, nil
}

// niftiStem strips .nii.gz or .nii.
func niftiStem(name string) (string, bool) {
	for _, ext := range []string{".nii.gz", ".nii"} {
		if strings.HasSuffix(name, ext) && len(name) > len(ext) {
			return strings.TrimSuffix(name, ext), true
		}
	}
	return "", false
}

func firstExisting(dir string, names ...string) string {
	for _, n := range names {
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// resolveColumns finds, for every case, the file of each column: one
// column per [NAME=]DIR spec (DIR/<case>.nii.gz or DIR/<case>/<file>.nii.gz),
// or, with a glob, one column per matching file name inside each case
// folder (of every DIR, or of the truth when no DIR is given). Every column
// must have a file for every case.
func resolveColumns(cases []evalCase, specs []string, glob, file string) ([]mapColumn, error) {
	var cols []mapColumn
	type root struct{ name, dir string }
	var roots []root
	for _, s := range specs {
		name, dir, ok := strings.Cut(s, "=")
		if !ok {
			name, dir = filepath.Base(filepath.Clean(s)), s
		}
		if name == "" || dir == "" {
			return nil, fmt.Errorf("%q: want [NAME=]DIR", s)
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%s: not a folder", dir)
		}
		roots = append(roots, root{name, dir})
	}
	if glob == "" {
		for _, r := range roots {
			col := mapColumn{name: r.name, files: map[string]string{}}
			for _, c := range cases {
				f := firstExisting(r.dir, c.name+".nii.gz", c.name+".nii")
				if f == "" {
					f = firstExisting(filepath.Join(r.dir, c.name), file+".nii.gz", file+".nii")
				}
				if f == "" {
					return nil, fmt.Errorf("%s: no map for case %s (looked for %s.nii.gz and %s/%s.nii.gz)",
						r.name, c.name, filepath.Join(r.dir, c.name), filepath.Join(r.dir, c.name), file)
				}
				col.files[c.name] = f
			}
			cols = append(cols, col)
		}
		return cols, nil
	}
	caseDir := func(r *root, c evalCase) string {
		if r == nil {
			return c.dir
		}
		return filepath.Join(r.dir, c.name)
	}
	scan := func(r *root) error {
		byName := map[string]*mapColumn{}
		var order []string
		for _, c := range cases {
			dir := caseDir(r, c)
			if dir == "" {
				return fmt.Errorf("--*-glob needs case folders, but case %s is a bare file", c.name)
			}
			matches, err := filepath.Glob(filepath.Join(dir, glob))
			if err != nil {
				return fmt.Errorf("glob %q: %w", glob, err)
			}
			for _, m := range matches {
				stem, ok := niftiStem(filepath.Base(m))
				if !ok {
					continue
				}
				name := stem
				if r != nil && len(roots) > 1 {
					name = r.name + "/" + stem
				}
				col := byName[name]
				if col == nil {
					col = &mapColumn{name: name, files: map[string]string{}}
					byName[name] = col
					order = append(order, name)
				}
				col.files[c.name] = m
			}
		}
		sort.Strings(order)
		for _, n := range order {
			col := byName[n]
			for _, c := range cases {
				if _, ok := col.files[c.name]; !ok {
					return fmt.Errorf("%s: no file matching %q for case %s (in %s)", n, glob, c.name, caseDir(r, c))
				}
			}
			cols = append(cols, *col)
		}
		return nil
	}
	if len(roots) == 0 {
		if err := scan(nil); err != nil {
			return nil, err
		}
	}
	for i := range roots {
		if err := scan(&roots[i]); err != nil {
			return nil, err
		}
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("no files match %q in the case folders", glob)
	}
	return cols, nil
}

// splitByDatatype sorts columns into label maps (integer NIfTI data) and
// probability maps (float data), from each file's header.
func splitByDatatype(cols []mapColumn) (labels, probs []mapColumn, err error) {
	for _, col := range cols {
		kinds := map[bool][]string{}
		for _, f := range col.files {
			h, err := nifti.ReadHeader(f)
			if err != nil {
				return nil, nil, err
			}
			isFloat := strings.HasPrefix(h.Datatype, "float") && (h.SclSlope == 0 || h.SclSlope == 1)
			kinds[isFloat] = append(kinds[isFloat], f)
		}
		switch {
		case len(kinds[true]) > 0 && len(kinds[false]) > 0:
			return nil, nil, fmt.Errorf("%s: mixes label maps (%s) and probability maps (%s)", col.name, kinds[false][0], kinds[true][0])
		case len(kinds[true]) > 0:
			probs = append(probs, col)
		default:
			labels = append(labels, col)
		}
	}
	return labels, probs, nil
}

func writePerCase(w io.Writer, cols []mapColumn, results [][]lesion.CaseResult) {
	fmt.Fprintln(w, "| case | model | lesions | detected | missed | FPs | removed < min | voxel Dice | median lesion Dice |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|")
	for ci := range results[0] {
		for i, col := range cols {
			r := results[i][ci]
			var dice []float64
			for _, p := range r.Pairs {
				dice = append(dice, p.Dice)
			}
			sort.Float64s(dice)
			fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %d | %d | %s | %s |\n", r.Name, col.name, r.Lesions,
				r.TP, r.FN, r.FP, r.RemovedSmall, fmtFloat(r.VoxelDice), fmtFloat(lesion.Quantile(dice, 0.5)))
		}
	}
	fmt.Fprintln(w)
}

func writeSizeBins(w io.Writer, cols []lesion.TableColumn) {
	if len(cols) == 0 || len(cols[0].Result.SensitivityBySize) == 0 {
		return
	}
	fmt.Fprint(w, "\nSensitivity by reference lesion volume:\n\n| volume |")
	for _, c := range cols {
		fmt.Fprintf(w, " %s |", c.Name)
	}
	fmt.Fprint(w, "\n|---|")
	for range cols {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for b, bin := range cols[0].Result.SensitivityBySize {
		fmt.Fprintf(w, "| %s |", bin.Label())
		for _, c := range cols {
			x := c.Result.SensitivityBySize[b]
			fmt.Fprintf(w, " %d/%d", x.Detected, x.Lesions)
			if x.Lesions > 0 {
				fmt.Fprintf(w, " (%.0f%%)", 100*x.Sensitivity)
			}
			fmt.Fprint(w, " |")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

func writeFROCSummary(w io.Writer, cols []mapColumn, curves map[string][]lesion.FROCPoint) {
	fmt.Fprintln(w, "FROC (sensitivity at mean false positives per scan, by probability threshold):")
	for _, col := range cols {
		fmt.Fprintf(w, "  %s:", col.name)
		for _, p := range curves[col.name] {
			fmt.Fprintf(w, " %.2f:%s@%s", p.Threshold, fmtFloat(p.Sensitivity), fmtFloat(p.FPPerScan))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

func fmtFloat(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", x)
}

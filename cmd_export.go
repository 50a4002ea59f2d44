package main

import (
	"flag"
	"fmt"
	"io"
	"sort"

	"metascope/segedit/consensus"
	"metascope/workspace"
)

func cmdExport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ws := fs.String("workspace", "", "workspace folder (required)")
	out := fs.String("out", "", "dataset folder to create; must not exist or be empty (required)")
	orig := fs.Bool("original-space", false, "export on each case's original T1c grid (other sequences registered into it) instead of the preprocessed 1 mm space")
	as := fs.String("as", "", "who exports, for the audit log (default: unnamed)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: metascope export --workspace W --out DIR [--original-space] [--as NAME]")
		fmt.Fprintln(stderr, "\nExports the consensus labels of every case marked ready for training, with their four")
		fmt.Fprintln(stderr, "sequences, as an nnU-Net v2 / Medical Segmentation Decathlon dataset: imagesTr/<case>_000{0..3}")
		fmt.Fprintln(stderr, "(T1, T2, T1c, FLAIR), labelsTr/<case>, dataset.json, and labelsT1c/<case> on the original")
		fmt.Fprintln(stderr, "T1c grid. Only consensus labels are exported, never a single reader's.")
		fs.PrintDefaults()
	}
	pos, code, ok := parseCommandLine(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 || *ws == "" || *out == "" {
		fs.Usage()
		return exitUsage
	}
	w, err := workspace.Open(*ws)
	if err != nil {
		return commandError(stderr, "export", err)
	}
	rep, err := consensus.Export(w, consensus.ExportOptions{Dir: *out, OriginalSpace: *orig, By: *as})
	if err != nil {
		return commandError(stderr, "export", err)
	}
	for _, c := range rep.Cases {
		fmt.Fprintf(stdout, "%s: %s space, %v voxels, label %d voxels\n", c.Name, c.Space, c.Dims, c.LabelVoxels)
	}
	names := make([]string, 0, len(rep.Skipped))
	for n := range rep.Skipped {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(stdout, "left out %s: %s\n", n, rep.Skipped[n])
	}
	fmt.Fprintf(stdout, "exported %d cases to %s\n", len(rep.Cases), rep.Dir)
	return exitOK
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"metascope/volume"
	"metascope/workspace"
)

func cmdImport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ws := fs.String("workspace", "", "workspace folder (required)")
	create := fs.Bool("create", false, "create the workspace if it does not exist")
	name := fs.String("case", "", "case name (required; letters, digits, spaces, '-', '_', '.')")
	by := fs.String("by", os.Getenv("USER"), "who imports, for the audit log")
	paths := map[volume.Sequence]*string{}
	uids := map[volume.Sequence]*string{}
	for _, s := range volume.Sequences {
		paths[s] = fs.String(s.String(), "", s.Title()+" image: NIfTI file or DICOM folder (required)")
		uids[s] = fs.String(s.String()+"-series", "", "SeriesInstanceUID for the "+s.Title()+" DICOM folder when it holds several series")
	}
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: metascope import --workspace W --case NAME --t1 P --t2 P --t1c P --flair P [--create]")
		fmt.Fprintln(stderr, "\nAdds a case to a workspace. Each P is a NIfTI file or a DICOM folder; DICOM is converted")
		fmt.Fprintln(stderr, "once, on import. A failed import leaves nothing behind.")
		fs.PrintDefaults()
	}
	pos, code, ok := parseCommandLine(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 || *ws == "" || *name == "" {
		if len(pos) != 0 {
			fmt.Fprintf(stderr, "metascope import: unexpected argument %q\n", pos[0])
		} else {
			fmt.Fprintln(stderr, "metascope import: --workspace and --case are required")
		}
		fs.Usage()
		return exitUsage
	}
	req := workspace.ImportRequest{Name: *name, By: *by, Sources: map[volume.Sequence]workspace.Source{}}
	for _, s := range volume.Sequences {
		if *paths[s] == "" {
			fmt.Fprintf(stderr, "metascope import: --%s is required\n", s)
			return exitUsage
		}
		req.Sources[s] = workspace.Source{Path: *paths[s], SeriesUID: *uids[s]}
	}
	var (
		w   *workspace.Workspace
		err error
	)
	if *create {
		w, err = workspace.OpenOrCreate(*ws)
	} else {
		w, err = workspace.Open(*ws)
	}
	if err != nil {
		return commandError(stderr, "import", err)
	}
	req.Progress = func(stage string, done float64) {
		fmt.Fprintf(stderr, "%3.0f%% %s\n", 100*done, stage)
	}
	c, err := w.Import(context.Background(), req)
	if err != nil {
		fmt.Fprintf(stderr, "metascope import: %v\n", err)
		if c == nil {
			return exitError
		}
	}
	fmt.Fprintf(stdout, "imported case %q into %s\n", c.Name(), w.Dir())
	for _, s := range c.Sequences() {
		r, _ := c.Sequence(s)
		fmt.Fprintf(stdout, "  %-5s %dx%dx%d %s  %s  (looks like: %s; %s)\n", s.Title(), r.Dims[0], r.Dims[1], r.Dims[2], r.AxisCodes, r.Source, r.Class, r.Reason)
		if r.Class != "unknown" && r.Class != s.String() {
			fmt.Fprintf(stderr, "metascope import: warning: the %s image looks like %s (%s)\n", s.Title(), r.Class, r.Reason)
		}
	}
	if err != nil {
		return exitError
	}
	return exitOK
}

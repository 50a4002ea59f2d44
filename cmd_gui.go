package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"metascope/app"
)

// guiCheckpoint is how often the workstation saves labels in full; every
// stroke is journalled at once regardless.
const guiCheckpoint = 30 * time.Second

// cmdGUI opens the workstation on a workspace: the one named, else the last
// one opened, else the demo workspace. It is also what `metascope` with no
// arguments runs.
func cmdGUI(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gui", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("workspace", "", "workspace folder (default: the last one opened, else the demo)")
	reader := fs.String("reader", "", "reader who edits, added to the workspace when new (default: the last one, else the workspace's first reader)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: metascope gui [--workspace DIR] [--reader NAME]")
		fmt.Fprintln(stderr, "\nOpens the Metascope workstation. Not a medical device.")
		fs.PrintDefaults()
	}
	pos, code, ok := parseCommandLine(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		fs.Usage()
		return exitUsage
	}
	if err := app.CheckDisplay(); err != nil {
		fmt.Fprintf(stderr, "metascope: %v\n\n", err)
		if len(args) == 0 {
			usage(stderr)
		}
		return exitError
	}
	opts := app.Options{Reader: *reader, CheckpointEvery: guiCheckpoint}
	if *dir == "" {
		last, lastReader, lastCase, ok := app.LastWorkspace()
		if !ok {
			return cmdDemo(nil, stdout, stderr)
		}
		*dir = last
		opts.Case = lastCase
		if opts.Reader == "" {
			opts.Reader = lastReader
		}
	}
	if err := app.Run(*dir, opts); err != nil {
		return commandError(stderr, "gui", err)
	}
	return exitOK
}

package main

import (
	"flag"
	"fmt"
	"io"

	"metascope/app"
	"metascope/phantom"
)

// cmdDemo opens the workstation on a demo workspace of phantom cases,
// generating the missing cases in the background after the window opens.
func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := app.DefaultDemoOptions()
	dir := fs.String("workspace", "", "demo workspace folder (default ~/.metascope/demo)")
	cases := fs.Int("cases", def.Cases, "number of phantom cases (1-20)")
	size := fs.String("size", def.Size.String(), "phantom size: full (1 mm, clinical) or small (3 mm, fast)")
	reader := fs.String("reader", "Dr A", "reader who edits (Dr A, Dr B or Senior)")
	ai := fs.Bool("ai", def.Candidates, "run the shipped demo model over the new cases (AI candidates to review)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: metascope demo [--workspace DIR] [--cases N] [--size full|small] [--reader NAME] [--ai=false]")
		fmt.Fprintln(stderr, "\nOpens the workstation on a demo workspace of synthetic phantom cases, made on first run")
		fmt.Fprintln(stderr, "(readers Dr A and Dr B, adjudicator Senior). Not a medical device.")
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
	sz, err := phantom.ParseSize(*size)
	if err != nil {
		fmt.Fprintf(stderr, "metascope demo: --size: %v\n", err)
		return exitUsage
	}
	d := app.DemoOptions{Cases: *cases, Size: sz, Seed: def.Seed, Align: true, Candidates: *ai}
	if err := d.Validate(); err != nil {
		fmt.Fprintf(stderr, "metascope demo: %v\n", err)
		return exitUsage
	}
	if err := app.CheckDisplay(); err != nil {
		return commandError(stderr, "demo", err)
	}
	if *dir == "" {
		if *dir, err = app.DefaultDemoDir(); err != nil {
			return commandError(stderr, "demo", err)
		}
	}
	fmt.Fprintf(stdout, "Metascope demo workspace: %s (not a medical device)\n", *dir)
	opts := app.Options{Reader: *reader, Demo: &d, CheckpointEvery: guiCheckpoint}
	if err := app.Run(*dir, opts); err != nil {
		return commandError(stderr, "demo", err)
	}
	return exitOK
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// parseMixedFlags parses flags that may come before, between or after the
// positional arguments (the standard flag package stops at the first
// positional one), returning the positional arguments.
func parseMixedFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parseCommandLine is how every command reads its arguments: flags anywhere
// (parseMixedFlags), -h answered with the command's usage and exit code 0, a
// bad flag with exit code 2 (the flag package has already printed why).
// When ok is false the command returns code at once.
func parseCommandLine(fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	pos, err := parseMixedFlags(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return nil, exitOK, false
	case err != nil:
		return nil, exitUsage, false
	}
	return pos, exitOK, true
}

// commandError prints err as the failure of the named command and returns
// exitError: the one format of every command's error line.
func commandError(stderr io.Writer, command string, err error) int {
	fmt.Fprintf(stderr, "metascope %s: %v\n", command, err)
	return exitError
}

// usageError prints msg, then the command's usage, and returns exitUsage.
func usageError(fs *flag.FlagSet, stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "metascope %s: %s\n\n", fs.Name(), msg)
	fs.Usage()
	return exitUsage
}

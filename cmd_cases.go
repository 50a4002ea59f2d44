package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"metascope/workspace"
)

type caseSummary struct {
	Name             string            `json:"name"`
	Status           string            `json:"status"`
	Readers          map[string]string `json:"readers"`
	Consensus        string            `json:"consensus"`
	ReadyForTraining bool              `json:"ready_for_training"`
	Sequences        []string          `json:"sequences"`
}

func cmdCases(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cases", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ws := fs.String("workspace", "", "workspace folder (required)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: metascope cases --workspace W [--json]")
		fmt.Fprintln(stderr, "\nLists the cases of a workspace with their status, readers and consensus.")
		fs.PrintDefaults()
	}
	pos, code, ok := parseCommandLine(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 || *ws == "" {
		fs.Usage()
		return exitUsage
	}
	w, err := workspace.Open(*ws)
	if err != nil {
		return commandError(stderr, "cases", err)
	}
	cases, err := w.Cases()
	if err != nil {
		return commandError(stderr, "cases", err)
	}
	sums := make([]caseSummary, 0, len(cases))
	for _, c := range cases {
		s := caseSummary{
			Name: c.Name(), Status: c.Status().String(), Readers: map[string]string{},
			Consensus: c.Consensus().String(), ReadyForTraining: c.ReadyForTraining(), Sequences: []string{},
		}
		for r, st := range c.ReaderStatuses() {
			s.Readers[r] = st.String()
		}
		for _, q := range c.Sequences() {
			s.Sequences = append(s.Sequences, q.Title())
		}
		sums = append(sums, s)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sums); err != nil {
			return commandError(stderr, "cases", err)
		}
		return exitOK
	}
	if len(sums) == 0 {
		fmt.Fprintf(stdout, "no cases in %s\n", w.Dir())
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tSTATUS\tREADERS\tCONSENSUS\tTRAINING\tSEQUENCES")
	for _, s := range sums {
		var rs []string
		for r, st := range s.Readers {
			rs = append(rs, r+": "+st)
		}
		sort.Strings(rs)
		readers := strings.Join(rs, ", ")
		if readers == "" {
			readers = "-"
		}
		training := "no"
		if s.ReadyForTraining {
			training = "ready"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Status, readers, s.Consensus, training, strings.Join(s.Sequences, " "))
	}
	if err := tw.Flush(); err != nil {
		return commandError(stderr, "cases", err)
	}
	return exitOK
}

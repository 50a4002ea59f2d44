package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"metascope/lesion"
	"metascope/segedit/consensus"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// listFlag collects a repeated flag's values.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func cmdConsensus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("consensus", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ws := fs.String("workspace", "", "workspace folder (required)")
	caseName := fs.String("case", "", "case name (required)")
	as := fs.String("as", "", "who you are: a reader of the workspace (required)")
	readers := fs.String("readers", "", "reader A and reader B, comma-separated (default: the case's two submitted readers)")
	conn := fs.String("conn", "26", "lesion connectivity: 6, 18 or 26")
	submit := fs.Bool("submit", false, "submit your own labels for the case first")
	labels := fs.String("labels", "", "list the lesions of this reader's labels (refused while blinding hides them from you)")
	staple := fs.Bool("staple", false, "estimate each reader's sensitivity and specificity with STAPLE (resolution 'staple' takes its outline)")
	finalise := fs.Bool("finalise", false, "write the consensus label when every item is resolved (implied when this run resolves the last item)")
	note := fs.String("note", "", "note for items sent to senior review")
	var resolves, redraws listFlag
	fs.Var(&resolves, "resolve", "ITEM=accept-a|accept-b|union|intersection|reject|staple|senior (repeatable)")
	fs.Var(&redraws, "redraw", "ITEM=FILE.nii.gz: resolve an item with an outline drawn on the T1c grid (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: metascope consensus --workspace W --case C --as READER [--submit] [--labels READER]")
		fmt.Fprintln(stderr, "         [--staple] [--resolve ITEM=RESOLUTION]... [--redraw ITEM=FILE]... [--finalise]")
		fmt.Fprintln(stderr, "\nTwo readers' labels of a case, compared lesion by lesion (agreed, A only, B only),")
		fmt.Fprintln(stderr, "resolved item by item; items sent to senior review are resolved by an adjudicator.")
		fmt.Fprintln(stderr, "Blinding: nothing of another reader's labels is shown before every reader has submitted.")
		fs.PrintDefaults()
	}
	pos, code, ok := parseCommandLine(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 || *ws == "" || *caseName == "" || *as == "" {
		fs.Usage()
		return exitUsage
	}
	fail := func(err error) int { return commandError(stderr, "consensus", err) }
	cn, err := lesion.ParseConnectivity(*conn)
	if err != nil {
		fmt.Fprintf(stderr, "metascope consensus: --conn: %v\n", err)
		return exitUsage
	}
	type action struct {
		id     int
		res    consensus.Resolution
		senior bool
		file   string
	}
	var actions []action
	for _, r := range resolves {
		id, val, err := itemArg(r)
		if err != nil {
			fmt.Fprintf(stderr, "metascope consensus: --resolve %q: %v\n", r, err)
			return exitUsage
		}
		if val == "senior" {
			actions = append(actions, action{id: id, senior: true})
			continue
		}
		res, err := consensus.ParseResolution(val)
		if err != nil || res == consensus.Unresolved || res == consensus.Redraw {
			fmt.Fprintf(stderr, "metascope consensus: --resolve %q: want accept-a, accept-b, union, intersection, reject, staple or senior (redraw: --redraw)\n", r)
			return exitUsage
		}
		actions = append(actions, action{id: id, res: res})
	}
	for _, r := range redraws {
		id, file, err := itemArg(r)
		if err != nil {
			fmt.Fprintf(stderr, "metascope consensus: --redraw %q: %v\n", r, err)
			return exitUsage
		}
		actions = append(actions, action{id: id, res: consensus.Redraw, file: file})
	}
	var opts consensus.Options
	opts.Conn = cn
	if *readers != "" {
		rs := strings.Split(*readers, ",")
		if len(rs) != 2 {
			fmt.Fprintln(stderr, "metascope consensus: --readers: want two names, comma-separated")
			return exitUsage
		}
		opts.Readers = [2]string{strings.TrimSpace(rs[0]), strings.TrimSpace(rs[1])}
	}

	w, err := workspace.Open(*ws)
	if err != nil {
		return fail(err)
	}
	c, err := w.Case(*caseName)
	if err != nil {
		return fail(err)
	}
	if _, ok := w.Reader(*as); !ok {
		return fail(fmt.Errorf("--as %q is not a reader of %s", *as, w.Dir()))
	}
	if *submit {
		if err := c.Submit(*as); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s submitted case %s\n", *as, c.Name())
	}
	if *labels != "" {
		l, err := w.OpenLabel(c, *as, *labels)
		if err != nil {
			return fail(err)
		}
		comps := lesion.ComponentList(l, cn)
		fmt.Fprintf(stdout, "%s's labels of %s: %d lesions, %.3f cm3\n", *labels, c.Name(), len(comps), l.VolumeCM3())
		for _, cp := range comps {
			fmt.Fprintf(stdout, "  #%d %.3f cm3 at RAS %.1f, %.1f, %.1f mm\n", cp.ID, cp.VolumeCM3, cp.CentroidRAS[0], cp.CentroidRAS[1], cp.CentroidRAS[2])
		}
		if len(actions) == 0 && !*staple && !*finalise {
			return exitOK
		}
	}
	if !c.BlindingLifted() {
		if *submit || *labels != "" {
			fmt.Fprintf(stdout, "consensus waits for %q to submit\n", c.Pending())
			return exitOK
		}
		return fail(fmt.Errorf("case %q: the consensus opens when every reader has submitted (waiting for %q)", c.Name(), c.Pending()))
	}
	s, err := consensus.Open(w, c, *as, opts)
	if err != nil {
		return fail(err)
	}
	for _, a := range actions {
		switch {
		case a.senior:
			err = s.MarkSenior(*as, a.id, *note)
		case a.res == consensus.Redraw:
			var l *volume.Label
			if l, err = nifti.ReadLabel(a.file); err == nil {
				err = s.Resolve(*as, a.id, consensus.Redraw, l)
			}
		default:
			err = s.Resolve(*as, a.id, a.res, nil)
		}
		if err != nil {
			return fail(err)
		}
	}
	ra, rb := s.Readers()
	if *staple {
		st, err := s.Staple(*as)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "STAPLE (%d iterations, prior %.4f, box %v..%v):\n", st.Iterations, st.Prior, st.BoxMin, st.BoxMax)
		for i, r := range []string{ra, rb} {
			fmt.Fprintf(stdout, "  %-20s sensitivity %.3f  specificity %.4f\n", r, st.Sensitivity[i], st.Specificity[i])
		}
		fmt.Fprintf(stdout, "  proposed outline: %d voxels, %.3f cm3\n", st.Label.Count(), st.Label.VolumeCM3())
	}
	printItems(stdout, s, ra, rb)
	open, senior := s.Open(), s.PendingSenior()
	switch {
	case s.Final():
		fmt.Fprintf(stdout, "consensus is final: %s\n", c.ConsensusPath())
	case len(open)+len(senior) > 0:
		fmt.Fprintf(stdout, "not final: items %v unresolved, items %v wait for an adjudicator\n", open, senior)
		if *finalise {
			return fail(s.CanFinalise())
		}
	case *finalise || len(actions) > 0:
		out, err := s.Finalise(*as)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "consensus written: %s (%d lesions, %.3f cm3); case ready for training\n",
			c.ConsensusPath(), len(lesion.ComponentList(out, cn)), out.VolumeCM3())
	default:
		fmt.Fprintln(stdout, "every item is resolved: run again with --finalise to write the consensus")
	}
	return exitOK
}

func itemArg(s string) (int, string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || v == "" {
		return 0, "", fmt.Errorf("want ITEM=VALUE")
	}
	id, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(k), "#"))
	if err != nil || id < 1 {
		return 0, "", fmt.Errorf("item %q is not a positive number", k)
	}
	return id, strings.TrimSpace(v), nil
}

func printItems(out io.Writer, s *consensus.Session, ra, rb string) {
	items := s.Items()
	sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	fmt.Fprintf(out, "case %s: reader A %s, reader B %s, %d items\n", s.Case().Name(), ra, rb, len(items))
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "item\tkind\tA cm3\tB cm3\tDice\tRAS mm\tdecision")
	for _, it := range items {
		d := s.Decision(it.ID)
		dec := d.Resolution.String()
		if d.Senior {
			if d.Resolved() {
				dec += " (adjudicated)"
			} else {
				dec = "needs senior review"
			}
		}
		if d.By != "" {
			dec += " by " + d.By
		}
		dice := "-"
		if it.Kind == consensus.Agreed && !math.IsNaN(it.Dice) {
			dice = fmt.Sprintf("%.2f", it.Dice)
		}
		fmt.Fprintf(tw, "%d\t%s\t%.3f\t%.3f\t%s\t%.1f, %.1f, %.1f\t%s\n", it.ID, it.Kind, it.ACM3, it.BCM3, dice,
			it.CentroidRAS[0], it.CentroidRAS[1], it.CentroidRAS[2], dec)
	}
	tw.Flush()
}

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"text/tabwriter"

	"metascope/lesion"
	"metascope/segedit/consensus"
	"metascope/workspace"
)

func cmdAgreement(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("agreement", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ws := fs.String("workspace", "", "workspace folder (required)")
	conn := fs.String("conn", "26", "lesion connectivity: 6, 18 or 26")
	asJSON := fs.Bool("json", false, "print JSON instead of a table (undefined figures are null)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: metascope agreement --workspace W [--json]")
		fmt.Fprintln(stderr, "\nInter-reader agreement per case and over the workspace: voxel Dice, lesion F1,")
		fmt.Fprintln(stderr, "lesions only one reader found, and how often the adjudicator was needed.")
		fmt.Fprintln(stderr, "Cases whose readers have not all submitted are left out (blinding).")
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
	cn, err := lesion.ParseConnectivity(*conn)
	if err != nil {
		fmt.Fprintf(stderr, "metascope agreement: --conn: %v\n", err)
		return exitUsage
	}
	w, err := workspace.Open(*ws)
	if err != nil {
		return commandError(stderr, "agreement", err)
	}
	ag, err := consensus.Agreement(w, cn)
	if err != nil {
		return commandError(stderr, "agreement", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(agreementJSON(ag)); err != nil {
			return commandError(stderr, "agreement", err)
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "case\treader A\treader B\tvoxel Dice\tlesion F1\tagreed\tA only\tB only\tadjudicated\tconsensus")
	for _, c := range ag.Cases {
		state := "not started"
		switch {
		case c.ConsensusFinal:
			state = "final"
		case c.ConsensusStarted:
			state = "in progress"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", c.Case, c.ReaderA, c.ReaderB, agreementFig(c.VoxelDice), agreementFig(c.LesionF1),
			c.Agreed, c.AOnly, c.BOnly, c.Adjudicated, state)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\n%d cases: mean voxel Dice %s, mean lesion F1 %s, pooled lesion F1 %s\n",
		len(ag.Cases), agreementFig(ag.MeanVoxelDice), agreementFig(ag.MeanLesionF1), agreementFig(ag.PooledLesionF1))
	fmt.Fprintf(stdout, "lesions: %d agreed, %d only reader A, %d only reader B\n", ag.Agreed, ag.AOnly, ag.BOnly)
	fmt.Fprintf(stdout, "adjudicator needed in %d of %d cases in consensus (%s), for %d items\n",
		ag.CasesAdjudicated, ag.ConsensusStarted, agreementPct(ag.AdjudicatedFraction), ag.ItemsAdjudicated)
	names := make([]string, 0, len(ag.Skipped))
	for n := range ag.Skipped {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(stdout, "left out %s: %s\n", n, ag.Skipped[n])
	}
	return exitOK
}

func agreementFig(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.3f", x)
}

func agreementPct(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.0f %%", 100*x)
}

// agreementJSON is ag as plain JSON data, with undefined (NaN) figures as
// null: encoding/json refuses NaN.
func agreementJSON(ag *consensus.WorkspaceAgreement) map[string]any {
	num := func(x float64) any {
		if math.IsNaN(x) {
			return nil
		}
		return x
	}
	cases := make([]map[string]any, 0, len(ag.Cases))
	for _, c := range ag.Cases {
		cases = append(cases, map[string]any{
			"case": c.Case, "reader_a": c.ReaderA, "reader_b": c.ReaderB,
			"voxel_dice": num(c.VoxelDice), "lesion_f1": num(c.LesionF1),
			"agreed": c.Agreed, "a_only": c.AOnly, "b_only": c.BOnly, "lesions_a": c.LesionsA, "lesions_b": c.LesionsB,
			"adjudicated_items": c.Adjudicated, "consensus_started": c.ConsensusStarted, "consensus_final": c.ConsensusFinal,
		})
	}
	return map[string]any{
		"cases": cases, "skipped": ag.Skipped,
		"mean_voxel_dice": num(ag.MeanVoxelDice), "mean_lesion_f1": num(ag.MeanLesionF1), "pooled_lesion_f1": num(ag.PooledLesionF1),
		"agreed": ag.Agreed, "a_only": ag.AOnly, "b_only": ag.BOnly,
		"cases_adjudicated": ag.CasesAdjudicated, "items_adjudicated": ag.ItemsAdjudicated,
		"cases_in_consensus": ag.ConsensusStarted, "adjudicated_fraction": num(ag.AdjudicatedFraction),
	}
}

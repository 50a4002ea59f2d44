// Command metascope is the Metascope workstation for brain metastases on
// multiparametric MRI, and its headless commands. Every command calls the
// same package functions the GUI calls; nothing is implemented twice.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"

	"early.init/langenv"
)

// command is one subcommand: run gets the arguments after its name and
// returns the process exit code.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// Exit codes shared by all commands.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed (bad file, failed job)
	exitUsage = 2 // bad flags or arguments
)

// commands lists every subcommand. Each lives in its own cmd_<name>.go.
func commands() []command {
	cmds := []command{
		// one entry per subcommand, kept sorted by name
		{"agreement", "inter-reader agreement per case and over a workspace (Dice, lesion F1, adjudications)", cmdAgreement},
		{"cases", "list a workspace's cases with their status", cmdCases},
		{"consensus", "compare two readers' labels of a case and resolve them into the consensus", cmdConsensus},
		{"convert", "convert a DICOM series or NIfTI file to NIfTI", cmdConvert},
		{"demo", "open the workstation on a demo workspace of phantom cases (made on first run)", cmdDemo},
		{"demomodel", "generate a phantom cohort, train the demo fold ensemble on it and score it (synthetic data)", cmdDemoModel},
		{"eval", "score predicted lesions against ground truth: the study's table, FROC", cmdEval},
		{"export", "export ready cases as an nnU-Net / Decathlon training dataset", cmdExport},
		{"gui", "open the workstation on a workspace (the last one by default)", cmdGUI},
		{"import", "add a case (four sequences) to a workspace", cmdImport},
		{"infer", "find candidate metastases in a case with a trained model (ensemble of folds)", cmdInfer},
		{"info", "describe a NIfTI file or DICOM folder as JSON", cmdInfo},
		{"phantom", "generate synthetic multiparametric MRI cases with metastases and ground truth", cmdPhantom},
		{"preprocess", "bias-correct, coregister, skull-strip, resample to 1 mm and z-score a case", cmdPreprocess},
		{"train", "train a k-fold ensemble on labelled cases (workspace, nnU-Net folder, phantom cohort); evaluate it", cmdTrain},
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	return cmds
}

func main() {
	// Fyne has read the locale (see langenv); what this process starts
	// gets the user's environment back.
	langenv.Restore()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		// No arguments: the workstation, on the last workspace (or the demo).
		return cmdGUI(nil, stdout, stderr)
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "metascope: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Metascope: brain metastases on multiparametric MRI (not a medical device).")
	fmt.Fprintln(w, "\nUsage: metascope <command> [flags]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'metascope <command> -h' for a command's flags.")
}

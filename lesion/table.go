package lesion

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// TableColumn is one column of the study's results table: a model (the
// fused ensemble, one fold) and its cohort result.
type TableColumn struct {
	Name   string
	Result CohortResult
}

// Table is the study's "Detection and segmentation accuracy on the
// independent test cohort" table: columns are models (the study: majority
// voting scheme, then each fold), rows sensitivity, precision, F1 score,
// missed lesions, false positives per scan and median Dice.
type Table struct {
	Columns []TableColumn
	// Extended adds rows the study reports only in its text: detected of
	// all lesions, the Dice 10-90 percentile range and the volume
	// correlation.
	Extended bool
	// Note is printed under the Markdown table (the study's table has a
	// note explaining its rows).
	Note string
}

// StudyTable builds the table in the study's layout.
func StudyTable(columns []TableColumn) Table { return Table{Columns: columns} }

// tableRow is one row: its label, its section, and how a cell is shown
// (text) and written to CSV (number).
type tableRow struct {
	section, label string
	text           func(CohortResult) string
	number         func(CohortResult) string
}

func (t Table) rows() []tableRow {
	rows := []tableRow{
		{"Detection", "Sensitivity", func(c CohortResult) string { return pct(c.Sensitivity) },
			func(c CohortResult) string { return num(c.Sensitivity) }},
		{"Detection", "Precision", func(c CohortResult) string { return pct(c.Precision) },
			func(c CohortResult) string { return num(c.Precision) }},
		{"Detection", "F1 score", func(c CohortResult) string { return fixed(c.F1, 2) },
			func(c CohortResult) string { return num(c.F1) }},
		{"Detection", "Missed", func(c CohortResult) string { return strconv.Itoa(c.FN) },
			func(c CohortResult) string { return strconv.Itoa(c.FN) }},
		{"Detection", "FPs/scan", func(c CohortResult) string { return fixed(c.FPPerScan, 2) },
			func(c CohortResult) string { return num(c.FPPerScan) }},
	}
	if t.Extended {
		rows = append(rows, tableRow{"Detection", "Detected",
			func(c CohortResult) string { return fmt.Sprintf("%d/%d", c.TP, c.TP+c.FN) },
			func(c CohortResult) string { return strconv.Itoa(c.TP) }})
	}
	rows = append(rows, tableRow{"Segmentation", "Dice coefficient",
		func(c CohortResult) string { return fixed(c.DiceMedian, 2) },
		func(c CohortResult) string { return num(c.DiceMedian) }})
	if t.Extended {
		rows = append(rows,
			tableRow{"Segmentation", "Dice 10-90 percentile",
				func(c CohortResult) string {
					if math.IsNaN(c.DiceP10) {
						return "n/a"
					}
					return fixed(c.DiceP10, 2) + "-" + fixed(c.DiceP90, 2)
				},
				func(c CohortResult) string { return num(c.DiceP10) + "-" + num(c.DiceP90) }},
			tableRow{"Segmentation", "Volume r",
				func(c CohortResult) string { return fixed(c.VolumeR, 2) },
				func(c CohortResult) string { return num(c.VolumeR) }})
	}
	return rows
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return strconv.Itoa(int(math.Round(x*100))) + "%"
}

func fixed(x float64, prec int) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

// WriteMarkdown writes the table as GitHub Markdown, with the study's
// "Detection" and "Segmentation" section rows.
func (t Table) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	b.WriteString("| |")
	for _, c := range t.Columns {
		b.WriteString(" " + cell(c.Name) + " |")
	}
	b.WriteString("\n|---|")
	for range t.Columns {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	section := ""
	for _, r := range t.rows() {
		if r.section != section {
			section = r.section
			b.WriteString("| **" + section + "** |" + strings.Repeat(" |", len(t.Columns)) + "\n")
		}
		b.WriteString("| " + r.label + " |")
		for _, c := range t.Columns {
			b.WriteString(" " + r.text(c.Result) + " |")
		}
		b.WriteString("\n")
	}
	if t.Note != "" {
		b.WriteString("\n" + t.Note + "\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// WriteCSV writes the table as CSV: a header "metric" then the column
// names, one row per metric, cells as plain numbers (fractions, not
// percent; empty when undefined) for other tools to read.
func (t Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"metric"}
	for _, c := range t.Columns {
		head = append(head, c.Name)
	}
	cw.Write(head)
	for _, r := range t.rows() {
		rec := []string{r.label}
		for _, c := range t.Columns {
			rec = append(rec, r.number(c.Result))
		}
		cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write table CSV: %w", err)
	}
	return nil
}

// StudyName names the study in tables and plots. Its text names no title
// or authors, only the approving institution, the University of Cologne
// (Universität zu Köln).
const StudyName = "Study (Cologne, published)"

// The study's test cohort: 14 patients, 32 metastases.
const (
	studyScans   = 14
	studyLesions = 32
)

// StudyPublished returns the study's own table (independent test cohort)
// as columns, in its order: majority voting scheme, then folds 1 to 5,
// values exactly as printed. Counts the table does not print are derived:
// TP = 32 - missed, FP = round(FPs/scan x 14). Values it does not report
// are NaN, except, for the fused column, from its text: the Dice 10-90
// percentile range (0.09-0.93), the volume correlation (r = 0.97) and the
// mean volumes of missed lesions (0.01 cm3) and false positives (0.02 cm3).
func StudyPublished() []TableColumn {
	type pub struct {
		name                         string
		sens, prec, f1, fps, diceMed float64
		missed                       int
	}
	pubs := []pub{
		{"Majority Voting Scheme", 0.88, 0.74, 0.80, 0.71, 0.75, 4},
		{"First Fold", 0.88, 0.49, 0.63, 2.1, 0.78, 4},
		{"Second Fold", 0.88, 0.35, 0.50, 3.8, 0.73, 4},
		{"Third Fold", 0.81, 0.40, 0.53, 2.9, 0.73, 6},
		{"Fourth Fold", 0.91, 0.41, 0.57, 2.9, 0.76, 3},
		{"Fifth Fold", 0.91, 0.51, 0.65, 2.0, 0.78, 3},
	}
	nan := math.NaN()
	cols := make([]TableColumn, len(pubs))
	for i, p := range pubs {
		fp := int(math.Round(p.fps * studyScans))
		cols[i] = TableColumn{Name: "Study: " + p.name, Result: CohortResult{
			Scans: studyScans, TP: studyLesions - p.missed, FN: p.missed, FP: fp,
			Lesions: studyLesions, Predicted: studyLesions - p.missed + fp,
			Sensitivity: p.sens, Precision: p.prec, F1: p.f1, FPPerScan: p.fps,
			DiceMedian: p.diceMed, DiceP10: nan, DiceP90: nan, VolumeR: nan,
			MeanMissedCM3: nan, MeanFPCM3: nan,
		}}
	}
	f := &cols[0].Result
	f.DiceP10, f.DiceP90, f.VolumeR = 0.09, 0.93, 0.97
	f.MeanMissedCM3, f.MeanFPCM3 = 0.01, 0.02
	return cols
}

// StudyReference is the study's fused (majority vote) column under
// StudyName: the optional reference column of a Metascope table.
func StudyReference() TableColumn {
	c := StudyPublished()[0]
	c.Name = StudyName
	return c
}

// StudyOperatingPoint is the study's fused result as an FROC point (0.71
// false positives per scan at 88 % sensitivity), to mark on a plot.
func StudyOperatingPoint() FROCPoint {
	r := StudyReference().Result
	return FROCPoint{Threshold: math.NaN(), TP: r.TP, FN: r.FN, FP: r.FP, Scans: r.Scans,
		Sensitivity: r.Sensitivity, FPPerScan: r.FPPerScan}
}

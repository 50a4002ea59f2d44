package training

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"metascope/internal/atomicfile"
)

// Curve file names in a fold's training folder.
const (
	CurveCSV = "curve.csv"
	CurvePNG = "curve.png"
)

// WriteCurveCSV writes the history as CSV: epoch, loss, val_loss,
// val_dice, learning_rate, seconds.
func WriteCurveCSV(w io.Writer, h []EpochRecord) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"epoch", "loss", "val_loss", "val_dice", "learning_rate", "seconds"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }
	for _, r := range h {
		_ = cw.Write([]string{strconv.Itoa(r.Epoch), f(r.Loss), f(r.ValLoss), f(r.ValDice), f(r.LearningRate), f(r.Seconds)})
	}
	cw.Flush()
	return cw.Error()
}

// PlotCurve draws training loss, validation loss and validation Dice
// against the epoch as a PNG.
func PlotCurve(h []EpochRecord, title string) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "loss (1 - soft Dice) / Dice"
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(plotter.NewGrid())
	series := []struct {
		name string
		get  func(EpochRecord) float64
	}{
		{"training loss", func(r EpochRecord) float64 { return r.Loss }},
		{"validation loss", func(r EpochRecord) float64 { return r.ValLoss }},
		{"validation Dice", func(r EpochRecord) float64 { return r.ValDice }},
	}
	for i, s := range series {
		var pts plotter.XYs
		for _, r := range h {
			if v := s.get(r); !math.IsNaN(v) {
				pts = append(pts, plotter.XY{X: float64(r.Epoch), Y: v})
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		l.Color = plotColors[i]
		sc.Color = plotColors[i]
		p.Add(l, sc)
		p.Legend.Add(s.name, l)
	}
	p.Legend.Top = true
	wt, err := p.WriterTo(6*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeCurves(dir string, h []EpochRecord) error {
	var buf bytes.Buffer
	if err := WriteCurveCSV(&buf, h); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, CurveCSV), buf.Bytes()); err != nil {
		return err
	}
	png, err := PlotCurve(h, fmt.Sprintf("training curve (%s)", filepath.Base(dir)))
	if err != nil {
		return fmt.Errorf("curve plot: %w", err)
	}
	return atomicfile.WriteBytes(filepath.Join(dir, CurvePNG), png)
}

var plotColors = []color.RGBA{{R: 0x1f, G: 0x77, B: 0xb4, A: 255}, {R: 0xff, G: 0x7f, B: 0x0e, A: 255}, {R: 0x2c, G: 0xa0, B: 0x2c, A: 255}}

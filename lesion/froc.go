package lesion

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strconv"
	"sync"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"metascope/internal/atomicfile"
	"metascope/volume"
)

// FROCPoint is one operating point of a free-response ROC curve: lesion
// sensitivity against mean false positives per scan, at one probability
// threshold.
type FROCPoint struct {
	Threshold   float64
	TP, FN, FP  int
	Scans       int
	Sensitivity float64 // TP / (TP + FN), NaN without reference lesions
	FPPerScan   float64
}

// FROC computes one point per threshold (in the given order): each
// probability map is binarised at p >= threshold (Threshold), components
// under opts.MinCM3 are removed, and the result is matched to its truth
// exactly as EvaluateCase does, counts pooled over the scans. truths[i]
// and probs[i] must share a grid; it panics otherwise, on differing list
// lengths, and on options that fail Validate. Cases run on all CPUs.
func FROC(truths []*volume.Label, probs []*volume.Volume, thresholds []float64, opts EvalOptions) []FROCPoint {
	if err := opts.Validate(); err != nil {
		panic("lesion.FROC: " + err.Error())
	}
	if len(truths) != len(probs) {
		panic(fmt.Sprintf("lesion.FROC: %d truths but %d probability maps", len(truths), len(probs)))
	}
	for i := range truths {
		mustSameGrid("FROC", truths[i].Grid, probs[i].Grid)
	}
	type counts struct{ tp, fn, fp int }
	perCase := make([][]counts, len(truths))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), max(len(truths), 1)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				cs := make([]counts, len(thresholds))
				rrs, rID, refComps := analyse(truths[c], nil, opts.Conn)
				for t, th := range thresholds {
					cs[t].tp, cs[t].fn, cs[t].fp = countAtThreshold(rrs, rID, len(refComps), probs[c], float32(th), opts)
				}
				perCase[c] = cs
			}
		}()
	}
	for c := range truths {
		work <- c
	}
	close(work)
	wg.Wait()
	pts := make([]FROCPoint, len(thresholds))
	for t, th := range thresholds {
		p := FROCPoint{Threshold: th, Scans: len(truths)}
		for c := range truths {
			p.TP += perCase[c][t].tp
			p.FN += perCase[c][t].fn
			p.FP += perCase[c][t].fp
		}
		p.Sensitivity = frac(p.TP, p.TP+p.FN)
		p.FPPerScan = math.NaN()
		if p.Scans > 0 {
			p.FPPerScan = float64(p.FP) / float64(p.Scans)
		}
		pts[t] = p
	}
	return pts
}

// countAtThreshold scores the map prob >= t against the reference runs
// exactly as RemoveSmall, Threshold and Match would, but on runs only:
// no map is built, and a component under opts.MinCM3 is simply not
// counted (removing it changes no other component).
func countAtThreshold(rrs *runs, rID []int32, nRef int, prob *volume.Volume, t float32, opts EvalOptions) (tp, fn, fp int) {
	trs := extractRunsAbove(prob, t)
	tID, n := labelRuns(trs, opts.Conn)
	size := make([]int, n+1)
	for x := range trs.start {
		size[tID[x]] += int(trs.end[x] - trs.start[x])
	}
	vox := prob.VoxelVolumeMM3() / 1000
	kept := make([]bool, n+1)
	for id := 1; id <= n; id++ {
		kept[id] = float64(size[id])*vox >= opts.MinCM3*(1-volumeEpsilon)
	}
	detected := make([]bool, nRef+1)
	hit := make([]bool, n+1)
	overlapRuns(rrs, rID, trs, tID, func(r, t int32, _ int) {
		if kept[t] {
			detected[r] = true
			hit[t] = true
		}
	})
	for r := 1; r <= nRef; r++ {
		if detected[r] {
			tp++
		} else {
			fn++
		}
	}
	for id := 1; id <= n; id++ {
		if kept[id] && !hit[id] {
			fp++
		}
	}
	return tp, fn, fp
}

// PoolFROC sums FROC points computed separately (per case, or per batch
// of cases, with the same thresholds) into the cohort's points, so that a
// caller need not hold every probability map in memory at once.
// It panics when the curves have different thresholds.
func PoolFROC(parts ...[]FROCPoint) []FROCPoint {
	if len(parts) == 0 {
		return nil
	}
	out := make([]FROCPoint, len(parts[0]))
	for i, p := range parts[0] {
		out[i] = FROCPoint{Threshold: p.Threshold}
	}
	for _, part := range parts {
		if len(part) != len(out) {
			panic("lesion.PoolFROC: curves of different lengths")
		}
		for i, p := range part {
			if p.Threshold != out[i].Threshold {
				panic("lesion.PoolFROC: curves with different thresholds")
			}
			out[i].TP += p.TP
			out[i].FN += p.FN
			out[i].FP += p.FP
			out[i].Scans += p.Scans
		}
	}
	for i := range out {
		p := &out[i]
		p.Sensitivity = frac(p.TP, p.TP+p.FN)
		p.FPPerScan = math.NaN()
		if p.Scans > 0 {
			p.FPPerScan = float64(p.FP) / float64(p.Scans)
		}
	}
	return out
}

// Thresholds returns n evenly spaced thresholds strictly inside (0, 1):
// 1/(n+1), ..., n/(n+1).
func Thresholds(n int) []float64 {
	ts := make([]float64, n)
	for i := range ts {
		ts[i] = float64(i+1) / float64(n+1)
	}
	return ts
}

// WriteFROCCSV writes the points as CSV with a header row.
func WriteFROCCSV(w io.Writer, pts []FROCPoint) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"threshold", "sensitivity", "fps_per_scan", "tp", "fn", "fp", "scans"})
	for _, p := range pts {
		cw.Write(frocRecord(p))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write FROC CSV: %w", err)
	}
	return nil
}

func frocRecord(p FROCPoint) []string {
	return []string{num(p.Threshold), num(p.Sensitivity), num(p.FPPerScan),
		strconv.Itoa(p.TP), strconv.Itoa(p.FN), strconv.Itoa(p.FP), strconv.Itoa(p.Scans)}
}

// WriteFROCCurvesCSV writes several named curves (in name order) as one
// CSV whose first column is the curve's name.
func WriteFROCCurvesCSV(w io.Writer, curves map[string][]FROCPoint) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"curve", "threshold", "sensitivity", "fps_per_scan", "tp", "fn", "fp", "scans"})
	names := make([]string, 0, len(curves))
	for n := range curves {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, p := range curves[n] {
			cw.Write(append([]string{n}, frocRecord(p)...))
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write FROC CSV: %w", err)
	}
	return nil
}

// num formats a float for CSV: shortest exact form, empty for NaN.
func num(x float64) string {
	if math.IsNaN(x) {
		return ""
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// PlotFROC draws FROC curves (one per name, in name order) as a PNG at
// path, written atomically.
func PlotFROC(path string, curves map[string][]FROCPoint) error {
	return PlotFROCWithPoints(path, curves, nil)
}

// PlotFROCWithPoints is PlotFROC with single labelled operating points
// drawn as markers, such as the study's published fused result
// (StudyOperatingPoint).
func PlotFROCWithPoints(path string, curves map[string][]FROCPoint, points map[string]FROCPoint) error {
	p := plot.New()
	p.Title.Text = "FROC: lesion sensitivity vs false positives per scan"
	p.X.Label.Text = "Mean false positives per scan"
	p.Y.Label.Text = "Sensitivity"
	p.Y.Min, p.Y.Max = 0, 1.05
	p.X.Min = 0
	xmax := 0.0
	for _, pts := range curves {
		for _, pt := range pts {
			if !math.IsNaN(pt.FPPerScan) {
				xmax = math.Max(xmax, pt.FPPerScan)
			}
		}
	}
	for _, pt := range points {
		if !math.IsNaN(pt.FPPerScan) {
			xmax = math.Max(xmax, pt.FPPerScan)
		}
	}
	p.X.Max = math.Max(1, xmax*1.05)
	p.Add(plotter.NewGrid())
	p.Legend.Top = false
	p.Legend.Left = false
	names := make([]string, 0, len(curves))
	for n := range curves {
		names = append(names, n)
	}
	sort.Strings(names)
	var args []any
	for _, n := range names {
		xys := frocXYs(curves[n])
		if len(xys) == 0 {
			continue
		}
		args = append(args, n, xys)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return fmt.Errorf("plot FROC %s: %w", path, err)
	}
	pnames := make([]string, 0, len(points))
	for n := range points {
		pnames = append(pnames, n)
	}
	sort.Strings(pnames)
	for i, n := range pnames {
		pt := points[n]
		s, err := plotter.NewScatter(plotter.XYs{{X: pt.FPPerScan, Y: pt.Sensitivity}})
		if err != nil {
			return fmt.Errorf("plot FROC %s: %w", path, err)
		}
		s.GlyphStyle.Shape = plotutil.Shape(5 + i)
		s.GlyphStyle.Radius = vg.Points(6)
		s.GlyphStyle.Color = plotutil.Color(len(names) + i)
		p.Add(s)
		p.Legend.Add(n, s)
	}
	wt, err := p.WriterTo(7*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("plot FROC %s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	})
}

// frocXYs orders the defined points from the highest threshold to the
// lowest, so the curve is drawn as the operating point moves. (Sorting by
// false positives instead would zig-zag: lowering the threshold can merge
// false positives and lower their count.)
func frocXYs(pts []FROCPoint) plotter.XYs {
	sorted := make([]FROCPoint, 0, len(pts))
	for _, p := range pts {
		if !math.IsNaN(p.Sensitivity) && !math.IsNaN(p.FPPerScan) {
			sorted = append(sorted, p)
		}
	}
	sort.SliceStable(sorted, func(a, b int) bool { return sorted[a].Threshold > sorted[b].Threshold })
	xys := make(plotter.XYs, len(sorted))
	for i, p := range sorted {
		xys[i] = plotter.XY{X: p.FPPerScan, Y: p.Sensitivity}
	}
	return xys
}

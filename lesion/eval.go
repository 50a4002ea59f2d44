package lesion

import (
	"fmt"
	"math"
	"sort"

	"metascope/volume"
)

// StudyMinCM3 is the study's noise threshold: predicted lesions under
// 0.003 cm3 (about 2 voxels of its T1c) were discarded.
const StudyMinCM3 = 0.003

// EvalOptions says how a case is scored.
type EvalOptions struct {
	// Conn is the connectivity of lesions in both maps.
	Conn Connectivity
	// MinCM3 discards predicted components below this volume before
	// matching (the study's 0.003 cm3). The reference is never pruned: a
	// tiny true lesion that is missed is a miss. 0 keeps everything.
	MinCM3 float64
	// SizeBinsCM3 are increasing bin edges of reference lesion volume for
	// SensitivityBySize: n edges make n+1 bins, [0, e0), [e0, e1), ...,
	// [e_{n-1}, +Inf). Empty means no size bins.
	SizeBinsCM3 []float64
}

// DefaultEvalOptions is the study's scoring: 26-connectivity, predicted
// lesions under 0.003 cm3 discarded, and size bins under 0.01, 0.01-0.1,
// 0.1-1 and from 1 cm3 (the study's misses were 0.004-0.16 cm3, its mean
// test lesion 1.0 cm3).
func DefaultEvalOptions() EvalOptions {
	return EvalOptions{Conn: Conn26, MinCM3: StudyMinCM3, SizeBinsCM3: []float64{0.01, 0.1, 1}}
}

// Validate reports the first bad field.
func (o EvalOptions) Validate() error {
	if !o.Conn.valid() {
		return fmt.Errorf("EvalOptions.Conn: invalid connectivity %d", int(o.Conn))
	}
	if o.MinCM3 < 0 || math.IsNaN(o.MinCM3) || math.IsInf(o.MinCM3, 0) {
		return fmt.Errorf("EvalOptions.MinCM3: %v; want a finite value >= 0", o.MinCM3)
	}
	for i, e := range o.SizeBinsCM3 {
		if !(e > 0) || math.IsInf(e, 0) || (i > 0 && e <= o.SizeBinsCM3[i-1]) {
			return fmt.Errorf("EvalOptions.SizeBinsCM3: edges %v must be positive, finite and increasing", o.SizeBinsCM3)
		}
	}
	return nil
}

// SizeBin is the detection rate of reference lesions of one size range.
type SizeBin struct {
	LoCM3, HiCM3 float64 // [Lo, Hi); Hi is +Inf for the last bin
	Lesions      int
	Detected     int
	Sensitivity  float64 // Detected / Lesions; NaN for an empty bin
}

// Label names the bin, e.g. "0.01-0.1 cm3" or ">= 1 cm3".
func (b SizeBin) Label() string {
	switch {
	case b.LoCM3 == 0:
		return fmt.Sprintf("< %g cm3", b.HiCM3)
	case math.IsInf(b.HiCM3, 1):
		return fmt.Sprintf(">= %g cm3", b.LoCM3)
	}
	return fmt.Sprintf("%g-%g cm3", b.LoCM3, b.HiCM3)
}

// CaseResult is the evaluation of one scan.
type CaseResult struct {
	Name string // optional: the case's name, for reports
	// TP counts detected reference lesions, FN missed ones, FP predicted
	// components overlapping no reference lesion (see Match). Lesions is
	// TP + FN; Predicted the number of predicted components after pruning.
	TP, FN, FP         int
	Lesions, Predicted int
	// RemovedSmall is the number of predicted components discarded as
	// under EvalOptions.MinCM3.
	RemovedSmall int
	// Sensitivity = TP/(TP+FN), Precision = TP/(TP+FP), F1 =
	// 2TP/(2TP+FP+FN) (= 2PR/(P+R)). A ratio whose denominator is 0 is
	// NaN (undefined), never a made-up 0 or 1: a scan without lesions has
	// no sensitivity; a scan without predictions no precision. The study
	// included no scans without metastases and pooled its counts over the
	// cohort, as Cohort does.
	Sensitivity, Precision, F1 float64
	// Pairs are the matched lesions (per-lesion Dice, volumes, distances).
	Pairs []Pair
	// Missed and FalsePositives are the unmatched lesions of each side.
	Missed, FalsePositives []Component
	// VoxelDice is the whole-map Dice after pruning (1 when both empty).
	VoxelDice float64
	// TruthCM3 and PredCM3 are the whole-map volumes.
	TruthCM3, PredCM3 float64
	// FPPerScan is FP (one scan), for symmetry with CohortResult.
	FPPerScan float64
	// DiceMedian, DiceP10 and DiceP90 summarise this scan's per-lesion
	// Dice (see CohortResult); VolumeR its volume correlation.
	DiceMedian, DiceP10, DiceP90 float64
	VolumeR                      float64
	// SensitivityBySize is sensitivity by reference lesion volume.
	SensitivityBySize []SizeBin
}

// EvaluateCase scores one prediction against its ground truth (same grid;
// it panics otherwise, see CheckGrids, and on options that fail Validate).
func EvaluateCase(truth, pred *volume.Label, opts EvalOptions) CaseResult {
	if err := opts.Validate(); err != nil {
		panic("lesion.EvaluateCase: " + err.Error())
	}
	mustSameGrid("EvaluateCase", truth.Grid, pred.Grid)
	pruned, removed := RemoveSmall(pred, opts.MinCM3, opts.Conn)
	m := Match(truth, pruned, opts.Conn)
	r := CaseResult{
		TP: m.TP(), FN: m.FN(), FP: m.FP(),
		Lesions: len(m.Ref), Predicted: len(m.Test), RemovedSmall: removed,
		Pairs: m.Pairs, Missed: m.Missed, FalsePositives: m.FalsePositives,
		VoxelDice: Dice(truth, pruned),
		TruthCM3:  truth.VolumeCM3(), PredCM3: pruned.VolumeCM3(),
	}
	r.Sensitivity, r.Precision, r.F1 = ratios(r.TP, r.FN, r.FP)
	detected := make([]bool, len(m.Ref)+1)
	for _, p := range m.Pairs {
		detected[p.Ref.ID] = true
	}
	r.SensitivityBySize = sizeBins(opts.SizeBinsCM3, m.Ref, detected)
	r.FPPerScan = float64(r.FP)
	r.DiceMedian, r.DiceP10, r.DiceP90, r.VolumeR = pairStats(r.Pairs)
	return r
}

func ratios(tp, fn, fp int) (sens, prec, f1 float64) {
	return frac(tp, tp+fn), frac(tp, tp+fp), frac(2*tp, 2*tp+fp+fn)
}

func frac(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

func sizeBins(edges []float64, lesions []Component, detected []bool) []SizeBin {
	if len(edges) == 0 {
		return nil
	}
	bins := make([]SizeBin, len(edges)+1)
	for i := range bins {
		bins[i].LoCM3, bins[i].HiCM3 = 0, math.Inf(1)
		if i > 0 {
			bins[i].LoCM3 = edges[i-1]
		}
		if i < len(edges) {
			bins[i].HiCM3 = edges[i]
		}
	}
	for _, c := range lesions {
		i := sort.SearchFloat64s(edges, c.VolumeCM3)
		if i < len(edges) && edges[i] == c.VolumeCM3 {
			i++ // edges belong to the bin above: [lo, hi)
		}
		bins[i].Lesions++
		if detected[c.ID] {
			bins[i].Detected++
		}
	}
	for i := range bins {
		bins[i].Sensitivity = frac(bins[i].Detected, bins[i].Lesions)
	}
	return bins
}

// CohortResult pools the cases of a test set as the study did: counts are
// summed over scans, ratios computed from the sums, false positives divided
// by the number of scans, per-lesion Dice summarised over all detected
// lesions of all scans.
type CohortResult struct {
	Scans                      int
	TP, FN, FP                 int
	Lesions, Predicted         int
	Sensitivity, Precision, F1 float64 // NaN where undefined (see CaseResult)
	FPPerScan                  float64 // NaN for an empty cohort
	// DiceMedian, DiceP10 and DiceP90 summarise the per-lesion Dice of the
	// detected lesions (the study: median with 10-90 percentile range),
	// with the (n+1)p quantile rule of JMP, which the study used. NaN when
	// no lesion was detected.
	DiceMedian, DiceP10, DiceP90 float64
	// VolumeR is Pearson's r between reference and predicted volumes of
	// the matched lesions (study: r = 0.97); NaN with fewer than 2 pairs or
	// no variance.
	VolumeR float64
	// MeanMissedCM3 and MeanFPCM3 are the mean volumes of missed lesions
	// and of false positives (the study reports both as small); NaN when
	// there are none.
	MeanMissedCM3, MeanFPCM3 float64
	// SensitivityBySize pools the size bins of the cases.
	SensitivityBySize []SizeBin
}

// Cohort pools case results (which must use the same size bins).
func Cohort(results []CaseResult) CohortResult {
	c := CohortResult{Scans: len(results)}
	var pairs []Pair
	var missedV, fpV float64
	for _, r := range results {
		c.TP += r.TP
		c.FN += r.FN
		c.FP += r.FP
		c.Lesions += r.Lesions
		c.Predicted += r.Predicted
		pairs = append(pairs, r.Pairs...)
		for _, m := range r.Missed {
			missedV += m.VolumeCM3
		}
		for _, f := range r.FalsePositives {
			fpV += f.VolumeCM3
		}
		if c.SensitivityBySize == nil && len(r.SensitivityBySize) > 0 {
			c.SensitivityBySize = make([]SizeBin, len(r.SensitivityBySize))
			for i, b := range r.SensitivityBySize {
				c.SensitivityBySize[i] = SizeBin{LoCM3: b.LoCM3, HiCM3: b.HiCM3}
			}
		}
		for i, b := range r.SensitivityBySize {
			if i < len(c.SensitivityBySize) {
				c.SensitivityBySize[i].Lesions += b.Lesions
				c.SensitivityBySize[i].Detected += b.Detected
			}
		}
	}
	for i := range c.SensitivityBySize {
		b := &c.SensitivityBySize[i]
		b.Sensitivity = frac(b.Detected, b.Lesions)
	}
	c.Sensitivity, c.Precision, c.F1 = ratios(c.TP, c.FN, c.FP)
	c.FPPerScan = math.NaN()
	if c.Scans > 0 {
		c.FPPerScan = float64(c.FP) / float64(c.Scans)
	}
	c.DiceMedian, c.DiceP10, c.DiceP90, c.VolumeR = pairStats(pairs)
	c.MeanMissedCM3, c.MeanFPCM3 = math.NaN(), math.NaN()
	if c.FN > 0 {
		c.MeanMissedCM3 = missedV / float64(c.FN)
	}
	if c.FP > 0 {
		c.MeanFPCM3 = fpV / float64(c.FP)
	}
	return c
}

// pairStats summarises matched lesions: Dice median and 10th/90th
// percentiles, and Pearson's r of reference against predicted volumes.
func pairStats(pairs []Pair) (med, p10, p90, r float64) {
	dice := make([]float64, len(pairs))
	refV := make([]float64, len(pairs))
	testV := make([]float64, len(pairs))
	for i, p := range pairs {
		dice[i], refV[i], testV[i] = p.Dice, p.RefCM3, p.TestCM3
	}
	sort.Float64s(dice)
	return Quantile(dice, 0.5), Quantile(dice, 0.1), Quantile(dice, 0.9), Pearson(refV, testV)
}

// Quantile is the p-quantile of sorted values by the (n+1)p rule
// (Hyndman-Fan type 6, as JMP computes it): position h = (n+1)p, 1-based,
// interpolated linearly and clamped to the smallest and largest value.
// NaN for no values.
func Quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := float64(n+1) * p
	if h <= 1 {
		return sorted[0]
	}
	if h >= float64(n) {
		return sorted[n-1]
	}
	lo := math.Floor(h)
	i := int(lo) - 1
	return sorted[i] + (h-lo)*(sorted[i+1]-sorted[i])
}

// Pearson is the correlation coefficient of paired samples; NaN with fewer
// than two pairs or when either side has no variance.
func Pearson(x, y []float64) float64 {
	n := len(x)
	if n < 2 || len(y) != n || constant(x) || constant(y) {
		return math.NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	return sxy / math.Sqrt(sxx*syy)
}

// constant reports whether all values are equal (tested directly: the
// rounding of a mean can leave a spurious tiny variance).
func constant(x []float64) bool {
	for _, v := range x[1:] {
		if v != x[0] {
			return false
		}
	}
	return true
}

package lesion

import (
	"math"
	"testing"

	"metascope/volume"
)

func TestEvaluateCaseKnown(t *testing.T) {
	// Truth: lesions A (2x2x2), B (3x3x3), C (1 voxel, tiny but real).
	// Prediction: A exactly, B shifted by one voxel along i, a 1-voxel
	// speck (removed by the 0.003 cm3 rule), a 2x2x1 false positive.
	truth := volume.NewLabel(grid(20, 20, 20))
	box(truth, [3]int{1, 1, 1}, [3]int{2, 2, 2}, 1)
	box(truth, [3]int{10, 10, 10}, [3]int{12, 12, 12}, 1)
	truth.Set(18, 1, 18, 1)
	pred := volume.NewLabel(truth.Grid)
	box(pred, [3]int{1, 1, 1}, [3]int{2, 2, 2}, 1)
	box(pred, [3]int{11, 10, 10}, [3]int{13, 12, 12}, 1)
	pred.Set(5, 15, 5, 1)
	box(pred, [3]int{15, 15, 15}, [3]int{16, 16, 15}, 1)
	r := EvaluateCase(truth, pred, DefaultEvalOptions())
	if r.TP != 2 || r.FN != 1 || r.FP != 1 || r.RemovedSmall != 1 || r.Lesions != 3 || r.Predicted != 3 {
		t.Fatalf("counts %+v", r)
	}
	if r.Sensitivity != 2.0/3 || r.Precision != 2.0/3 || r.F1 != 2.0/3 {
		t.Errorf("sens %v prec %v F1 %v, want 2/3 each", r.Sensitivity, r.Precision, r.F1)
	}
	// Dice: A 1; B overlap 2x3x3 = 18 of 27 + 27 -> 36/54.
	if r.Pairs[0].Dice != 1 || r.Pairs[1].Dice != 36.0/54 {
		t.Errorf("per-lesion Dice %v, %v", r.Pairs[0].Dice, r.Pairs[1].Dice)
	}
	// Two Dice values: median their mean; with n = 2 the (n+1)p rule
	// clamps the 10th and 90th percentiles to the extremes.
	if math.Abs(r.DiceMedian-(1+36.0/54)/2) > 1e-15 || r.DiceP10 != 36.0/54 || r.DiceP90 != 1 || r.FPPerScan != 1 {
		t.Errorf("case Dice %v [%v-%v], FP/scan %v", r.DiceMedian, r.DiceP10, r.DiceP90, r.FPPerScan)
	}
	// Volumes 0.008/0.008 and 0.027/0.027: r = 1.
	if math.Abs(r.VolumeR-1) > 1e-12 {
		t.Errorf("volume r %v, want 1", r.VolumeR)
	}
	// Voxel Dice after pruning: |T| = 36, |P| = 8+27+4 = 39, overlap 26.
	if r.VoxelDice != 52.0/75 {
		t.Errorf("voxel Dice %v, want %v", r.VoxelDice, 52.0/75)
	}
	// Size bins: C (0.001) in < 0.01 with A (0.008); B (0.027) in 0.01-0.1.
	want := []struct{ n, d int }{{2, 1}, {1, 1}, {0, 0}, {0, 0}}
	for i, b := range r.SensitivityBySize {
		if b.Lesions != want[i].n || b.Detected != want[i].d {
			t.Errorf("bin %s: %d/%d, want %d/%d", b.Label(), b.Detected, b.Lesions, want[i].d, want[i].n)
		}
	}
	if !math.IsNaN(r.SensitivityBySize[3].Sensitivity) || r.SensitivityBySize[0].Sensitivity != 0.5 {
		t.Errorf("bin sensitivities %+v", r.SensitivityBySize)
	}
}

func TestEvaluateCaseEmpty(t *testing.T) {
	empty := volume.NewLabel(grid(8, 8, 8))
	some := volume.NewLabel(empty.Grid)
	box(some, [3]int{0, 0, 0}, [3]int{1, 1, 1}, 1)
	box(some, [3]int{5, 5, 5}, [3]int{6, 6, 6}, 1)
	opts := DefaultEvalOptions()
	nan := math.NaN()
	for _, tc := range []struct {
		name                string
		truth, pred         *volume.Label
		tp, fn, fp          int
		sens, prec, f1, vdc float64
	}{
		// Nothing to find, nothing found: every ratio undefined, Dice 1.
		{"empty/empty", empty, empty, 0, 0, 0, nan, nan, nan, 1},
		// Everything missed: sensitivity 0, precision undefined, F1 0.
		{"lesions/empty", some, empty, 0, 2, 0, 0, nan, 0, 0},
		// Only false positives: sensitivity undefined, precision 0, F1 0.
		{"empty/lesions", empty, some, 0, 0, 2, nan, 0, 0, 0},
	} {
		r := EvaluateCase(tc.truth, tc.pred, opts)
		if r.TP != tc.tp || r.FN != tc.fn || r.FP != tc.fp {
			t.Errorf("%s: TP/FN/FP %d/%d/%d", tc.name, r.TP, r.FN, r.FP)
		}
		if !sameFloat(r.Sensitivity, tc.sens) || !sameFloat(r.Precision, tc.prec) ||
			!sameFloat(r.F1, tc.f1) || !sameFloat(r.VoxelDice, tc.vdc) {
			t.Errorf("%s: sens %v prec %v F1 %v Dice %v; want %v %v %v %v", tc.name,
				r.Sensitivity, r.Precision, r.F1, r.VoxelDice, tc.sens, tc.prec, tc.f1, tc.vdc)
		}
	}
	// A cohort mixing them pools counts: 2 lesions missed + 2 FP in 3 scans.
	c := Cohort([]CaseResult{
		EvaluateCase(empty, empty, opts), EvaluateCase(some, empty, opts), EvaluateCase(empty, some, opts)})
	if c.Sensitivity != 0 || c.Precision != 0 || c.F1 != 0 || c.FPPerScan != 2.0/3 || !math.IsNaN(c.DiceMedian) {
		t.Errorf("cohort %+v", c)
	}
	if c := Cohort(nil); !math.IsNaN(c.FPPerScan) || !math.IsNaN(c.Sensitivity) {
		t.Errorf("empty cohort %+v", c)
	}
}

func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func TestEvalOptionsValidate(t *testing.T) {
	if err := DefaultEvalOptions().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, o := range []EvalOptions{
		{Conn: 9},
		{MinCM3: -1},
		{MinCM3: math.NaN()},
		{SizeBinsCM3: []float64{1, 0.1}},
		{SizeBinsCM3: []float64{0, 1}},
	} {
		if o.Validate() == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestQuantileJMP(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct{ p, want float64 }{
		{0.5, 5.5}, {0.1, 1.1}, {0.9, 9.9}, {0.05, 1}, {0.99, 10},
	} {
		if got := Quantile(x, tc.p); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if Quantile([]float64{0.7}, 0.1) != 0.7 || !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("Quantile of one or no values")
	}
}

func TestPearson(t *testing.T) {
	if r := Pearson([]float64{1, 2, 3}, []float64{2, 4, 6.0}); math.Abs(r-1) > 1e-12 {
		t.Errorf("r = %v, want 1", r)
	}
	if r := Pearson([]float64{1, 2, 3}, []float64{3, 2, 1}); math.Abs(r+1) > 1e-12 {
		t.Errorf("r = %v, want -1", r)
	}
	// x = 1..4, y = 1, 3, 2, 4: r = 0.8.
	if r := Pearson([]float64{1, 2, 3, 4}, []float64{1, 3, 2, 4}); math.Abs(r-0.8) > 1e-12 {
		t.Errorf("r = %v, want 0.8", r)
	}
	if !math.IsNaN(Pearson([]float64{1}, []float64{1})) || !math.IsNaN(Pearson([]float64{1, 1}, []float64{1, 2})) {
		t.Error("Pearson of degenerate samples is not NaN")
	}
}

func TestCohortPoolsLikeTheStudy(t *testing.T) {
	// 14 scans with 32 lesions, 28 found, 10 false positives: the study's
	// fused result. The cohort's table cells must read as the study's.
	g := grid(40, 8, 8)
	var results []CaseResult
	lesions, missed, fps := 32, 4, 10
	for s := range 14 {
		truth := volume.NewLabel(g)
		pred := volume.NewLabel(g)
		n := lesions / 14
		if s < lesions%14 {
			n++
		}
		for l := range n {
			box(truth, [3]int{4 * l, 0, 0}, [3]int{4*l + 2, 2, 2}, 1)
			if missed > 0 && l == 0 {
				missed--
				continue
			}
			box(pred, [3]int{4 * l, 0, 0}, [3]int{4*l + 2, 2, 1}, 1) // Dice 2*18/45 = 0.8
		}
		if fps > 0 {
			box(pred, [3]int{0, 5, 5}, [3]int{1, 6, 6}, 1)
			fps--
		}
		results = append(results, EvaluateCase(truth, pred, DefaultEvalOptions()))
	}
	c := Cohort(results)
	if c.TP != 28 || c.FN != 4 || c.FP != 10 || c.Scans != 14 {
		t.Fatalf("cohort %+v", c)
	}
	mine := Table{Columns: []TableColumn{{"Metascope", c}}}.rows()
	study := Table{Columns: []TableColumn{StudyReference()}}.rows()
	for i, r := range mine[:5] { // the detection rows
		if got, want := r.text(c), study[i].text(StudyReference().Result); got != want {
			t.Errorf("%s: %s, study %s", r.label, got, want)
		}
	}
	if c.DiceMedian != 0.8 || c.DiceP10 != 0.8 || !math.IsNaN(c.VolumeR) {
		t.Errorf("Dice %v [%v-%v] r %v", c.DiceMedian, c.DiceP10, c.DiceP90, c.VolumeR)
	}
}

package training

import (
	"context"
	"testing"

	"metascope/inference"
	"metascope/lesion"
)

// Calibration scores every validation case with the fold that did not
// train on it, at every threshold, and picks the best F1.
func TestCalibrateThresholdOutOfFold(t *testing.T) {
	cases := testCases(t, 4)
	o := tinyOptions()
	d := &Dataset{Source: "test", Kind: "phantom", Train: cases}
	dir := t.TempDir()
	if _, err := Train(context.Background(), d, o, RunOptions{OutDir: dir, Name: "m"}); err != nil {
		t.Fatal(err)
	}
	e, err := inference.LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	ths := []float64{0.3, 0.5, 0.9}
	opts := lesion.DefaultEvalOptions()
	opts.MinCM3 = 0
	best, pts, err := CalibrateThreshold(context.Background(), e, d, ths, 0, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != len(ths) {
		t.Fatalf("%d points", len(pts))
	}
	var lesions int
	for _, c := range cases {
		s, err := LoadSample(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		lesions += lesion.EvaluateCase(s.Truth, s.Truth, opts).Lesions
	}
	bestF1 := -1.0
	for _, p := range pts {
		if p.Result.Scans != len(cases) || p.Result.Lesions != lesions {
			t.Errorf("threshold %g: %d scans, %d lesions; want every case once (%d, %d)", p.Threshold, p.Result.Scans, p.Result.Lesions, len(cases), lesions)
		}
		if p.Result.F1 > bestF1 {
			bestF1 = p.Result.F1
		}
	}
	for _, p := range pts {
		if p.Threshold == best && p.Result.F1 != bestF1 {
			t.Errorf("chose %g with F1 %g; best F1 is %g", best, p.Result.F1, bestF1)
		}
	}
	if _, _, err := CalibrateThreshold(context.Background(), e, &Dataset{Source: "other"}, ths, 0, opts, nil); err == nil {
		t.Error("calibration on a dataset without the model's cases accepted")
	}
}

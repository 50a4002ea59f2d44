package bias

import (
	"context"
	"math"
	"testing"
	"time"

	"metascope/preprocess/internal/ptest"
	"metascope/volume"
)

// TestCorrectMNI multiplies the real MNI head (at 2 mm, to stay fast) by
// smooth fields of +/-30 % and checks that white-matter CV returns to within
// a few percent (absolute CV points) of the clean image's.
func TestCorrectMNI(t *testing.T) {
	clean := ptest.MNIAt(t, 2)
	wm := ptest.WhiteMatter(clean)
	cvClean := ptest.CV(clean, wm)
	// N4 on the clean head finds the template's own small inhomogeneity;
	// the field it finds on a corrupted copy should be that times the
	// applied field.
	own, err := Correct(context.Background(), clean, nil, DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, amp := range []float64{0.15, 0.3} {
		field := ptest.BiasField(clean.Grid, amp)
		bad := ptest.Multiply(clean, field)
		opts := DefaultOptions()
		start := time.Now()
		res, err := Correct(context.Background(), bad, nil, opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		cvBad, cvFixed := ptest.CV(bad, wm), ptest.CV(res.Corrected, wm)
		lo, hi := minMax(field, wm)
		t.Logf("field +/-%.0f%% (%.2f..%.2f over WM): WM CV clean %.4f, corrupted %.4f, corrected %.4f (%d iterations, %v)",
			amp*100, lo, hi, cvClean, cvBad, cvFixed, res.Iterations, time.Since(start).Round(time.Millisecond))
		if cvFixed > cvClean+0.012 {
			t.Errorf("field +/-%.0f%%: corrected WM CV %.4f, want within 0.012 of clean %.4f", amp*100, cvFixed, cvClean)
		}
		// The estimated field should track the true one up to a scale: the
		// ratio of the two should hardly vary over the white matter.
		ratio := res.Field.Clone()
		for i := range ratio.Data {
			ratio.Data[i] /= field.Data[i] * own.Field.Data[i]
		}
		if cv := ptest.CV(ratio, wm); cv > 0.01 {
			t.Errorf("field +/-%.0f%%: estimated / true field varies by CV %.3f over WM, want <= 0.01", amp*100, cv)
		} else {
			t.Logf("field +/-%.0f%%: estimated / true field CV over WM %.4f", amp*100, cv)
		}
	}
}

func TestCorrectRejectsBadInput(t *testing.T) {
	g := volume.Grid{Dims: [3]int{20, 20, 20}, Affine: volume.Identity()}
	constant := volume.New(g)
	for i := range constant.Data {
		constant.Data[i] = 5
	}
	if _, err := Correct(context.Background(), constant, nil, DefaultOptions(), nil); err == nil {
		t.Error("constant image: no error")
	}
	nan := constant.Clone()
	nan.Data[17] = float32(math.NaN())
	if _, err := Correct(context.Background(), nan, nil, DefaultOptions(), nil); err == nil {
		t.Error("NaN image: no error")
	}
	empty := volume.New(g)
	if _, err := Correct(context.Background(), empty, nil, DefaultOptions(), nil); err == nil {
		t.Error("all-zero image: no error")
	}
	bad := DefaultOptions()
	bad.Bins = 3
	if _, err := Correct(context.Background(), constant, nil, bad, nil); err == nil {
		t.Error("Bins 3: no error")
	}
}

func TestCorrectCancels(t *testing.T) {
	v := ptest.MNIAt(t, 4)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Correct(ctx, v, nil, DefaultOptions(), nil); err != context.Canceled {
		t.Errorf("cancelled context: err %v, want context.Canceled", err)
	}
}

func minMax(v *volume.Volume, m []bool) (lo, hi float32) {
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	for i, x := range v.Data {
		if m[i] {
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	return lo, hi
}

package register

import (
	"context"
	"testing"

	"metascope/phantom"
	"metascope/preprocess/internal/imgops"
	"metascope/preprocess/internal/ptest"
	"metascope/volume"
)

// TestRegisterPhantom registers T1, T2 and FLAIR of small phantom cases
// (3 mm T1c; thick-slice 2D sequences of 5-7 mm drawn at random; each
// misaligned by up to 10 degrees and 15 mm per axis; bias fields of +/-30 %
// left in) to the T1c and checks the mean error over the true brain.
func TestRegisterPhantom(t *testing.T) {
	for _, seed := range []int64{1, 3} {
		o := phantom.DefaultOptions(phantom.Small)
		o.Seed = seed
		o.MaxRotationDeg = 10
		o.MaxShiftMM = 15
		o.BiasAmplitude = 0.3
		c, err := phantom.Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		pts := ptest.BrainPoints(imgops.MaskToBool(c.BrainMask), c.BrainMask.Grid, 3)
		for _, s := range []volume.Sequence{volume.T1, volume.T2, volume.FLAIR} {
			res, err := Register(context.Background(), c.Images[volume.T1c], c.Images[s], nil, DefaultOptions(), nil)
			if err != nil {
				t.Fatalf("seed %d %s: %v", seed, s.Title(), err)
			}
			before := MeanDisplacement(volume.Identity(), c.WorldToSequence[s], pts)
			e := MeanDisplacement(res.Transform.Matrix(), c.WorldToSequence[s], pts)
			t.Logf("seed %d %-5s spacing %.1fx%.1fx%.1f: misaligned %.1f mm, error %.3f mm, %.3f deg", seed, s.Title(),
				c.Images[s].Spacing()[0], c.Images[s].Spacing()[1], c.Images[s].Spacing()[2], before, e,
				RotationAngleDeg(res.Transform.Matrix(), c.WorldToSequence[s]))
			if e > 1 {
				t.Errorf("seed %d %s: mean brain error %.3f mm, want <= 1", seed, s.Title(), e)
			}
		}
	}
}

func TestRegisterRejectsBadInput(t *testing.T) {
	fixed := ptest.MNIAt(t, 4)
	constant := fixed.Clone()
	for i := range constant.Data {
		constant.Data[i] = 3
	}
	if _, err := Register(context.Background(), fixed, constant, nil, DefaultOptions(), nil); err == nil {
		t.Error("constant moving image: no error")
	}
	nan := fixed.Clone()
	nan.Data[99] = float32(nan.Data[99]) / 0 * 0
	if _, err := Register(context.Background(), fixed, nan, nil, DefaultOptions(), nil); err == nil {
		t.Error("NaN moving image: no error")
	}
	// A moving image whose field of view is a thin slab far off the head
	// cannot be registered: most samples fall outside it.
	slab := volume.New(volume.Grid{Dims: [3]int{40, 40, 2}, Affine: volume.Diagonal([3]float64{4, 4, 4}, [3]float64{-80, -80, 60})})
	for i := range slab.Data {
		slab.Data[i] = float32(i % 7)
	}
	if _, err := Register(context.Background(), fixed, slab, nil, DefaultOptions(), nil); err == nil {
		t.Error("slab outside the head: no error")
	} else {
		t.Logf("slab: %v", err)
	}
	bad := DefaultOptions()
	bad.Bins = 2
	if _, err := Register(context.Background(), fixed, fixed, nil, bad, nil); err == nil {
		t.Error("Bins 2: no error")
	}
}

package register

import (
	"context"
	"math"
	"testing"
	"time"

	"metascope/preprocess/internal/imgops"
	"metascope/preprocess/internal/ptest"
	"metascope/volume"
)

func deg(d float64) float64 { return d * math.Pi / 180 }

// TestRegisterMNI misaligns the real MNI head (at 2 mm to keep the test
// fast) by known rigid transforms up to 10 degrees and 15 mm, with contrast
// inverted (T1 against a T2-like image) and with 6 mm thick slices, and
// checks that brain points land within 1 mm (mean) of where the truth puts
// them.
func TestRegisterMNI(t *testing.T) {
	fixed := ptest.MNIAt(t, 2)
	head, err := imgops.HeadMask(fixed)
	if err != nil {
		t.Fatal(err)
	}
	brain := imgops.Erode(head, fixed.Dims, fixed.Spacing(), 15)
	pts := ptest.BrainPoints(brain, fixed.Grid, 7)
	c := fixed.VoxelToWorld([3]float64{45, 55, 45})
	cases := []struct {
		name    string
		rot     [3]float64
		trans   [3]float64
		spacing [3]float64
		invert  bool
	}{
		{"rot 8,5 shift 6,-4,5 inverted", [3]float64{deg(8), deg(5), 0}, [3]float64{6, -4, 5}, [3]float64{2, 2, 2}, true},
		{"rot 10 all axes shift 15", [3]float64{deg(-10), deg(7), deg(10)}, [3]float64{15, -8, 10}, [3]float64{2, 2, 2}, false},
		{"thick 6 mm axial inverted", [3]float64{deg(6), deg(-9), deg(4)}, [3]float64{-12, 9, -7}, [3]float64{2, 2, 6}, true},
		{"thick 6 mm coronal", [3]float64{deg(-7), deg(3), deg(-8)}, [3]float64{4, 14, -3}, [3]float64{2, 6, 2}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			truth := volume.RigidTransform(tc.rot, tc.trans, c)
			moving := ptest.Misaligned(fixed, truth, tc.spacing)
			if tc.invert {
				moving = ptest.Invert(moving)
			}
			opts := DefaultOptions()
			opts.LevelsMM = []float64{4, 2}
			start := time.Now()
			res, err := Register(context.Background(), fixed, moving, nil, opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := res.Transform.Matrix()
			before := MeanDisplacement(volume.Identity(), truth, pts)
			errMM := MeanDisplacement(got, truth, pts)
			t.Logf("misaligned by %.1f mm mean; after registration %.3f mm, %.3f deg (%v, levels %+v)",
				before, errMM, RotationAngleDeg(got, truth), time.Since(start).Round(time.Millisecond), res.Levels)
			if errMM > 1 {
				t.Errorf("mean brain error %.3f mm, want <= 1", errMM)
			}
		})
	}
}

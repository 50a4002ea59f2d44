package preprocess

import (
	"context"
	"testing"
	"time"

	"metascope/phantom"
	"metascope/preprocess/internal/imgops"
	"metascope/preprocess/internal/ptest"
	"metascope/preprocess/register"
	"metascope/volume"
)

func TestProbePhantom(t *testing.T) {
	for seed := int64(1); seed <= 1; seed++ {
		o := phantom.DefaultOptions(phantom.Full)
		o.Seed = seed
		o.MaxRotationDeg = 10
		o.MaxShiftMM = 15
		o.BiasAmplitude = 0.3
		start := time.Now()
		c, err := phantom.Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d generated in %v", seed, time.Since(start))
		for _, s := range volume.Sequences {
			t.Logf("  %s dims %v spacing %v", s, c.Images[s].Dims, c.Images[s].Spacing())
		}
		opts := DefaultOptions()
		opts.SpacingMM = c.Images[volume.T1c].Spacing()[0]
		opts.Skull.MaxVolumeCM3 = 1e6
		start = time.Now()
		res, err := Run(context.Background(), Inputs{Images: c.Images}, opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("  run %v", time.Since(start))
		mask := volume.ResampleLabel(res.BrainMask, c.BrainMask.Grid)
		a, b := imgops.MaskToBool(mask), imgops.MaskToBool(c.BrainMask)
		inter, na, nb, lost := 0, 0, 0, 0
		for i := range a {
			if a[i] {
				na++
			}
			if b[i] {
				nb++
			}
			if a[i] && b[i] {
				inter++
			}
			if c.Label.Data[i] != 0 && !a[i] {
				lost++
			}
		}
		t.Logf("  dice %.4f (mask %d true %d) lesion voxels lost %d of %d", 2*float64(inter)/float64(na+nb), na, nb, lost, c.Label.Count())
		pts := ptest.BrainPoints(b, c.BrainMask.Grid, 5)
		for _, s := range []volume.Sequence{volume.T1, volume.T2, volume.FLAIR} {
			t.Logf("  %s reg error %.3f mm (misaligned %.2f)", s, register.MeanDisplacement(res.Transforms[s].ReferenceToSequence, c.WorldToSequence[s], pts),
				register.MeanDisplacement(volume.Identity(), c.WorldToSequence[s], pts))
		}
		ptest.SaveOverlay("/tmp/phantom_"+string(rune('0'+seed))+".png", c.Images[volume.T1c], a, [3]int{c.BrainMask.Dims[0] / 2, c.BrainMask.Dims[1] / 2, c.BrainMask.Dims[2] / 2})
		ptest.SaveOverlay("/tmp/phantom_true_"+string(rune('0'+seed))+".png", c.Images[volume.T1c], b, [3]int{c.BrainMask.Dims[0] / 2, c.BrainMask.Dims[1] / 2, c.BrainMask.Dims[2] / 2})
	}
}

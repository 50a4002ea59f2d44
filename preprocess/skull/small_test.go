package skull

import (
	"context"
	"testing"

	"metascope/lesion"
	"metascope/phantom"
	"metascope/preprocess/internal/ptest"
	"metascope/volume"
)

// TestStripSmallPhantoms strips Small (3 mm) phantom cases, as the demo and
// the pipeline tests make them, over many seeds. At 3 mm the dark band of
// CSF and inner table between brain and skull is one or two voxels of
// partial volume and the neck survives erosion as a solid block, which once
// made some seeds fail with an implausible brain (seed 7 among them). It
// asserts that every seed gives a mask and a Dice floor against the true
// brain mask; the figures are logged.
//
// The floor is a regression guard, not the 1 mm target: a 3 mm voxel layer
// over a 1200-1800 cm3 brain's surface is 10-15 % of its volume, so half a
// voxel of boundary error alone costs 0.05-0.07 Dice. Seeds 2-12 reach
// 0.85-0.93; seed 1 (0.61) is cut short at the vertex. Known gap, logged
// and not asserted: where the mask stops short, lesion voxels at the brain's
// edge are lost (seeds 1, 5 and 9 at 3 mm); the 1 mm test asserts none.
func TestStripSmallPhantoms(t *testing.T) {
	seeds := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if testing.Short() {
		seeds = []int64{2, 7, 11}
	}
	for _, seed := range seeds {
		t.Run("seed"+itoa(int(seed)), func(t *testing.T) {
			t.Parallel()
			o := phantom.DefaultOptions(phantom.Small)
			o.Seed = seed
			o.BiasAmplitude = 0 // the pipeline corrects bias first
			c, err := phantom.Generate(o)
			if err != nil {
				t.Fatal(err)
			}
			g := c.Images[volume.T1c].Grid
			var im [4]*volume.Volume
			for _, s := range volume.Sequences {
				im[s] = volume.ResampleTransformed(c.Images[s], g, c.WorldToSequence[s], volume.Linear)
			}
			m, err := Strip(context.Background(), Images{T1: im[volume.T1], T2: im[volume.T2], T1c: im[volume.T1c], FLAIR: im[volume.FLAIR]}, DefaultOptions(), nil)
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			d, lost, n := lesion.Dice(m, c.BrainMask), ptest.LostVoxels(m, c.Label), c.Label.Count()
			t.Logf("seed %d: Dice %.4f, mask %.0f cm3 vs true %.0f cm3, lesion voxels lost %d of %d", seed, d,
				m.VolumeCM3(), c.BrainMask.VolumeCM3(), lost, n)
			if d < 0.58 {
				t.Errorf("seed %d: Dice %.4f, want >= 0.58", seed, d)
			}
		})
	}
}

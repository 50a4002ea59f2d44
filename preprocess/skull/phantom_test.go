package skull

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"metascope/lesion"
	"metascope/phantom"
	"metascope/preprocess/internal/imgops"
	"metascope/preprocess/internal/ptest"
	"metascope/volume"
)

// TestStripPhantom strips full-size phantom cases (1 mm T1c; thick-slice
// T1, T2 and FLAIR put on the T1c grid through their true transforms) and
// checks Dice >= 0.95 against the true brain mask and that no lesion voxel
// is lost. Full-size cases take seconds to generate, so -short skips it.
func TestStripPhantom(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size phantom cases: skipped with -short")
	}
	for _, seed := range []int64{1, 2} {
		o := phantom.DefaultOptions(phantom.Full)
		o.Seed = seed
		o.BiasAmplitude = 0
		c, err := phantom.Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		g := c.Images[volume.T1c].Grid
		var im [4]*volume.Volume
		for _, s := range volume.Sequences {
			im[s] = volume.ResampleTransformed(c.Images[s], g, c.WorldToSequence[s], volume.Linear)
		}
		start := time.Now()
		m, err := Strip(context.Background(), Images{T1: im[volume.T1], T2: im[volume.T2], T1c: im[volume.T1c], FLAIR: im[volume.FLAIR]}, DefaultOptions(), nil)
		if err != nil {
			t.Fatal(err)
		}
		d, lost := lesion.Dice(m, c.BrainMask), ptest.LostVoxels(m, c.Label)
		t.Logf("seed %d: Dice %.4f, mask %.0f cm3 vs true %.0f cm3, lesion voxels lost %d of %d (%v)", seed, d,
			m.VolumeCM3(), c.BrainMask.VolumeCM3(), lost, c.Label.Count(), time.Since(start).Round(time.Millisecond))
		if dir := os.Getenv("METASCOPE_PNG_DIR"); dir != "" {
			ctr := [3]int{g.Dims[0] / 2, g.Dims[1] / 2, g.Dims[2] / 2}
			for _, sl := range [][3]int{ctr, {70, 80, 50}} {
				p := filepath.Join(dir, fmt.Sprintf("skull_phantom_%d_%d.png", seed, sl[2]))
				if err := ptest.SaveOverlay(p, im[volume.T1c], imgops.MaskToBool(m), sl); err != nil {
					t.Fatal(err)
				}
			}
		}
		if d < 0.95 {
			t.Errorf("seed %d: Dice %.4f, want >= 0.95", seed, d)
		}
		if lost != 0 {
			t.Errorf("seed %d: %d lesion voxels outside the brain mask", seed, lost)
		}
	}
}

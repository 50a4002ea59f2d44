package bias

import (
	"context"
	"testing"

	"metascope/phantom"
	"metascope/preprocess/internal/imgops"
	"metascope/preprocess/internal/ptest"
	"metascope/volume"
)

// TestCorrectPhantom corrects the T1c of small phantom cases carrying a
// +/-30 % bias field and compares white-matter CV (true WM voxels, eroded
// against partial volume) with the bias-free image's (the image divided by
// its true field).
func TestCorrectPhantom(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		o := phantom.DefaultOptions(phantom.Small)
		o.Seed = seed
		o.BiasAmplitude = 0.3
		c, err := phantom.Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		img := c.Images[volume.T1c]
		clean := img.Clone()
		for i := range clean.Data {
			clean.Data[i] /= c.BiasFields[volume.T1c].Data[i]
		}
		wm := make([]bool, len(img.Data))
		for i, x := range c.Tissue.Data {
			wm[i] = phantom.Tissue(x) == phantom.WM
		}
		wm = imgops.Erode(wm, img.Dims, img.Spacing(), 3)
		res, err := Correct(context.Background(), img, nil, DefaultOptions(), nil)
		if err != nil {
			t.Fatal(err)
		}
		cvClean, cvBad, cvFixed := ptest.CV(clean, wm), ptest.CV(img, wm), ptest.CV(res.Corrected, wm)
		t.Logf("seed %d: WM CV bias-free %.4f, biased %.4f, corrected %.4f", seed, cvClean, cvBad, cvFixed)
		if cvFixed > cvClean+0.01 {
			t.Errorf("seed %d: corrected WM CV %.4f, want within 0.01 (one CV point) of bias-free %.4f", seed, cvFixed, cvClean)
		}
	}
}

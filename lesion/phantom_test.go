package lesion_test

import (
	"math/rand/v2"
	"sort"
	"testing"

	"metascope/lesion"
	"metascope/phantom"
	"metascope/volume"
)

// TestPhantomAgreesWithBruteForce scores phantom cases (synthetic heads
// with metastases and exact ground truth) two ways: this package, and a
// brute-force flood fill with voxel-set matching. Two kinds of prediction:
// a crude intensity detector (the brightest T1c voxels inside the brain:
// vessels, choroid plexus and enhancing lesions, as the study's false
// positives were) and the truth perturbed (boundary noise, dropped slabs,
// added blobs).
func TestPhantomAgreesWithBruteForce(t *testing.T) {
	if testing.Short() {
		t.Skip("generates phantom heads")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var tot [3]int
	for seed := int64(1); seed <= 3; seed++ {
		opts := phantom.DefaultOptions(phantom.Small)
		opts.Seed = seed
		opts.MinLesions, opts.MaxLesions = 3, 6
		c, err := phantom.Generate(opts)
		if err != nil {
			t.Fatal(err)
		}
		truth := c.Label
		preds := map[string]*volume.Label{
			"bright T1c": brightest(c.Images[volume.T1c], c.BrainMask, 0.97),
			"perturbed":  lesion.PerturbForTest(truth, rng),
		}
		for name, pred := range preds {
			for _, conn := range []lesion.Connectivity{lesion.Conn6, lesion.Conn26} {
				m := lesion.Match(truth, pred, conn)
				tp, fn, fp, dice := lesion.NaiveMatchForTest(truth, pred, conn)
				if m.TP() != tp || m.FN() != fn || m.FP() != fp {
					t.Fatalf("seed %d %s conn %v: TP/FN/FP %d/%d/%d, brute force %d/%d/%d",
						seed, name, conn, m.TP(), m.FN(), m.FP(), tp, fn, fp)
				}
				for _, p := range m.Pairs {
					if p.Dice != dice[p.Ref.ID] {
						t.Fatalf("seed %d %s conn %v: lesion %d Dice %v, brute force %v", seed, name, conn, p.Ref.ID, p.Dice, dice[p.Ref.ID])
					}
				}
				eo := lesion.DefaultEvalOptions()
				eo.Conn = conn
				r := lesion.EvaluateCase(truth, pred, eo)
				tp, fn, fp, _ = lesion.NaiveMatchForTest(truth, lesion.NaivePruneForTest(pred, lesion.StudyMinCM3, conn), conn)
				if r.TP != tp || r.FN != fn || r.FP != fp {
					t.Fatalf("seed %d %s conn %v: EvaluateCase TP/FN/FP %d/%d/%d, brute force %d/%d/%d",
						seed, name, conn, r.TP, r.FN, r.FP, tp, fn, fp)
				}
				tot[0] += r.TP
				tot[1] += r.FN
				tot[2] += r.FP
			}
		}
	}
	if tot[0] == 0 || tot[1] == 0 || tot[2] == 0 {
		t.Errorf("phantom cases do not exercise every count: TP/FN/FP totals %v", tot)
	}
	t.Logf("TP/FN/FP over all cases: %v", tot)
}

// brightest marks the voxels of img inside mask at or above the q-quantile
// of the masked intensities.
func brightest(img *volume.Volume, mask *volume.Label, q float64) *volume.Label {
	var vals []float32
	for i, m := range mask.Data {
		if m != 0 {
			vals = append(vals, img.Data[i])
		}
	}
	sort.Slice(vals, func(a, b int) bool { return vals[a] < vals[b] })
	cut := vals[int(q*float64(len(vals)-1))]
	out := volume.NewLabel(img.Grid)
	for i, m := range mask.Data {
		if m != 0 && img.Data[i] >= cut {
			out.Data[i] = 1
		}
	}
	return out
}

package consensus

import (
	"math"
	"math/rand/v2"
	"testing"

	"metascope/volume"
)

// sphereRaters builds the reference experiment ITK's STAPLEImageFilter is
// quoted on: a sphere in a 64^3 volume and synthetic raters that each keep
// a true voxel with probability sens[j] and leave a background voxel with
// probability spec[j], independently.
func sphereRaters(sens, spec []float64, seed uint64) (truth *volume.Label, raters []*volume.Label) {
	g := volume.Grid{Dims: [3]int{64, 64, 64}, Affine: volume.Affine{{1, 0, 0, -32}, {0, 1, 0, -32}, {0, 0, 1, -32}, {0, 0, 0, 1}}}
	truth = volume.NewLabel(g)
	for k := range 64 {
		for j := range 64 {
			for i := range 64 {
				dx, dy, dz := float64(i)-31.5, float64(j)-31.5, float64(k)-31.5
				if dx*dx+dy*dy+dz*dz <= 20*20 {
					truth.Set(i, j, k, 1)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	for r := range sens {
		l := volume.NewLabel(g)
		for v, x := range truth.Data {
			u := rng.Float64()
			if (x != 0 && u < sens[r]) || (x == 0 && u >= spec[r]) {
				l.Data[v] = 1
			}
		}
		raters = append(raters, l)
	}
	return truth, raters
}

func TestStapleRecoversKnownRaters(t *testing.T) {
	sens := []float64{0.95, 0.85, 0.7}
	spec := []float64{0.995, 0.98, 0.99}
	truth, raters := sphereRaters(sens, spec, 1)
	res, err := Staple(raters, DefaultStapleOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Converged {
		t.Errorf("no convergence in %d iterations", res.Iterations)
	}
	// The scattered false positives reach every corner, so the box is the
	// whole volume and the specificities are the generating ones.
	if res.BoxMin != [3]int{} || res.BoxMax != [3]int{63, 63, 63} {
		t.Errorf("box %v..%v", res.BoxMin, res.BoxMax)
	}
	for j := range sens {
		t.Logf("rater %d: sensitivity %.4f (true %.3f), specificity %.5f (true %.3f)", j, res.Sensitivity[j], sens[j], res.Specificity[j], spec[j])
		// ITK's STAPLEImageFilter recovers the sensitivities within 0.013.
		if d := math.Abs(res.Sensitivity[j] - sens[j]); d > 0.013 {
			t.Errorf("rater %d: sensitivity %.4f, true %.3f (off by %.4f)", j, res.Sensitivity[j], sens[j], d)
		}
		if d := math.Abs(res.Specificity[j] - spec[j]); d > 0.003 {
			t.Errorf("rater %d: specificity %.5f, true %.3f", j, res.Specificity[j], spec[j])
		}
	}
	// The estimate is closer to the truth than the best rater and than a
	// majority vote of the three.
	errs := func(l *volume.Label) int {
		n := 0
		for v, x := range l.Data {
			if (x != 0) != (truth.Data[v] != 0) {
				n++
			}
		}
		return n
	}
	vote := volume.NewLabel(truth.Grid)
	for v := range vote.Data {
		if int(raters[0].Data[v])+int(raters[1].Data[v])+int(raters[2].Data[v]) >= 2 {
			vote.Data[v] = 1
		}
	}
	if e, eb, ev := errs(res.Label), errs(raters[0]), errs(vote); e >= eb || e > ev {
		t.Errorf("STAPLE misclassifies %d voxels; best rater %d, majority vote %d", e, eb, ev)
	}
	for v, p := range res.Probability.Data {
		if p < 0 || p > 1 || (p >= 0.5) != (res.Label.Data[v] != 0) {
			t.Fatalf("voxel %d: probability %v, label %d", v, p, res.Label.Data[v])
		}
	}
}

// TestStapleMatchesVoxelwiseEM checks the pattern-histogram EM against the
// textbook per-voxel EM on a small case, and the box and margin.
func TestStapleMatchesVoxelwiseEM(t *testing.T) {
	g := volume.Grid{Dims: [3]int{30, 20, 16}, Affine: volume.Affine{{0.9, 0, 0, 0}, {0, 0.9, 0, 0}, {0, 0, 2, 0}, {0, 0, 0, 1}}}
	rng := rand.New(rand.NewPCG(3, 4))
	var raters []*volume.Label
	for r := range 3 {
		l := volume.NewLabel(g)
		for k := 5; k < 11; k++ {
			for j := 4; j < 14; j++ {
				for i := 8 + r; i < 20; i++ {
					if rng.Float64() < 0.9 {
						l.Set(i, j, k, 1)
					}
				}
			}
		}
		raters = append(raters, l)
	}
	opts := DefaultStapleOptions()
	opts.MarginVoxels = 2
	res, err := Staple(raters, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.BoxMin != [3]int{6, 2, 3} || res.BoxMax != [3]int{21, 15, 12} {
		t.Errorf("box %v..%v, want [6 2 3]..[21 15 12]", res.BoxMin, res.BoxMax)
	}
	// Textbook EM over the box's voxels.
	var vox []int
	for k := res.BoxMin[2]; k <= res.BoxMax[2]; k++ {
		for j := res.BoxMin[1]; j <= res.BoxMax[1]; j++ {
			for i := res.BoxMin[0]; i <= res.BoxMax[0]; i++ {
				vox = append(vox, g.Index(i, j, k))
			}
		}
	}
	var prior float64
	for _, r := range raters {
		n := 0
		for _, v := range vox {
			n += int(r.Data[v])
		}
		prior += float64(n) / float64(len(vox)) / 3
	}
	p, q := []float64{0.99, 0.99, 0.99}, []float64{0.99, 0.99, 0.99}
	w := make([]float64, len(vox))
	for range res.Iterations {
		for n, v := range vox {
			a, b := prior, 1-prior
			for j, r := range raters {
				if r.Data[v] != 0 {
					a, b = a*p[j], b*(1-q[j])
				} else {
					a, b = a*(1-p[j]), b*q[j]
				}
			}
			w[n] = a / (a + b)
		}
		for j, r := range raters {
			var tp, sw, tn, sn float64
			for n, v := range vox {
				sw += w[n]
				sn += 1 - w[n]
				if r.Data[v] != 0 {
					tp += w[n]
				} else {
					tn += 1 - w[n]
				}
			}
			p[j], q[j] = tp/sw, tn/sn
		}
	}
	for j := range raters {
		if math.Abs(p[j]-res.Sensitivity[j]) > 1e-9 || math.Abs(q[j]-res.Specificity[j]) > 1e-9 {
			t.Errorf("rater %d: %.9f/%.9f, voxelwise EM %.9f/%.9f", j, res.Sensitivity[j], res.Specificity[j], p[j], q[j])
		}
	}
	if _, err := Staple(raters[:1], opts); err == nil {
		t.Error("STAPLE of one rater")
	}
	bad := opts
	bad.Init = 1
	if _, err := Staple(raters, bad); err == nil {
		t.Error("Init 1 accepted")
	}
	empty := []*volume.Label{volume.NewLabel(g), volume.NewLabel(g)}
	if r, err := Staple(empty, opts); err != nil || r.Label.Count() != 0 {
		t.Errorf("empty raters: %v", err)
	}
}

// BenchmarkStaple64Sphere is ITK's reference case (three raters, 64^3
// sphere; ITK: 0.15 s).
func BenchmarkStaple64Sphere(b *testing.B) {
	_, raters := sphereRaters([]float64{0.95, 0.85, 0.7}, []float64{0.995, 0.98, 0.99}, 1)
	b.ResetTimer()
	for range b.N {
		if _, err := Staple(raters, DefaultStapleOptions()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
	b.ReportMetric(float64(64*64*64*b.N)/b.Elapsed().Seconds(), "voxels/s")
}

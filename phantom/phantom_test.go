package phantom

import (
	"bytes"
	"encoding/binary"
	"math"
	"runtime"
	"sort"
	"strings"
	"testing"

	"metascope/volume"
)

func smallCase(t testing.TB, seed int64, edit func(*Options)) *Case {
	t.Helper()
	o := DefaultOptions(Small)
	o.Seed = seed
	if edit != nil {
		edit(&o)
	}
	c, err := Generate(o)
	if err != nil {
		t.Fatalf("Generate(seed %d): %v", seed, err)
	}
	return c
}

// seeds is the list of seeds a test runs, cut to one with -short.
func seeds(list ...int64) []int64 {
	if testing.Short() {
		return list[:1]
	}
	return list
}

func TestValidateNamesTheField(t *testing.T) {
	cases := []struct {
		field string
		edit  func(*Options)
	}{
		{"T1cSpacingMM", func(o *Options) { o.T1cSpacingMM = 0 }},
		{"FOVMM", func(o *Options) { o.FOVMM[1] = 50 }},
		{"SliceThicknessMM", func(o *Options) { o.SliceThicknessMM = [2]float64{6, 4} }},
		{"ThickSliceProb", func(o *Options) { o.ThickSliceProb = 1.5 }},
		{"MinLesions/MaxLesions", func(o *Options) { o.MinLesions, o.MaxLesions = 3, 2 }},
		{"MinVolumeCM3/MaxVolumeCM3", func(o *Options) { o.MinVolumeCM3 = -1 }},
		{"SNR", func(o *Options) { o.SNR = math.NaN() }},
		{"BiasAmplitude", func(o *Options) { o.BiasAmplitude = 1 }},
		{"MaxRotationDeg", func(o *Options) { o.MaxRotationDeg = -2 }},
		{"FieldStrengthsT", func(o *Options) { o.FieldStrengthsT = nil }},
		{"Size", func(o *Options) { o.Size = 7 }},
	}
	for _, tc := range cases {
		o := DefaultOptions(Small)
		tc.edit(&o)
		_, err := Generate(o)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: got error %v, want one naming the field", tc.field, err)
		}
	}
	if err := DefaultOptions(Full).Validate(); err != nil {
		t.Errorf("default full options invalid: %v", err)
	}
}

func caseBytes(c *Case) []byte {
	var b bytes.Buffer
	for _, im := range c.Images {
		binary.Write(&b, binary.LittleEndian, im.Data)
	}
	b.Write(c.Label.Data)
	b.Write(c.Tissue.Data)
	return b.Bytes()
}

func TestDeterministicPerSeed(t *testing.T) {
	a := smallCase(t, 11, nil)
	b := smallCase(t, 11, nil)
	if !bytes.Equal(caseBytes(a), caseBytes(b)) {
		t.Fatal("same seed and options gave different images")
	}
	if len(a.Lesions) != len(b.Lesions) || a.WorldToSequence != b.WorldToSequence {
		t.Fatal("same seed gave different lesions or transforms")
	}
	c := smallCase(t, 12, nil)
	if bytes.Equal(caseBytes(a), caseBytes(c)) {
		t.Fatal("different seeds gave identical cases")
	}
	// The parallel split of the work does not change the result.
	prev := runtime.GOMAXPROCS(1)
	d := smallCase(t, 11, nil)
	runtime.GOMAXPROCS(prev)
	if !bytes.Equal(caseBytes(a), caseBytes(d)) {
		t.Fatal("one CPU and several gave different images")
	}
}

// TestGroundTruthExact checks that the label is exactly the set of T1c voxel
// centres inside the lesion shapes, that the tissue map agrees, and that the
// reported volumes match the label within partial-volume tolerance.
func TestGroundTruthExact(t *testing.T) {
	for _, seed := range seeds(1, 2, 3, 4) {
		c := smallCase(t, seed, func(o *Options) {
			o.T1cSpacingMM = 2 // finer than Small so small lesions have voxels
			o.MinLesions, o.MaxLesions = 2, 4
		})
		g := c.Label.Grid
		want := make([]uint8, g.Len())
		for i := range c.Lesions {
			l := &c.Lesions[i]
			forVoxelsNear(g, l.Shape.Centre, l.Shape.MaxRadiusMM()+2, func(idx int, p [3]float64) {
				if l.Shape.Contains(p) {
					if want[idx] != 0 {
						t.Fatalf("seed %d: lesions %d and %d overlap", seed, want[idx], l.ID)
					}
					want[idx] = uint8(l.ID)
				}
			})
		}
		mismatch := 0
		for i := range want {
			inLabel := c.Label.Data[i] != 0
			if inLabel != (want[i] != 0) {
				mismatch++
			}
			if inLabel != Tissue(c.Tissue.Data[i]).IsMetastasis() {
				t.Fatalf("seed %d: tissue map and label disagree at voxel %d", seed, i)
			}
		}
		if mismatch != 0 {
			t.Fatalf("seed %d: %d label voxels differ from the lesion geometry", seed, mismatch)
		}
		vv := g.VoxelVolumeMM3()
		total := 0.0
		for _, l := range c.Lesions {
			total += l.LabelVolumeCM3
			// Voxel-centre sampling errs by about half a voxel layer over
			// the surface; allow that plus a voxel.
			area := 4 * math.Pi * l.RadiusMM * l.RadiusMM * 1.2
			tol := (0.5*area*2/2 + vv) / 1000
			if d := math.Abs(l.LabelVolumeCM3 - l.VolumeCM3); d > tol {
				t.Errorf("seed %d lesion %d: label volume %.4f cm3 vs shape %.4f cm3 (tolerance %.4f)",
					seed, l.ID, l.LabelVolumeCM3, l.VolumeCM3, tol)
			}
			if l.LabelVoxels == 0 {
				t.Errorf("seed %d lesion %d of %.3f cm3 has no voxels", seed, l.ID, l.VolumeCM3)
			}
		}
		if got := c.Label.VolumeCM3(); math.Abs(got-total) > 1e-9 {
			t.Errorf("seed %d: label volume %.4f != sum of lesion label volumes %.4f", seed, got, total)
		}
	}
}

// tissueMeans is the bias-corrected mean of sequence s over the T1c voxels
// of each tissue (by the class at the voxel centre), read through the true
// misalignment at the nearest voxel of the sequence.
func tissueMeans(c *Case, s volume.Sequence) map[Tissue]float64 {
	g := c.Tissue.Grid
	im := c.Images[s]
	inv, _ := im.Affine.Inverse()
	toVox := inv.Mul(c.WorldToSequence[s])
	sum := map[Tissue]float64{}
	n := map[Tissue]int{}
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			for i := 0; i < g.Dims[0]; i++ {
				t := Tissue(c.Tissue.Data[g.Index(i, j, k)])
				if t == Background {
					continue
				}
				v := toVox.Apply(g.Affine.Apply([3]float64{float64(i), float64(j), float64(k)}))
				x, y, z := int(math.Round(v[0])), int(math.Round(v[1])), int(math.Round(v[2]))
				if !im.Contains(x, y, z) {
					continue
				}
				idx := im.Index(x, y, z)
				sum[t] += float64(im.Data[idx] / c.BiasFields[s].Data[idx])
				n[t]++
			}
		}
	}
	out := map[Tissue]float64{}
	for t, v := range sum {
		if n[t] >= 10 {
			out[t] = v / float64(n[t])
		}
	}
	return out
}

func TestContrastOrdering(t *testing.T) {
	type order struct {
		s          volume.Sequence
		bright, dk Tissue
		ratio      float64 // at least; 0 means 1.1
	}
	orders := []order{
		{volume.T1, WM, GM, 0}, {volume.T1, GM, CSF, 0}, {volume.T1, Fat, WM, 0},
		{volume.T1c, WM, GM, 0}, {volume.T1c, GM, CSF, 0}, {volume.T1c, Vessel, WM, 0}, {volume.T1c, ChoroidPlexus, WM, 0},
		{volume.T1c, Enhancing, WM, 0}, {volume.T1, WM, Enhancing, 0},
		{volume.T2, CSF, GM, 0}, {volume.T2, GM, WM, 0}, {volume.T2, Ventricle, WM, 0},
		{volume.FLAIR, GM, WM, 1.03}, {volume.FLAIR, WM, CSF, 0}, {volume.FLAIR, WM, Ventricle, 0},
	}
	for _, seed := range seeds(5, 6) {
		// 3D acquisitions, so that the means are not diluted by thick
		// slices (TestAcquisitionAsAsked covers those).
		c := smallCase(t, seed, func(o *Options) { o.T1cSpacingMM = 2; o.ThickSliceProb = 0 })
		for _, s := range volume.Sequences {
			m := tissueMeans(c, s)
			for _, o := range orders {
				if o.s != s {
					continue
				}
				b, okb := m[o.bright]
				d, okd := m[o.dk]
				if !okb || !okd {
					t.Errorf("seed %d %s: no voxels of %s or %s", seed, s.Title(), o.bright, o.dk)
					continue
				}
				r := o.ratio
				if r == 0 {
					r = 1.1
				}
				if !(b > d*r) {
					t.Errorf("seed %d %s: %s mean %.1f not clearly above %s mean %.1f", seed, s.Title(), o.bright, b, o.dk, d)
				}
			}
		}
	}
}

// TestLesionsVisible: enhancing tumour is brighter than the brain around it
// on T1c, and the oedema of larger lesions is bright on FLAIR.
func TestLesionsVisible(t *testing.T) {
	checkedOedema := 0
	for _, seed := range seeds(21, 22, 23) {
		c := smallCase(t, seed, func(o *Options) {
			o.T1cSpacingMM = 2
			o.MinVolumeCM3, o.MedianVolumeCM3 = 0.5, 2
			o.ThickSliceProb = 0
		})
		g := c.Tissue.Grid
		for _, l := range c.Lesions {
			var in, around []float64
			forVoxelsNear(g, l.Shape.Centre, l.Shape.MaxRadiusMM()+6, func(idx int, p [3]float64) {
				d := l.Shape.RadialDistance(p)
				v := float64(c.Images[volume.T1c].Data[idx] / c.BiasFields[volume.T1c].Data[idx])
				switch tt := Tissue(c.Tissue.Data[idx]); {
				case tt == Enhancing && d < -1:
					in = append(in, v)
				case d > 3 && d < 6 && (tt == WM || tt == GM || tt == Oedema || tt == Cerebellum || tt == DeepGM || tt == Brainstem):
					around = append(around, v)
				}
			})
			if len(in) < 3 || len(around) < 10 {
				continue
			}
			if mean(in) < 1.2*mean(around) {
				t.Errorf("seed %d lesion %d (%.2f cm3, %s): T1c enhancing mean %.1f not above surroundings %.1f",
					seed, l.ID, l.VolumeCM3, l.Type, mean(in), mean(around))
			}
		}
		fl := tissueMeans(c, volume.FLAIR)
		if oed, ok := fl[Oedema]; ok {
			checkedOedema++
			if !(oed > 1.3*fl[WM]) {
				t.Errorf("seed %d: FLAIR oedema %.1f not bright against WM %.1f", seed, oed, fl[WM])
			}
		}
	}
	if checkedOedema == 0 {
		t.Error("no case had oedema voxels to check on FLAIR")
	}
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func TestNoMetastases(t *testing.T) {
	c := smallCase(t, 3, func(o *Options) { o.NoMetastases = true })
	if len(c.Lesions) != 0 || c.Label.Count() != 0 {
		t.Fatalf("control case has %d lesions, %d label voxels", len(c.Lesions), c.Label.Count())
	}
	if c.BrainMask.VolumeCM3() < 900 || c.BrainMask.VolumeCM3() > 2200 {
		t.Errorf("brain mask %.0f cm3, want an adult brain (900-2200)", c.BrainMask.VolumeCM3())
	}
}

// rotationAngleDeg is the rotation angle of an affine's 3x3 block.
func rotationAngleDeg(a volume.Affine) float64 {
	tr := a[0][0] + a[1][1] + a[2][2]
	return math.Acos(math.Max(-1, math.Min(1, (tr-1)/2))) * 180 / math.Pi
}

func TestAcquisitionAsAsked(t *testing.T) {
	o := DefaultOptions(Small)
	o.ThickSliceProb = 1
	o.MaxRotationDeg, o.MaxShiftMM = 5, 6
	o.BiasAmplitude = 0.25
	for seed := int64(30); seed < 33; seed++ {
		o.Seed = seed
		c, err := Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		ref := c.Images[volume.T1c]
		if sp := ref.Spacing(); sp != [3]float64{3, 3, 3} || !ref.SameGeometry(c.Label.Grid, 0) {
			t.Fatalf("T1c spacing %v, want 3 mm and the label's grid", sp)
		}
		if ref.Dims != [3]int{64, 76, 60} {
			t.Errorf("T1c dims %v, want FOV/spacing", ref.Dims)
		}
		if !c.WorldToSequence[volume.T1c].AlmostEqual(volume.Identity(), 0) {
			t.Error("T1c misalignment is not identity")
		}
		for _, s := range []volume.Sequence{volume.T1, volume.T2, volume.FLAIR} {
			sp := c.Images[s].Spacing()
			if math.Abs(sp[0]-o.InPlaneMM) > 1e-9 || sp[2] < o.SliceThicknessMM[0]-1e-9 || sp[2] > o.SliceThicknessMM[1]+1e-9 {
				t.Errorf("%s spacing %v, want %g in plane and %v thick", s.Title(), sp, o.InPlaneMM, o.SliceThicknessMM)
			}
			w := c.WorldToSequence[s]
			ang := rotationAngleDeg(w)
			if ang > math.Sqrt(3)*o.MaxRotationDeg+1e-9 || ang < 0.3 {
				t.Errorf("%s rotation %.2f deg, want within the per-axis bound %g and not zero", s.Title(), ang, o.MaxRotationDeg)
			}
			for a := 0; a < 3; a++ {
				if math.Abs(c.Params.RotationDeg[s][a]) > o.MaxRotationDeg || math.Abs(c.Params.ShiftMM[s][a]) > o.MaxShiftMM {
					t.Errorf("%s misalignment parameters %v %v beyond the options", s.Title(), c.Params.RotationDeg[s], c.Params.ShiftMM[s])
				}
			}
			lo, hi := c.BiasFields[s].Range()
			if math.Abs(float64(lo)-(1-o.BiasAmplitude)) > 1e-5 || math.Abs(float64(hi)-(1+o.BiasAmplitude)) > 1e-5 {
				t.Errorf("%s bias field spans [%.4f, %.4f], want 1 -/+ %g", s.Title(), lo, hi, o.BiasAmplitude)
			}
			if !c.BiasFields[s].SameGeometry(c.Images[s].Grid, 0) {
				t.Errorf("%s bias field is not on the image grid", s.Title())
			}
		}
		// The misalignment is real: the T1 resampled through the true
		// transform matches the T1c's anatomy better than without it.
		mask := c.BrainMask
		corr := func(w volume.Affine) float64 {
			r := volume.ResampleTransformed(c.Images[volume.T1], ref.Grid, w, volume.Linear)
			var x, y []float64
			for i, m := range mask.Data {
				if m != 0 {
					x = append(x, float64(r.Data[i]))
					y = append(y, float64(ref.Data[i]))
				}
			}
			return pearson(x, y)
		}
		right, wrong := corr(c.WorldToSequence[volume.T1]), corr(volume.Identity())
		if !(right > wrong+0.02) {
			t.Errorf("seed %d: T1-T1c correlation %.3f with the true transform, %.3f without", seed, right, wrong)
		}
	}
}

func pearson(x, y []float64) float64 {
	mx, my := mean(x), mean(y)
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}

// TestNoiseIsRicianAtTheAskedSNR measures the noise in the air around the
// head: there the magnitude of complex Gaussian noise is Rayleigh with mean
// sigma*sqrt(pi/2).
func TestNoiseIsRicianAtTheAskedSNR(t *testing.T) {
	c := smallCase(t, 40, nil)
	for _, s := range volume.Sequences {
		im := c.Images[s]
		var air []float64
		for k := 0; k < im.Dims[2]; k++ {
			for j := 0; j < 4; j++ { // the posterior-most rows: air behind the head... and corners
				for i := 0; i < 4; i++ {
					air = append(air, float64(im.At(i, j, k)))
				}
			}
		}
		sigma := mean(air) / math.Sqrt(math.Pi/2)
		want := c.Params.NoiseSigma[s]
		if math.Abs(sigma-want) > 0.12*want {
			t.Errorf("%s: background noise sigma %.2f, want %.2f (SNR %.1f)", s.Title(), sigma, want, c.Params.SNR[s])
		}
		if c.Params.SNR[s] < c.Options.SNR*0.5 {
			t.Errorf("%s: SNR %.1f below the asked %.1f scaled by field", s.Title(), c.Params.SNR[s], c.Options.SNR)
		}
	}
}

// TestCohortDistributions draws the lesions of 60 cases (the plan, which
// Generate renders unchanged) and compares count, volume and location
// distributions with the options.
func TestCohortDistributions(t *testing.T) {
	for _, size := range []Size{Small, Full} {
		o := DefaultOptions(size)
		var counts []int
		var vols []float64
		locs := map[Location]int{}
		const n = 60
		for seed := int64(0); seed < n; seed++ {
			o.Seed = seed
			pl, err := newPlan(o)
			if err != nil {
				t.Fatal(err)
			}
			counts = append(counts, len(pl.c.Lesions))
			for _, l := range pl.c.Lesions {
				vols = append(vols, l.VolumeCM3)
				locs[l.Location]++
			}
		}
		single := 0
		for _, k := range counts {
			if k < o.MinLesions || k > o.MaxLesions {
				t.Errorf("%s: %d lesions outside [%d, %d]", size, k, o.MinLesions, o.MaxLesions)
			}
			if k == 1 {
				single++
			}
		}
		if f := float64(single) / n; math.Abs(f-o.SingleLesionProb) > 0.2 {
			t.Errorf("%s: %.2f of cases single, want about %.2f", size, f, o.SingleLesionProb)
		}
		sort.Float64s(vols)
		for _, v := range vols {
			if v < o.MinVolumeCM3*0.999 || v > o.MaxVolumeCM3*1.001 {
				t.Errorf("%s: lesion volume %.4f outside [%g, %g]", size, v, o.MinVolumeCM3, o.MaxVolumeCM3)
			}
		}
		med := vols[len(vols)/2]
		if med < o.MedianVolumeCM3/2.5 || med > o.MedianVolumeCM3*2.5 {
			t.Errorf("%s: median volume %.3f, want near %.3f", size, med, o.MedianVolumeCM3)
		}
		if size == Full {
			if m := mean(vols); m < 0.3 || m > 3 {
				t.Errorf("full: mean lesion volume %.2f cm3, want about 1 (the study's)", m)
			}
		}
		if locs[Junction] < len(vols)/2 || locs[CerebellumLoc] == 0 {
			t.Errorf("%s: locations %v, want most at the junction and some in the cerebellum", size, locs)
		}
		t.Logf("%s: %d lesions in %d cases, median %.3f cm3, mean %.3f, locations %v", size, len(vols), n, med, mean(vols), locs)
	}
	// Generate renders the plan unchanged.
	o := DefaultOptions(Small)
	o.Seed = 9
	pl, _ := newPlan(o)
	c := smallCase(t, 9, nil)
	if len(c.Lesions) != len(pl.c.Lesions) || c.Lesions[0].Shape != pl.c.Lesions[0].Shape {
		t.Error("Generate's lesions differ from its plan's")
	}
}

func BenchmarkGenerateSmall(b *testing.B) { benchGenerate(b, Small) }
func BenchmarkGenerateFull(b *testing.B)  { benchGenerate(b, Full) }

func benchGenerate(b *testing.B, size Size) {
	o := DefaultOptions(size)
	voxels := 0
	cpu0, okCPU := cpuTime()
	for i := 0; i < b.N; i++ {
		o.Seed = int64(i)
		c, err := Generate(o)
		if err != nil {
			b.Fatal(err)
		}
		for _, im := range c.Images {
			voxels += im.Len()
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/case")
	if cpu1, ok := cpuTime(); ok && okCPU {
		b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/case")
	}
	b.ReportMetric(float64(voxels)/b.Elapsed().Seconds(), "voxels/s")
}

// TestHaemorrhageBrightOnT1 finds a case with a haemorrhagic metastasis and
// checks that its core is brighter than white matter on T1, as
// methaemoglobin is.
func TestHaemorrhageBrightOnT1(t *testing.T) {
	o := DefaultOptions(Small)
	o.T1cSpacingMM = 2
	o.ThickSliceProb = 0
	o.MinVolumeCM3, o.MedianVolumeCM3 = 3, 6
	found := false
	for seed := int64(0); seed < 200 && !found; seed++ {
		o.Seed = seed
		pl, err := newPlan(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range pl.c.Lesions {
			found = found || l.Type == Haemorrhagic
		}
	}
	if !found {
		t.Fatal("no haemorrhagic lesion in 200 cases of large lesions")
	}
	c, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	m := tissueMeans(c, volume.T1)
	if !(m[Haemorrhage] > 1.1*m[WM]) {
		t.Errorf("T1: haemorrhage %.0f not brighter than WM %.0f", m[Haemorrhage], m[WM])
	}
	if mc := tissueMeans(c, volume.T1c); !(mc[Necrosis] < mc[WM]) && mc[Necrosis] != 0 {
		t.Errorf("T1c: necrotic core %.0f not darker than WM %.0f", mc[Necrosis], mc[WM])
	}
}

func TestNoMisalignmentNoBiasWhenAsked(t *testing.T) {
	c := smallCase(t, 60, func(o *Options) {
		o.MaxRotationDeg, o.MaxShiftMM, o.BiasAmplitude, o.ThickSliceProb = 0, 0, 0, 0
	})
	for _, s := range volume.Sequences {
		if !c.WorldToSequence[s].AlmostEqual(volume.Identity(), 1e-12) {
			t.Errorf("%s: transform %v, want identity", s.Title(), c.WorldToSequence[s])
		}
		if lo, hi := c.BiasFields[s].Range(); lo != 1 || hi != 1 {
			t.Errorf("%s: bias field spans [%g, %g], want 1", s.Title(), lo, hi)
		}
		if !c.Images[s].SameGeometry(c.Label.Grid, 1e-9) {
			t.Errorf("%s: 3D sequence not on the T1c grid", s.Title())
		}
	}
}

func TestStorageFlip(t *testing.T) {
	c := smallCase(t, 61, func(o *Options) { o.StorageFlipProb = 1 })
	if got := c.Images[volume.T1c].Affine.AxisCodes(); got != "RAS" {
		t.Errorf("T1c stored %s, want RAS", got)
	}
	ref := c.Images[volume.T1c]
	for _, s := range []volume.Sequence{volume.T1, volume.T2, volume.FLAIR} {
		if got := c.Images[s].Affine.AxisCodes(); got != "LPS" {
			t.Errorf("%s stored %s, want LPS", s.Title(), got)
		}
	}
	// Geometry is still right: through the true transform the T1 matches
	// the T1c's anatomy.
	r := volume.ResampleTransformed(c.Images[volume.T1], ref.Grid, c.WorldToSequence[volume.T1], volume.Linear)
	var x, y []float64
	for i, m := range c.BrainMask.Data {
		if m != 0 {
			x = append(x, float64(r.Data[i]))
			y = append(y, float64(ref.Data[i]))
		}
	}
	if p := pearson(x, y); p < 0.6 {
		t.Errorf("flipped T1 against T1c: correlation %.2f", p)
	}
}

// TestMassEffectPreservesVolume: the displacement that makes room for a
// lesion moves tissue at d0 to d with d^3 = d0^3 + R^3 (an incompressible
// brain), leaves far tissue in place and ignores small lesions.
func TestMassEffectPreservesVolume(t *testing.T) {
	l := &lesionModel{shape: LesionShape{Centre: [3]float64{10, -20, 30}}, massR: 8}
	for _, d := range []float64{9, 12, 20, 35} {
		p := [3]float64{10 + d*0.6, -20 + d*0.8, 30}
		q := displace(p, []*lesionModel{l})
		d0 := math.Sqrt(sqDist(q, l.shape.Centre))
		if got := d0*d0*d0 + 8*8*8; math.Abs(got-d*d*d) > 1e-6*d*d*d {
			t.Errorf("d=%g: came from %.4f, d0^3+R^3 = %.3f, want %.3f", d, d0, got, d*d*d)
		}
	}
	far := [3]float64{10 + 50, -20, 30}
	if q := displace(far, []*lesionModel{l}); q != far {
		t.Errorf("tissue 50 mm away moved to %v", q)
	}
	small := &lesionModel{shape: l.shape}
	if q := displace([3]float64{12, -20, 30}, []*lesionModel{small}); q != [3]float64{12, -20, 30} {
		t.Error("a lesion without mass moved tissue")
	}
}

func TestNoiseFreeSignal(t *testing.T) {
	a := smallCase(t, 70, nil)
	b := smallCase(t, 70, func(o *Options) { o.KeepNoiseFree = true })
	if !bytes.Equal(caseBytes(a), caseBytes(b)) {
		t.Fatal("keeping the noise-free signal changed the images")
	}
	for _, s := range volume.Sequences {
		if a.NoiseFree[s] != nil {
			t.Fatalf("%s: noise-free image kept without the option", s.Title())
		}
		nf, im, bias := b.NoiseFree[s], b.Images[s], b.BiasFields[s]
		sigma := b.Params.NoiseSigma[s]
		var diff []float64
		for i, v := range nf.Data {
			// Where the signal is well above the noise, the Rician image
			// is about signal*bias plus Gaussian noise of sigma.
			if sig := float64(v * bias.Data[i]); sig > 10*sigma {
				diff = append(diff, (float64(im.Data[i])-sig)/sigma)
			}
		}
		if len(diff) < 1000 {
			t.Fatalf("%s: only %d bright voxels", s.Title(), len(diff))
		}
		m := mean(diff)
		var v float64
		for _, d := range diff {
			v += (d - m) * (d - m)
		}
		sd := math.Sqrt(v / float64(len(diff)))
		if math.Abs(m) > 0.15 || math.Abs(sd-1) > 0.1 {
			t.Errorf("%s: (image - signal*bias)/sigma has mean %.3f, sd %.3f; want 0 and 1", s.Title(), m, sd)
		}
	}
}

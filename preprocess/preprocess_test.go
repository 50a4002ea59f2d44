package preprocess

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"metascope/lesion"
	"metascope/phantom"
	"metascope/preprocess/internal/imgops"
	"metascope/preprocess/internal/ptest"
	"metascope/preprocess/register"
	"metascope/volume"
)

func deg(d float64) float64 { return d * math.Pi / 180 }

// mniCase builds a four-sequence case from the real MNI head at mm
// resolution: T1c is the head itself; T1, T2 (contrast inverted) and FLAIR
// are misaligned by known rigid transforms, T2 and FLAIR with slices
// thick times thicker; every sequence carries its own bias field.
func mniCase(t testing.TB, mm float64, thick int) (Inputs, [4]volume.Affine) {
	base := ptest.MNIAt(t, mm)
	c := base.VoxelToWorld([3]float64{float64(base.Dims[0]) / 2, float64(base.Dims[1]) / 2, float64(base.Dims[2]) / 2})
	truth := [4]volume.Affine{
		volume.T1:    volume.RigidTransform([3]float64{deg(4), deg(-6), deg(3)}, [3]float64{5, -3, 8}, c),
		volume.T2:    volume.RigidTransform([3]float64{deg(-8), deg(5), deg(-4)}, [3]float64{-10, 6, 4}, c),
		volume.T1c:   volume.Identity(),
		volume.FLAIR: volume.RigidTransform([3]float64{deg(7), deg(2), deg(9)}, [3]float64{12, 9, -6}, c),
	}
	sp := base.Spacing()
	var in Inputs
	for _, s := range volume.Sequences {
		spacing := sp
		if s == volume.T2 || s == volume.FLAIR {
			spacing[2] *= float64(thick)
		}
		img := ptest.Misaligned(base, truth[s], spacing)
		if s == volume.T2 {
			img = ptest.Invert(img)
			// Background stays dark, as on a real T2.
			head, _ := imgops.HeadMask(ptest.Misaligned(base, truth[s], spacing))
			for i := range img.Data {
				if !head[i] {
					img.Data[i] = 0
				}
			}
		}
		in.Images[s] = ptest.Multiply(img, ptest.BiasField(img.Grid, 0.2))
	}
	return in, truth
}

func fastOptions() Options {
	o := DefaultOptions()
	o.SpacingMM = 2
	o.Register.LevelsMM = []float64{4, 2}
	return o
}

func TestRunMNICase(t *testing.T) {
	in, truth := mniCase(t, 2, 3)
	var stages []string
	res, err := Run(context.Background(), in, fastOptions(), func(stage string, f float64) {
		if len(stages) == 0 || stages[len(stages)-1] != stage {
			stages = append(stages, stage)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range res.Timings {
		t.Logf("%-16s %.2f s", tm.Step, tm.Seconds)
	}
	// Registration error over the brain.
	brain := imgops.MaskToBool(res.BrainMask)
	pts := ptest.BrainPoints(brain, res.Grid, 5)
	for _, s := range []volume.Sequence{volume.T1, volume.T2, volume.FLAIR} {
		e := register.MeanDisplacement(res.Transforms[s].ReferenceToSequence, truth[s], pts)
		t.Logf("%s registration error %.3f mm (mean over the brain)", s.Title(), e)
		if e > 1 {
			t.Errorf("%s registration error %.3f mm, want <= 1", s.Title(), e)
		}
	}
	cm3 := res.BrainMask.VolumeCM3()
	t.Logf("brain %.0f cm3 on grid %v", cm3, res.Grid.Dims)
	if cm3 < 1300 || cm3 > 2000 {
		t.Errorf("brain %.0f cm3, want 1300..2000", cm3)
	}
	if res.Grid.Affine.AxisCodes() != "RAS" || math.Abs(res.Grid.Spacing()[0]-2) > 1e-9 {
		t.Errorf("output grid %s spacing %v, want RAS at 2 mm", res.Grid.Affine.AxisCodes(), res.Grid.Spacing())
	}
	for _, s := range volume.Sequences {
		m, sd, _ := imgops.MeanStd(res.Images[s].Data, brain)
		if math.Abs(m) > 1e-3 || math.Abs(sd-1) > 1e-3 {
			t.Errorf("%s: mean %.4f std %.4f inside the brain, want 0 and 1", s.Title(), m, sd)
		}
	}
	if len(stages) < 5 {
		t.Errorf("progress reported stages %q, want one per step", stages)
	}

	// Round trip through the folder format.
	dir := t.TempDir()
	if err := WriteResult(dir, res); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResult(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Grid.SameGeometry(res.Grid, 1e-4) || back.BrainMask.Count() != res.BrainMask.Count() ||
		!back.Transforms[volume.FLAIR].ReferenceToSequence.AlmostEqual(res.Transforms[volume.FLAIR].ReferenceToSequence, 1e-12) ||
		back.Images[volume.T2].Data[back.Grid.Len()/2] != res.Images[volume.T2].Data[res.Grid.Len()/2] {
		t.Error("ReadResult does not give back what WriteResult wrote")
	}
	// Mapping the brain mask back to the T1c grid: the reference grid.
	ref, err := back.LabelToReference(back.BrainMask)
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(ref.VolumeCM3()-cm3) / cm3; d > 0.03 {
		t.Errorf("brain mask mapped back to T1c grid: %.0f cm3, %.1f %% off", ref.VolumeCM3(), 100*d)
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	in, _ := mniCase(t, 4, 2)
	with := func(s volume.Sequence, v *volume.Volume) Inputs {
		out := in
		out.Images[s] = v
		return out
	}
	empty := volume.New(in.Images[volume.T2].Grid)
	constant := empty.Clone()
	for i := range constant.Data {
		constant.Data[i] = 100
	}
	nan := in.Images[volume.FLAIR].Clone()
	nan.Data[1234] = float32(math.NaN())
	far := in.Images[volume.T1].Clone()
	far.Affine[0][3] += 1000 // 1 m away: another study
	cases := []struct {
		name string
		in   Inputs
		want string
	}{
		{"missing", with(volume.T1, nil), "T1 image is missing"},
		{"empty", with(volume.T2, empty), "T2 image is empty"},
		{"constant", with(volume.T2, constant), "T2 image is constant"},
		{"NaN", with(volume.FLAIR, nan), "FLAIR image: voxel 1234 is NaN"},
		{"no overlap", with(volume.T1, far), "T1 and T1c fields of view do not overlap"},
	}
	for _, tc := range cases {
		_, err := Run(context.Background(), tc.in, fastOptions(), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	bad := fastOptions()
	bad.SpacingMM = 0
	if _, err := Run(context.Background(), in, bad, nil); err == nil || !strings.Contains(err.Error(), "SpacingMM") {
		t.Errorf("SpacingMM 0: error %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, in, fastOptions(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v, want context.Canceled", err)
	}
}

// TestRunPhantomSmall runs the pipeline on small phantom cases (3 mm T1c,
// thick-slice 2D sequences, up to 10 degrees / 15 mm, +/-30 % bias).
// Registration must be within 1 mm over the true brain. Skull stripping at
// 3 mm is coarse (partial volume blurs the thin dark band of CSF and inner
// table): the bar here is Dice >= 0.8; the full-size (1 mm) cases in
// package skull and BenchmarkPipelinePhantom must reach 0.95.
func TestRunPhantomSmall(t *testing.T) {
	for _, seed := range []int64{2, 3} {
		o := phantom.DefaultOptions(phantom.Small)
		o.Seed = seed
		o.MaxRotationDeg = 10
		o.MaxShiftMM = 15
		o.BiasAmplitude = 0.3
		c, err := phantom.Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		opts := DefaultOptions()
		opts.SpacingMM = 2
		res, err := Run(context.Background(), Inputs{Images: c.Images}, opts, nil)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		pts := ptest.BrainPoints(imgops.MaskToBool(c.BrainMask), c.BrainMask.Grid, 3)
		for _, s := range []volume.Sequence{volume.T1, volume.T2, volume.FLAIR} {
			e := register.MeanDisplacement(res.Transforms[s].ReferenceToSequence, c.WorldToSequence[s], pts)
			if e > 1 {
				t.Errorf("seed %d %s: registration error %.3f mm, want <= 1", seed, s.Title(), e)
			}
		}
		mask, err := res.LabelToReference(res.BrainMask)
		if err != nil {
			t.Fatal(err)
		}
		d := lesion.Dice(mask, c.BrainMask)
		t.Logf("seed %d: brain Dice %.3f, lesion voxels lost %d of %d, total %.1f s", seed, d,
			ptest.LostVoxels(mask, c.Label), c.Label.Count(), res.TotalSeconds())
		if d < 0.8 {
			t.Errorf("seed %d: brain mask Dice %.3f, want >= 0.8 at 3 mm", seed, d)
		}
	}
}

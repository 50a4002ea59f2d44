package phantom

import (
	"fmt"
	"math"
)

// Size selects a preset of grids: Full is a clinical-looking case, Small a
// coarse one for fast tests.
type Size int

const (
	// Small is a 3 mm T1c of about 64 x 76 x 60 voxels, generated in a
	// fraction of a second, for tests.
	Small Size = iota
	// Full is a 1 mm T1c of 192 x 224 x 176 voxels with 2D thick-slice
	// sequences at 0.9 mm in plane, as in the study's cohort.
	Full
)

// String is "small" or "full".
func (s Size) String() string {
	switch s {
	case Small:
		return "small"
	case Full:
		return "full"
	}
	return fmt.Sprintf("size(%d)", int(s))
}

// ParseSize accepts "small" and "full".
func ParseSize(s string) (Size, error) {
	switch s {
	case "small":
		return Small, nil
	case "full":
		return Full, nil
	}
	return 0, fmt.Errorf("unknown size %q (want small or full)", s)
}

// Options control one generated case. Start from DefaultOptions and change
// fields; Generate validates them and names the field that is wrong.
type Options struct {
	Seed int64
	Size Size

	// T1cSpacingMM is the isotropic voxel size of the 3D T1c (the case's
	// reference grid) and of any other sequence acquired 3D.
	T1cSpacingMM float64
	// FOVMM is the 3D field of view (x, y, z) in mm.
	FOVMM [3]float64
	// InPlaneMM is the in-plane voxel size of 2D thick-slice sequences.
	InPlaneMM float64
	// SliceThicknessMM is the range [min, max] of 2D slice thickness.
	SliceThicknessMM [2]float64
	// ThickSliceProb is the probability that each of T1, T2 and FLAIR is a
	// 2D thick-slice acquisition (the T1c is always 3D).
	ThickSliceProb float64
	// StorageFlipProb is the probability that each of T1, T2 and FLAIR is
	// stored with its x and y voxel axes reversed (LPS, as DICOM stores
	// them), for tests of orientation handling. The T1c stays RAS.
	StorageFlipProb float64

	// NoMetastases makes a control scan without lesions.
	NoMetastases bool
	// MinLesions and MaxLesions bound the lesion count; SingleLesionProb is
	// the probability of exactly one (two thirds in the study), the rest
	// falling off geometrically towards MaxLesions.
	MinLesions, MaxLesions int
	SingleLesionProb       float64
	// Lesion volumes are log-normal with median MedianVolumeCM3 and log
	// standard deviation VolumeLogSigma, truncated to [MinVolumeCM3,
	// MaxVolumeCM3].
	MinVolumeCM3, MaxVolumeCM3 float64
	MedianVolumeCM3            float64
	VolumeLogSigma             float64

	// SNR is the white-matter signal-to-noise ratio of the T1c (and of any
	// sequence with the T1c's voxel size) at 1.5 T; a sequence's actual SNR
	// scales with the field strength and with the square root of its voxel
	// volume (Params.SNR).
	SNR float64
	// FieldStrengthsT lists the field strengths a case is drawn from.
	FieldStrengthsT []float64
	// BiasAmplitude is the half-range of the multiplicative bias field:
	// 0.2 means the field spans 0.8 to 1.2 inside each sequence's grid.
	BiasAmplitude float64
	// MaxRotationDeg and MaxShiftMM bound the rigid misalignment of T1, T2
	// and FLAIR relative to the T1c, per axis.
	MaxRotationDeg, MaxShiftMM float64
	// AnatomyVariation scales the per-case variation of head size, shape and
	// the smooth deformation (0 gives the template head).
	AnatomyVariation float64

	// KeepNoiseFree keeps each sequence's signal before bias field and noise
	// (Case.NoiseFree), for tests that measure bias correction or
	// resampling against the truth. It costs one more image per sequence.
	KeepNoiseFree bool

	// MNIPath, when set, is a NIfTI T1 head (such as the MNI head shipped
	// with gonii) whose intensity classes replace the procedural anatomy.
	MNIPath string
}

// DefaultOptions returns the options of a typical cohort case of the given
// size.
func DefaultOptions(size Size) Options {
	o := Options{
		Size:             size,
		ThickSliceProb:   0.6,
		MinLesions:       1,
		MaxLesions:       10,
		SingleLesionProb: 2.0 / 3,
		MinVolumeCM3:     0.003,
		MaxVolumeCM3:     20,
		MedianVolumeCM3:  0.25,
		VolumeLogSigma:   1.8,
		SNR:              25,
		FieldStrengthsT:  []float64{1.0, 1.5, 1.5, 3.0, 3.0},
		BiasAmplitude:    0.2,
		MaxRotationDeg:   4,
		MaxShiftMM:       5,
		AnatomyVariation: 1,
	}
	switch size {
	case Full:
		o.T1cSpacingMM = 1
		o.FOVMM = [3]float64{192, 224, 176}
		o.InPlaneMM = 0.9
		o.SliceThicknessMM = [2]float64{4, 6}
	default:
		o.T1cSpacingMM = 3
		o.FOVMM = [3]float64{192, 228, 180}
		o.InPlaneMM = 3
		o.SliceThicknessMM = [2]float64{6, 7.5}
		// A lesion must cover at least a few 27 mm3 voxels to exist in
		// the label at all.
		o.MinVolumeCM3 = 0.1
		o.MedianVolumeCM3 = 0.6
		o.VolumeLogSigma = 1.2
	}
	return o
}

// Validate checks every field and names the first one that is wrong.
func (o Options) Validate() error {
	bad := func(field string, format string, args ...any) error {
		return fmt.Errorf("phantom options: %s %s", field, fmt.Sprintf(format, args...))
	}
	finitePos := func(x float64) bool { return x > 0 && !math.IsInf(x, 0) && !math.IsNaN(x) }
	if o.Size != Small && o.Size != Full {
		return bad("Size", "is %d; want Small or Full", int(o.Size))
	}
	if !finitePos(o.T1cSpacingMM) || o.T1cSpacingMM < 0.3 || o.T1cSpacingMM > 8 {
		return bad("T1cSpacingMM", "is %g; want 0.3 to 8 mm", o.T1cSpacingMM)
	}
	for a, f := range o.FOVMM {
		if !finitePos(f) || f < 160 || f > 320 {
			return bad("FOVMM", "[%d] is %g; want 160 to 320 mm (the head must fit)", a, f)
		}
	}
	if !finitePos(o.InPlaneMM) || o.InPlaneMM < 0.3 || o.InPlaneMM > 8 {
		return bad("InPlaneMM", "is %g; want 0.3 to 8 mm", o.InPlaneMM)
	}
	if !finitePos(o.SliceThicknessMM[0]) || o.SliceThicknessMM[1] < o.SliceThicknessMM[0] || o.SliceThicknessMM[1] > 12 {
		return bad("SliceThicknessMM", "is %v; want 0 < min <= max <= 12 mm", o.SliceThicknessMM)
	}
	if !(o.ThickSliceProb >= 0 && o.ThickSliceProb <= 1) {
		return bad("ThickSliceProb", "is %g; want 0 to 1", o.ThickSliceProb)
	}
	if !(o.StorageFlipProb >= 0 && o.StorageFlipProb <= 1) {
		return bad("StorageFlipProb", "is %g; want 0 to 1", o.StorageFlipProb)
	}
	if !o.NoMetastases {
		if o.MinLesions < 1 || o.MinLesions > o.MaxLesions || o.MaxLesions > 30 {
			return bad("MinLesions/MaxLesions", "are %d/%d; want 1 <= min <= max <= 30", o.MinLesions, o.MaxLesions)
		}
		if !(o.SingleLesionProb >= 0 && o.SingleLesionProb <= 1) {
			return bad("SingleLesionProb", "is %g; want 0 to 1", o.SingleLesionProb)
		}
		if !finitePos(o.MinVolumeCM3) || o.MaxVolumeCM3 < o.MinVolumeCM3 || o.MaxVolumeCM3 > 60 {
			return bad("MinVolumeCM3/MaxVolumeCM3", "are %g/%g; want 0 < min <= max <= 60 cm3", o.MinVolumeCM3, o.MaxVolumeCM3)
		}
		if !finitePos(o.MedianVolumeCM3) {
			return bad("MedianVolumeCM3", "is %g; want > 0", o.MedianVolumeCM3)
		}
		if !(o.VolumeLogSigma >= 0 && o.VolumeLogSigma <= 5) {
			return bad("VolumeLogSigma", "is %g; want 0 to 5", o.VolumeLogSigma)
		}
	}
	if !finitePos(o.SNR) || o.SNR > 1e4 {
		return bad("SNR", "is %g; want > 0", o.SNR)
	}
	if len(o.FieldStrengthsT) == 0 {
		return bad("FieldStrengthsT", "is empty")
	}
	for _, f := range o.FieldStrengthsT {
		if !finitePos(f) || f > 11.7 {
			return bad("FieldStrengthsT", "holds %g; want 0 < T <= 11.7", f)
		}
	}
	if !(o.BiasAmplitude >= 0 && o.BiasAmplitude < 0.9) {
		return bad("BiasAmplitude", "is %g; want 0 to 0.9", o.BiasAmplitude)
	}
	if !(o.MaxRotationDeg >= 0 && o.MaxRotationDeg <= 30) {
		return bad("MaxRotationDeg", "is %g; want 0 to 30", o.MaxRotationDeg)
	}
	if !(o.MaxShiftMM >= 0 && o.MaxShiftMM <= 30) {
		return bad("MaxShiftMM", "is %g; want 0 to 30", o.MaxShiftMM)
	}
	if !(o.AnatomyVariation >= 0 && o.AnatomyVariation <= 3) {
		return bad("AnatomyVariation", "is %g; want 0 to 3", o.AnatomyVariation)
	}
	return nil
}

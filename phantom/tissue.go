package phantom

import (
	"fmt"
	"math/rand/v2"

	"metascope/volume"
)

// Tissue is a class of the phantom's tissue map (Case.Tissue). Values are
// stable: they are written to disk as label values.
type Tissue uint8

// Tissue classes. Enhancing, Necrosis and Haemorrhage together are the
// metastasis (the ground-truth label); Oedema is perilesional and is not
// labelled, as in the study.
const (
	Background    Tissue = iota // air
	Scalp                       // skin, muscle and other extracranial soft tissue
	Fat                         // subcutaneous fat and fatty marrow of the diploë
	Skull                       // cortical bone
	CSF                         // subarachnoid space, sulci, cisterns
	GM                          // cortical grey matter
	WM                          // white matter
	DeepGM                      // caudate, putamen, pallidum, thalamus
	Ventricle                   // ventricular CSF
	Cerebellum                  // cerebellar cortex
	Brainstem                   // midbrain, pons, medulla, cord
	Vessel                      // dural sinuses, cortical veins, arteries
	ChoroidPlexus               // enhancing choroid plexus
	Enhancing                   // enhancing tumour (tissue; the Lesion type describes a whole metastasis)
	Necrosis                    // necrotic core
	Haemorrhage                 // haemorrhagic core
	Oedema                      // perilesional vasogenic oedema
	Eye                         // vitreous
	numTissues
)

var tissueNames = [numTissues]string{"background", "scalp", "fat", "skull", "csf", "gm", "wm",
	"deep_gm", "ventricle", "cerebellum", "brainstem", "vessel", "choroid_plexus", "lesion",
	"necrosis", "haemorrhage", "oedema", "eye"}

// String is the tissue's lower-case name.
func (t Tissue) String() string {
	if t < numTissues {
		return tissueNames[t]
	}
	return fmt.Sprintf("tissue(%d)", uint8(t))
}

// IsMetastasis reports whether t is part of the ground-truth label.
func (t Tissue) IsMetastasis() bool { return t == Enhancing || t == Necrosis || t == Haemorrhage }

// baseContrast is the noise-free signal of each tissue in each sequence at
// 1.5 T, on a scale where fat is about 1 on T1. The ordering is what a
// radiologist expects: T1 WM > GM > CSF with bright fat; T2 CSF brightest,
// WM darker than GM; FLAIR like T2 with CSF suppressed and oedema bright;
// T1c equals T1 except for what gadolinium enhances (vessels, choroid
// plexus, the tumour, mucosa and muscle slightly).
var baseContrast = [numTissues][4]float64{
	//            T1    T2    T1c   FLAIR
	Background:    {0, 0, 0, 0},
	Scalp:         {0.42, 0.32, 0.50, 0.38},
	Fat:           {1.00, 0.78, 1.00, 0.62},
	Skull:         {0.04, 0.04, 0.04, 0.04},
	CSF:           {0.16, 1.00, 0.16, 0.08},
	GM:            {0.50, 0.52, 0.50, 0.58},
	WM:            {0.72, 0.36, 0.72, 0.42},
	DeepGM:        {0.57, 0.44, 0.57, 0.50},
	Ventricle:     {0.14, 1.00, 0.14, 0.06},
	Cerebellum:    {0.52, 0.50, 0.52, 0.54},
	Brainstem:     {0.66, 0.40, 0.66, 0.47},
	Vessel:        {0.30, 0.08, 1.15, 0.10},
	ChoroidPlexus: {0.42, 0.55, 0.98, 0.38},
	Enhancing:     {0.58, 0.52, 1.05, 0.62},
	Necrosis:      {0.22, 0.88, 0.24, 0.45},
	Haemorrhage:   {0.95, 0.30, 0.97, 0.70},
	Oedema:        {0.52, 0.80, 0.52, 0.88},
	Eye:           {0.12, 0.95, 0.12, 0.07},
}

// Params are the per-case acquisition and contrast parameters actually used.
type Params struct {
	FieldStrengthT float64 `json:"field_strength_t"`
	// Contrast is the noise-free signal per tissue (Tissue value) and
	// sequence before the per-sequence scale, bias field and noise.
	Contrast [numTissues][4]float64 `json:"contrast"`
	// Scale is the arbitrary vendor intensity scale per sequence.
	Scale [4]float64 `json:"scale"`
	// SNR is the white-matter signal over the noise sigma per sequence.
	SNR [4]float64 `json:"snr"`
	// NoiseSigma is the Gaussian sigma of each channel before the magnitude
	// (Rician) operation, in output intensity units.
	NoiseSigma [4]float64 `json:"noise_sigma"`
	// SliceThicknessMM is the slice thickness (the slice spacing) per
	// sequence; ThickSlice says which sequences were acquired 2D.
	SliceThicknessMM [4]float64 `json:"slice_thickness_mm"`
	ThickSlice       [4]bool    `json:"thick_slice"`
	// Rotation (degrees about x, y, z) and Shift (mm) of each sequence's
	// misalignment, the parameters of WorldToSequence.
	RotationDeg [4][3]float64 `json:"rotation_deg"`
	ShiftMM     [4][3]float64 `json:"shift_mm"`
	// HeadScale is the per-axis anatomical scale of this case's head.
	HeadScale [3]float64 `json:"head_scale"`
	// VentricleScale enlarges the ventricles (atrophy, age).
	VentricleScale float64 `json:"ventricle_scale"`
}

// drawContrast jitters the base contrast per case and field strength. The
// jitter is small enough that every ordering a test checks holds.
func drawContrast(rng *rand.Rand, fieldT float64) [numTissues][4]float64 {
	var c [numTissues][4]float64
	// At higher field T1 lengthens and T1-weighted grey/white contrast drops
	// a little; T2 contrast is nearly unchanged.
	t1Contrast := 1 - 0.08*(fieldT-1.5)/1.5
	for t := Tissue(0); t < numTissues; t++ {
		for s := 0; s < 4; s++ {
			v := baseContrast[t][s]
			if (s == int(volume.T1) || s == int(volume.T1c)) && (t == GM || t == DeepGM || t == Cerebellum) {
				// Grey matter moves towards white matter at high field.
				v = baseContrast[WM][s] + (v-baseContrast[WM][s])*t1Contrast
			}
			c[t][s] = v * (1 + 0.03*rng.NormFloat64())
		}
	}
	// Enhancement strength varies with dose, timing and field (the study's
	// "contrast variations"); T1c of enhancing tissue moves together.
	enh := 0.9 + 0.2*rng.Float64()
	for _, t := range []Tissue{Vessel, ChoroidPlexus, Enhancing} {
		c[t][volume.T1c] = c[WM][volume.T1c] + (c[t][volume.T1c]-c[WM][volume.T1c])*enh
	}
	return c
}

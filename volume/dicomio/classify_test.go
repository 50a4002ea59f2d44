package dicomio

import (
	"strings"
	"testing"

	"metascope/volume"
)

// Series descriptions as Siemens, GE and Philips scanners write them, with
// their usual timing.
func TestClassify(t *testing.T) {
	const unknown = volume.Sequence(-1)
	cases := []struct {
		name   string
		in     ClassifyInput
		want   volume.Sequence
		reason string // a part the reason must contain
	}{
		// Siemens
		{"siemens mprage", ClassifyInput{Description: "t1_mprage_sag_p2_iso", SequenceName: "*tfl3d1_16ns", ScanningSequence: `GR\IR`, RepetitionTime: 2300, EchoTime: 2.98, InversionTime: 900}, volume.T1, "MPRAGE"},
		{"siemens mprage post (agent)", ClassifyInput{Description: "t1_mprage_sag_p2_iso", ContrastAgent: "Gadovist", RepetitionTime: 2300, EchoTime: 2.98, InversionTime: 900}, volume.T1c, "Gadovist"},
		{"siemens mprage KM", ClassifyInput{Description: "t1_mprage_tra_KM", RepetitionTime: 2300, EchoTime: 2.98}, volume.T1c, "KM"},
		{"siemens t1 se post", ClassifyInput{Description: "t1_se_tra_post", RepetitionTime: 550, EchoTime: 9.1}, volume.T1c, "POST"},
		{"siemens tirm dark fluid", ClassifyInput{Description: "t2_tirm_tra_dark-fluid_p2", SequenceName: "*tir2d1_16", RepetitionTime: 9000, EchoTime: 81, InversionTime: 2500}, volume.FLAIR, "TIRM"},
		{"siemens t2 tse", ClassifyInput{Description: "t2_tse_tra_p2", SequenceName: "*tse2d1_15", RepetitionTime: 5000, EchoTime: 98}, volume.T2, "T2"},
		{"siemens space flair", ClassifyInput{Description: "t2_space_dark-fluid_sag_p2_iso", RepetitionTime: 5000, EchoTime: 387, InversionTime: 1800}, volume.FLAIR, "DARK"},
		{"siemens diffusion", ClassifyInput{Description: "ep2d_diff_3scan_trace_p2_TRACEW", RepetitionTime: 5000, EchoTime: 89}, unknown, "TRACE"},
		{"siemens adc", ClassifyInput{Description: "ep2d_diff_3scan_trace_p2_ADC"}, unknown, "ADC"},
		{"siemens localizer", ClassifyInput{Description: "localizer", ImageType: []string{"ORIGINAL", "PRIMARY", "M", "NORM"}}, unknown, "LOCALIZER"},
		{"siemens swi", ClassifyInput{Description: "SWI_Images", RepetitionTime: 27, EchoTime: 20}, unknown, "SWI"},
		// GE
		{"ge t1 flair", ClassifyInput{Description: "Ax T1 FLAIR", RepetitionTime: 2000, EchoTime: 9, InversionTime: 750}, volume.T1, "T1-weighted FLAIR"},
		{"ge t1 flair post", ClassifyInput{Description: "Ax T1 FLAIR +C", RepetitionTime: 2000, EchoTime: 9, InversionTime: 750}, volume.T1c, "+C"},
		{"ge t2 flair", ClassifyInput{Description: "Ax T2 FLAIR", RepetitionTime: 9500, EchoTime: 140, InversionTime: 2375}, volume.FLAIR, "FLAIR"},
		{"ge cube flair", ClassifyInput{Description: "Sag CUBE FLAIR", RepetitionTime: 6000, EchoTime: 130, InversionTime: 1800}, volume.FLAIR, "FLAIR"},
		{"ge t2 fse", ClassifyInput{Description: "Ax T2 FSE", RepetitionTime: 4000, EchoTime: 102}, volume.T2, "T2"},
		{"ge propeller", ClassifyInput{Description: "AX T2 PROPELLER"}, volume.T2, "T2"},
		{"ge bravo post", ClassifyInput{Description: "Ax BRAVO C+", RepetitionTime: 8.2, EchoTime: 3.2, InversionTime: 450}, volume.T1c, "C+"},
		{"ge fspgr pre", ClassifyInput{Description: "SAG FSPGR 3D PRE", RepetitionTime: 7.8, EchoTime: 3}, volume.T1, "PRE"},
		{"ge t1 post gd", ClassifyInput{Description: "AX T1 POST GAD"}, volume.T1c, "POST"},
		{"ge 3-plane loc", ClassifyInput{Description: "3-Plane Loc", ImageType: []string{"ORIGINAL", "PRIMARY", "LOCALIZER"}}, unknown, "LOCALIZER"},
		// Philips
		{"philips t1 tfe", ClassifyInput{Description: "sT1W_3D_TFE", RepetitionTime: 8.1, EchoTime: 3.7}, volume.T1, "T1W"},
		{"philips t1 tfe gd", ClassifyInput{Description: "sT1W_3D_TFE_gd", Protocol: "T1W_3D_TFE_gd", RepetitionTime: 8.1, EchoTime: 3.7}, volume.T1c, "GD"},
		{"philips t2w tse", ClassifyInput{Description: "T2W_TSE", RepetitionTime: 3000, EchoTime: 80}, volume.T2, "T2W"},
		{"philips flair", ClassifyInput{Description: "FLAIR_longTR", RepetitionTime: 11000, EchoTime: 125, InversionTime: 2800}, volume.FLAIR, "FLAIR"},
		{"philips t2w flair", ClassifyInput{Description: "T2W_FLAIR"}, volume.FLAIR, "FLAIR"},
		{"philips survey", ClassifyInput{Description: "Survey"}, unknown, "SURVEY"},
		{"philips dwi", ClassifyInput{Description: "DWI_SENSE", RepetitionTime: 3000, EchoTime: 70}, unknown, "DWI"},
		// Timing alone (anonymised descriptions)
		{"timing flair", ClassifyInput{Description: "series 5", RepetitionTime: 9000, EchoTime: 120, InversionTime: 2500}, volume.FLAIR, "inversion"},
		{"timing t2", ClassifyInput{Description: "series 3", RepetitionTime: 4500, EchoTime: 95}, volume.T2, "long TR and long TE"},
		{"timing t1", ClassifyInput{Description: "series 2", RepetitionTime: 500, EchoTime: 10}, volume.T1, "short TR"},
		{"timing t1 agent", ClassifyInput{Description: "series 9", ContrastAgent: "Dotarem", RepetitionTime: 500, EchoTime: 10}, volume.T1c, "Dotarem"},
		{"timing mprage-like", ClassifyInput{Protocol: "anon", RepetitionTime: 1900, EchoTime: 2.5, InversionTime: 900}, volume.T1, "inversion-prepared"},
		{"timing proton density", ClassifyInput{Description: "series 4", RepetitionTime: 3000, EchoTime: 15}, unknown, "fits no rule"},
		{"nothing", ClassifyInput{}, unknown, "missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, known, reason := Classify(c.in)
			if c.want == unknown {
				if known {
					t.Fatalf("classed %v (%s), want unknown", got, reason)
				}
			} else if !known || got != c.want {
				t.Fatalf("classed %v known=%v (%s), want %v", got, known, reason, c.want)
			}
			if !strings.Contains(strings.ToUpper(reason), strings.ToUpper(c.reason)) {
				t.Fatalf("reason %q does not mention %q", reason, c.reason)
			}
		})
	}
}

package dicomio

import (
	"fmt"
	"strings"
	"unicode"

	"metascope/volume"
)

// ClassifyInput is what sequence identification reads from a series header.
type ClassifyInput struct {
	Description      string // SeriesDescription (0008,103E)
	Protocol         string // ProtocolName (0018,1030)
	SequenceName     string // SequenceName (0018,0024)
	ScanningSequence string // ScanningSequence (0018,0020), e.g. SE, IR, GR
	ContrastAgent    string // ContrastBolusAgent (0018,0010)
	ImageType        []string
	RepetitionTime   float64 // ms
	EchoTime         float64 // ms
	InversionTime    float64 // ms
}

// Keyword sets, upper case, matched against whole tokens of the
// description, protocol and sequence names (split at anything but letters,
// digits, '+' and '*').
var (
	// Series that are none of the four, whatever else their names say.
	otherTokens = []string{"DWI", "DIFFUSION", "ADC", "TRACE", "DTI", "SWI", "SWAN", "T2*", "T2STAR", "PERF", "PERFUSION", "DSC", "DCE",
		"ASL", "LOCALIZER", "LOCALISER", "SCOUT", "SURVEY", "3PLANE", "3-PL", "MRA", "TOF", "ANGIO", "SPECTRO", "CSI", "MAP", "FA", "CBF", "CBV", "MIP", "BOLD", "FMRI"}
	flairTokens    = []string{"FLAIR", "TIRM", "DARK", "FLUID", "T2FLAIR", "T2-FLAIR", "T2_FLAIR", "FLAIR3D", "3DFLAIR", "SPACEFLAIR"}
	t2Tokens       = []string{"T2", "T2W", "T2WI", "T2-W", "T2TSE", "T2FSE", "TSE2", "PROPELLER"}
	t1Tokens       = []string{"T1", "T1W", "T1WI", "T1-W", "MPRAGE", "MP-RAGE", "MP2RAGE", "SPGR", "FSPGR", "BRAVO", "TFE", "T1TFE", "VIBE", "FL3D", "T1SE", "T1FSE", "T1TSE", "T1MPR", "MPR", "T1-3D", "3DT1", "T13D", "IR-FSPGR"}
	postTokens     = []string{"POST", "+C", "C+", "GD", "+GD", "GAD", "GADO", "GADOLINIUM", "KM", "+KM", "CE", "CONTRAST", "POSTCONTRAST", "T1C", "T1CE", "T1GD", "T1POST", "T1+C", "T1+GD", "T1W+C", "WITH"}
	preTokens      = []string{"PRE", "PRECONTRAST", "NATIVE", "NATIV", "NONCONTRAST", "WITHOUT"}
	postSubstrings = []string{"+C", "+GD", "C+", "POST"}
)

func tokens(s string) map[string]bool {
	out := map[string]bool{}
	for _, f := range strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '+' || r == '*')
	}) {
		out[f] = true
		// "t1_mprage" splits at '_' already; also index glued forms
		// such as "T1+C" -> "T1", "+C".
		if i := strings.IndexAny(f, "+"); i > 0 {
			out[f[:i]] = true
			out[f[i:]] = true
		}
	}
	return out
}

func anyToken(tok map[string]bool, set []string) string {
	for _, s := range set {
		if tok[s] {
			return s
		}
	}
	return ""
}

// Classify guesses which of T1, T2, T1c and FLAIR a series is, from its
// names first (the technologist's intent) and its timing second, and says
// why. known is false when nothing fits: the user must choose.
func Classify(m ClassifyInput) (class volume.Sequence, known bool, reason string) {
	text := strings.Join([]string{m.Description, m.Protocol, m.SequenceName}, " ")
	tok := tokens(text)
	named := fmt.Sprintf("%q", strings.TrimSpace(m.Description))
	if strings.TrimSpace(m.Description) == "" {
		named = fmt.Sprintf("protocol %q", strings.TrimSpace(m.Protocol))
	}
	agent := strings.TrimSpace(m.ContrastAgent)
	isPost, postWhy := false, ""
	if agent != "" {
		isPost, postWhy = true, fmt.Sprintf("contrast agent %q recorded", agent)
	} else if p := anyToken(tok, preTokens); p != "" {
		postWhy = fmt.Sprintf("marked %q (pre-contrast)", p)
	} else if p := anyToken(tok, postTokens); p != "" {
		isPost, postWhy = true, fmt.Sprintf("marked %q (post-contrast)", p)
	} else {
		up := strings.ToUpper(text)
		for _, s := range postSubstrings {
			if strings.Contains(up, s) {
				isPost, postWhy = true, fmt.Sprintf("name contains %q (post-contrast)", s)
				break
			}
		}
	}
	for _, t := range m.ImageType {
		if strings.EqualFold(t, "LOCALIZER") {
			return 0, false, "ImageType LOCALIZER: a localiser, not one of the four sequences"
		}
	}
	if o := anyToken(tok, otherTokens); o != "" {
		return 0, false, fmt.Sprintf("%s names %q: not one of T1, T2, T1c, FLAIR", named, o)
	}
	tr, te, ti := m.RepetitionTime, m.EchoTime, m.InversionTime
	timing := fmt.Sprintf("TR %g ms, TE %g ms", tr, te)
	if ti > 0 {
		timing += fmt.Sprintf(", TI %g ms", ti)
	}
	t1Named := anyToken(tok, t1Tokens)
	if f := anyToken(tok, flairTokens); f != "" {
		// GE's "T1 FLAIR" is a T1-weighted inversion recovery (TI ~ 800 ms).
		if t1Named != "" && !(ti > 1500) {
			return t1OrT1c(isPost, postWhy, fmt.Sprintf("%s names %q and %q (T1-weighted FLAIR)", named, t1Named, f))
		}
		return volume.FLAIR, true, fmt.Sprintf("%s names %q", named, f)
	}
	if t := anyToken(tok, t2Tokens); t != "" {
		return volume.T2, true, fmt.Sprintf("%s names %q", named, t)
	}
	if t1Named != "" {
		return t1OrT1c(isPost, postWhy, fmt.Sprintf("%s names %q", named, t1Named))
	}
	// No name: fall back on timing.
	switch {
	case tr <= 0 || te <= 0:
		return 0, false, fmt.Sprintf("%s names no known sequence and TR/TE are missing", named)
	case ti > 1500 && te > 60:
		return volume.FLAIR, true, fmt.Sprintf("%s: long inversion time with long TE (%s): fluid-attenuated inversion recovery", named, timing)
	case te > 60 && tr > 2000:
		return volume.T2, true, fmt.Sprintf("%s: long TR and long TE (%s): T2-weighted", named, timing)
	case tr < 900 && te < 30:
		return t1OrT1c(isPost, postWhy, fmt.Sprintf("%s: short TR and short TE (%s): T1-weighted", named, timing))
	case ti >= 300 && ti <= 1300 && te < 10:
		return t1OrT1c(isPost, postWhy, fmt.Sprintf("%s: inversion-prepared gradient echo (%s): T1-weighted", named, timing))
	}
	return 0, false, fmt.Sprintf("%s names no known sequence and its timing (%s) fits no rule", named, timing)
}

func t1OrT1c(post bool, postWhy, why string) (volume.Sequence, bool, string) {
	if post {
		return volume.T1c, true, why + "; " + postWhy
	}
	if postWhy != "" {
		return volume.T1, true, why + "; " + postWhy
	}
	return volume.T1, true, why + "; no contrast agent recorded or named"
}

package viewer

import (
	"fmt"
	"math"

	"metascope/volume"
)

// WindowLevel maps intensities to grey: Level is the intensity shown as mid
// grey, Window the width of the range from black to white.
type WindowLevel struct {
	Window, Level float32
}

// Range is the intensity interval [lo, hi] spread from black to white.
func (wl WindowLevel) Range() (lo, hi float32) {
	return wl.Level - wl.Window/2, wl.Level + wl.Window/2
}

// FromRange is the window that spreads [lo, hi] from black to white.
func FromRange(lo, hi float32) WindowLevel {
	return WindowLevel{Window: hi - lo, Level: (lo + hi) / 2}
}

// Grey maps one intensity to a grey value 0..255: the window's lower edge is
// black, its upper edge white, values in between rounded linearly. A window
// of zero or less is a threshold at the level. NaN is black.
func (wl WindowLevel) Grey(x float32) uint8 {
	lo, k := wl.coeffs()
	return greyOf(x, lo, k)
}

// coeffs returns lo and k such that grey = (x-lo)*k, before rounding and
// clamping.
func (wl WindowLevel) coeffs() (lo, k float32) {
	w := wl.Window
	if !(w > 0) || math.IsInf(float64(w), 0) {
		// A threshold: a very steep ramp centred on the level.
		w = 1e-6 * max(1, float32(math.Abs(float64(wl.Level))))
	}
	return wl.Level - w/2, 255 / w
}

// greyOf is the window/level mapping on the rendering hot path. For float
// intensities a lookup table would need this same arithmetic to find its
// index, so the mapping is computed directly: exact, and no table to keep.
func greyOf(x, lo, k float32) uint8 {
	g := (x-lo)*k + 0.5
	if g >= 255 {
		return 255
	}
	if g > 0 {
		return uint8(g)
	}
	return 0 // also NaN
}

// AdjustWindowLevel is the window/level after a right-button drag of
// (dx, dy) screen units that started at wl: dragging right widens the window
// (less contrast) by a factor e per 200 units, dragging up lowers the level
// (brighter) by one window per 200 units. Starting from the value at
// mouse-down rather than accumulating steps keeps a long drag reversible.
func AdjustWindowLevel(start WindowLevel, dx, dy float64) WindowLevel {
	w := float64(start.Window)
	if !(w > 0) || math.IsInf(w, 0) {
		w = 1
	}
	return WindowLevel{
		Window: float32(w * math.Exp(dx/200)),
		Level:  start.Level + float32(dy*w/200),
	}
}

// Histogram summarises the intensities of a volume's foreground (non-zero
// voxels, inside a mask when one is given) for automatic windowing. Build it
// once per sequence; percentiles are then free.
type Histogram struct {
	Lo, Hi float32 // finite foreground range
	Counts []int64 // equal-width bins over [Lo, Hi]
	Total  int64
}

const histBins = 4096

// NewHistogram counts the non-zero finite voxels of v (only those where mask
// is non-zero, when mask is non-nil and on v's grid dimensions).
func NewHistogram(v *volume.Volume, mask *volume.Label) Histogram {
	h := Histogram{Counts: make([]int64, histBins)}
	if v == nil {
		return h
	}
	if mask != nil && (mask.Dims != v.Dims || len(mask.Data) != len(v.Data)) {
		mask = nil
	}
	use := func(i int, x float32) bool {
		if x == 0 || x != x || math.IsInf(float64(x), 0) {
			return false
		}
		return mask == nil || mask.Data[i] != 0
	}
	first := true
	for i, x := range v.Data {
		if !use(i, x) {
			continue
		}
		if first {
			h.Lo, h.Hi, first = x, x, false
		} else if x < h.Lo {
			h.Lo = x
		} else if x > h.Hi {
			h.Hi = x
		}
	}
	if first {
		return h
	}
	width := float64(h.Hi) - float64(h.Lo)
	scale := 0.0
	if width > 0 {
		scale = histBins / width
	}
	for i, x := range v.Data {
		if !use(i, x) {
			continue
		}
		b := int((float64(x) - float64(h.Lo)) * scale)
		if b >= histBins {
			b = histBins - 1
		}
		h.Counts[b]++
		h.Total++
	}
	return h
}

// Percentile returns the intensity below which a fraction q (0..1) of the
// counted voxels lie, interpolated within a bin.
func (h Histogram) Percentile(q float64) float32 {
	if h.Total == 0 {
		return 0
	}
	q = math.Max(0, math.Min(1, q))
	target := q * float64(h.Total)
	width := (float64(h.Hi) - float64(h.Lo)) / float64(len(h.Counts))
	var cum float64
	for b, c := range h.Counts {
		if c == 0 {
			continue
		}
		if cum+float64(c) >= target {
			frac := (target - cum) / float64(c)
			return float32(float64(h.Lo) + (float64(b)+frac)*width)
		}
		cum += float64(c)
	}
	return h.Hi
}

// Preset names an automatic window.
type Preset int

const (
	// PresetAuto spreads the 1st to 99.5th percentile of the brain: the
	// default, robust to a few very bright vessels or fat voxels.
	PresetAuto Preset = iota
	// PresetFull spreads the whole foreground range.
	PresetFull
	// PresetContrast spreads the 5th to 95th percentile: more contrast
	// between grey and white matter.
	PresetContrast
	// PresetEnhancing spreads the 40th to 99.9th percentile: dark tissue
	// goes black and bright enhancing lesions on T1c stand out.
	PresetEnhancing
)

// Presets lists every preset in menu order.
var Presets = []Preset{PresetAuto, PresetFull, PresetContrast, PresetEnhancing}

func (p Preset) String() string {
	switch p {
	case PresetAuto:
		return "Auto (1-99.5 %)"
	case PresetFull:
		return "Full range"
	case PresetContrast:
		return "Contrast (5-95 %)"
	case PresetEnhancing:
		return "Enhancing (40-99.9 %)"
	}
	return fmt.Sprintf("preset(%d)", int(p))
}

// Window computes the preset's window from a histogram. An empty histogram
// gives the window [0, 1]; a constant image gives a window of width 1 around
// its value.
func (h Histogram) Window(p Preset) WindowLevel {
	var qlo, qhi float64
	switch p {
	case PresetFull:
		qlo, qhi = 0, 1
	case PresetContrast:
		qlo, qhi = 0.05, 0.95
	case PresetEnhancing:
		qlo, qhi = 0.40, 0.999
	default:
		qlo, qhi = 0.01, 0.995
	}
	if h.Total == 0 {
		return WindowLevel{Window: 1, Level: 0.5}
	}
	lo, hi := h.Percentile(qlo), h.Percentile(qhi)
	if p == PresetFull {
		lo, hi = h.Lo, h.Hi
	}
	if !(hi > lo) {
		return WindowLevel{Window: 1, Level: lo}
	}
	return FromRange(lo, hi)
}

// AutoWindow is the default window of a sequence: the 1st to 99.5th
// percentile of its non-zero voxels (inside mask, the brain, when given).
func AutoWindow(v *volume.Volume, mask *volume.Label) WindowLevel {
	return NewHistogram(v, mask).Window(PresetAuto)
}

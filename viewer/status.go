package viewer

import (
	"math"
	"strconv"
	"strings"

	"metascope/volume"
)

// NamedVolume is an image to report in the status text (for example the
// four sequences, resampled into the reference grid).
type NamedVolume struct {
	Name string
	Vol  *volume.Volume
}

// StatusText describes voxel vox of reference grid g for the status bar: the
// voxel indices, its RAS position in mm, the intensity of each image and the
// value of each label or probability overlay there, for example
//
//	voxel 112,140,77  RAS -3.2,12.0,41.5 mm  T1 812  T2 1034  T1c 1420  FLAIR 655  Reader A 1  AI 0.87
//
// Images or overlays that are nil or not on g's dimensions show "-". A voxel
// outside the grid gives "outside the image".
func StatusText(g volume.Grid, vox [3]int, images []NamedVolume, overlays []Overlay) string {
	if !g.Contains(vox[0], vox[1], vox[2]) {
		return "outside the image"
	}
	var b strings.Builder
	b.WriteString("voxel ")
	for i, x := range vox {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(x))
	}
	ras := g.VoxelToWorld([3]float64{float64(vox[0]), float64(vox[1]), float64(vox[2])})
	b.WriteString("  RAS ")
	for i, x := range ras {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(fmtFloat(x, 1))
	}
	b.WriteString(" mm")
	idx := g.Index(vox[0], vox[1], vox[2])
	for _, im := range images {
		b.WriteString("  ")
		b.WriteString(im.Name)
		b.WriteByte(' ')
		if im.Vol == nil || im.Vol.Dims != g.Dims || len(im.Vol.Data) != g.Len() {
			b.WriteByte('-')
			continue
		}
		b.WriteString(FormatIntensity(im.Vol.Data[idx]))
	}
	for _, o := range overlays {
		b.WriteString("  ")
		b.WriteString(o.Name)
		b.WriteByte(' ')
		switch {
		case !o.fits(g):
			b.WriteByte('-')
		case o.Label != nil:
			b.WriteString(strconv.Itoa(int(o.Label.Data[idx])))
		default:
			b.WriteString(fmtFloat(float64(o.Prob.Data[idx]), 2))
		}
	}
	return b.String()
}

// FormatIntensity prints an intensity with as many decimals as its size
// deserves: whole numbers for scanner units, two or three decimals for
// z-scored images.
func FormatIntensity(x float32) string {
	f := float64(x)
	a := math.Abs(f)
	switch {
	case f != f:
		return "NaN"
	case math.IsInf(f, 0):
		return strconv.FormatFloat(f, 'f', -1, 64)
	case f == math.Trunc(f) || a >= 1000:
		return fmtFloat(f, 0)
	case a >= 10:
		return fmtFloat(f, 1)
	case a >= 1:
		return fmtFloat(f, 2)
	default:
		return fmtFloat(f, 3)
	}
}

// fmtFloat formats x with prec decimals, never as a negative zero ("-0.0").
func fmtFloat(x float64, prec int) string {
	s := strconv.FormatFloat(x, 'f', prec, 64)
	if strings.HasPrefix(s, "-") && strings.Trim(s[1:], "0.") == "" {
		return s[1:]
	}
	return s
}

package ptest

import (
	"math"

	"metascope/preprocess/internal/imgops"
	"metascope/volume"
)

// Misaligned returns src as seen by a scanner whose world differs by the
// rigid transform truth (truth maps src world mm to the new image's world
// mm), sampled on a grid with the given voxel size and the axes of src's
// grid, covering the same field of view. Slice thickness is simulated by
// sampling at 1 mm (or src's spacing) and block-averaging, so a 5 mm axis
// carries the partial-volume blur of a real 2D acquisition.
func Misaligned(src *volume.Volume, truth volume.Affine, spacing [3]float64) *volume.Volume {
	inv, err := truth.Inverse()
	if err != nil {
		panic(err)
	}
	sp := src.Spacing()
	// Fine grid: src's spacing, same axes.
	fine := src.Grid
	img := volume.ResampleTransformed(src, fine, inv, volume.Linear)
	var f [3]int
	for a := 0; a < 3; a++ {
		f[a] = max(1, int(math.Round(spacing[a]/sp[a])))
	}
	if f == [3]int{1, 1, 1} {
		return img
	}
	return imgops.ShrinkVolume(img, f)
}

// Invert maps intensities x to hi - x over the whole image: a contrast
// inversion, as between T1 and T2.
func Invert(v *volume.Volume) *volume.Volume {
	_, hi := v.Range()
	out := v.Clone()
	for i, x := range out.Data {
		out.Data[i] = hi - x
	}
	return out
}

// BrainPoints returns world points of the voxels of mask (every step-th),
// for measuring registration error over the brain.
func BrainPoints(mask []bool, g volume.Grid, step int) [][3]float64 {
	var pts [][3]float64
	c := 0
	for idx, in := range mask {
		if !in {
			continue
		}
		if c%step == 0 {
			i, j, k := g.Coords(idx)
			pts = append(pts, g.VoxelToWorld([3]float64{float64(i), float64(j), float64(k)}))
		}
		c++
	}
	return pts
}

// LostVoxels counts label voxels outside mask.
func LostVoxels(mask, label *volume.Label) int {
	m := imgops.MaskToBool(mask)
	n := 0
	for i, l := range label.Data {
		if l != 0 && !m[i] {
			n++
		}
	}
	return n
}

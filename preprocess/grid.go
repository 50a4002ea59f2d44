package preprocess

import (
	"fmt"
	"math"

	"metascope/preprocess/internal/imgops"
	"metascope/volume"
)

// OutputGrid is the grid the model works on: isotropic spacing mm, axes
// those of the reference image's grid reordered and flipped to the closest
// RAS (so no rotation is introduced and "up" is up), covering the
// reference's head (an Otsu head mask) plus margin mm on every side, and
// never more than the reference's field of view.
func OutputGrid(ref *volume.Volume, spacing, margin float64) (volume.Grid, error) {
	head, err := imgops.HeadMask(imgops.ShrinkVolume(ref, imgops.FactorsFor(ref.Spacing(), 2)))
	if err != nil {
		return volume.Grid{}, fmt.Errorf("output grid: %w", err)
	}
	coarse := imgops.ShrinkGrid(ref.Grid, imgops.FactorsFor(ref.Spacing(), 2),
		shrunkDims(ref.Dims, imgops.FactorsFor(ref.Spacing(), 2)))
	// Unit directions of the reference axes, reordered to RAS.
	canon := volume.Canonical(&volume.Volume{Grid: volume.Grid{Dims: [3]int{1, 1, 1}, Affine: ref.Affine}, Data: []float32{0}})
	dir := canon.Affine.Direction() // column c: world direction of output axis c
	// Extent of the head along each output axis (projections of the head
	// voxels' corners), clipped to the reference field of view.
	var lo, hi, flo, fhi [3]float64
	for a := 0; a < 3; a++ {
		lo[a], hi[a] = math.Inf(1), math.Inf(-1)
		flo[a], fhi[a] = math.Inf(1), math.Inf(-1)
	}
	proj := func(w [3]float64, a int) float64 { return w[0]*dir[0][a] + w[1]*dir[1][a] + w[2]*dir[2][a] }
	n := 0
	for idx, in := range head {
		if !in {
			continue
		}
		n++
		i, j, k := coarse.Coords(idx)
		w := coarse.VoxelToWorld([3]float64{float64(i), float64(j), float64(k)})
		for a := 0; a < 3; a++ {
			p := proj(w, a)
			lo[a] = math.Min(lo[a], p)
			hi[a] = math.Max(hi[a], p)
		}
	}
	if n == 0 {
		return volume.Grid{}, fmt.Errorf("output grid: the reference image has no head")
	}
	for c := 0; c < 8; c++ {
		v := [3]float64{0, 0, 0}
		for a := 0; a < 3; a++ {
			if c&(1<<a) != 0 {
				v[a] = float64(ref.Dims[a] - 1)
			}
		}
		w := ref.VoxelToWorld(v)
		for a := 0; a < 3; a++ {
			p := proj(w, a)
			flo[a] = math.Min(flo[a], p)
			fhi[a] = math.Max(fhi[a], p)
		}
	}
	var g volume.Grid
	g.Affine = volume.Identity()
	var origin [3]float64 // in output-axis coordinates
	for a := 0; a < 3; a++ {
		l := math.Max(lo[a]-margin, flo[a])
		h := math.Min(hi[a]+margin, fhi[a])
		g.Dims[a] = max(1, int(math.Floor((h-l)/spacing))+1)
		origin[a] = l
	}
	// Affine: column a = spacing * dir[:, a]; origin = sum origin[a] dir[:, a].
	for r := 0; r < 3; r++ {
		for a := 0; a < 3; a++ {
			g.Affine[r][a] = spacing * dir[r][a]
		}
		g.Affine[r][3] = origin[0]*dir[r][0] + origin[1]*dir[r][1] + origin[2]*dir[r][2]
	}
	if err := g.Validate(); err != nil {
		return volume.Grid{}, fmt.Errorf("output grid: %w", err)
	}
	return g, nil
}

func shrunkDims(d [3]int, f [3]int) [3]int {
	return [3]int{(d[0] + f[0] - 1) / f[0], (d[1] + f[1] - 1) / f[1], (d[2] + f[2] - 1) / f[2]}
}

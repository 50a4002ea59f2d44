package lesion

import (
	"math"
	"math/rand/v2"

	"metascope/volume"
)

// This file holds the obviously correct slow implementations the fast code
// is checked against (as image/draw's tests do), and generators of
// realistic label maps.

// offsets lists the neighbour offsets of a connectivity.
func offsets(conn Connectivity) [][3]int {
	var out [][3]int
	for dk := -1; dk <= 1; dk++ {
		for dj := -1; dj <= 1; dj++ {
			for di := -1; di <= 1; di++ {
				n := abs(di) + abs(dj) + abs(dk)
				if n == 0 {
					continue
				}
				if (conn == Conn6 && n > 1) || (conn == Conn18 && n > 2) {
					continue
				}
				out = append(out, [3]int{di, dj, dk})
			}
		}
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// slowLabels labels components by breadth-first flood fill, numbering them
// in raster order of their first voxel, as Components promises.
func slowLabels(l *volume.Label, conn Connectivity) ([]int32, int) {
	labels := make([]int32, len(l.Data))
	offs := offsets(conn)
	n := int32(0)
	for idx, x := range l.Data {
		if x == 0 || labels[idx] != 0 {
			continue
		}
		n++
		labels[idx] = n
		queue := []int{idx}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			i, j, k := l.Coords(cur)
			for _, o := range offs {
				a, b, c := i+o[0], j+o[1], k+o[2]
				if !l.Contains(a, b, c) {
					continue
				}
				nb := l.Index(a, b, c)
				if l.Data[nb] != 0 && labels[nb] == 0 {
					labels[nb] = n
					queue = append(queue, nb)
				}
			}
		}
	}
	return labels, int(n)
}

// slowStats computes component statistics voxel by voxel.
func slowStats(l *volume.Label, labels []int32, n int, prob *volume.Volume) []Component {
	comps := make([]Component, n)
	for c := range comps {
		comps[c].ID = c + 1
		comps[c].BBoxMin = [3]int{1 << 30, 1 << 30, 1 << 30}
		comps[c].BBoxMax = [3]int{-1, -1, -1}
		comps[c].MaxProb = math.Inf(-1)
	}
	sums := make([][3]float64, n)
	psum := make([]float64, n)
	for idx, id := range labels {
		if id == 0 {
			continue
		}
		c := &comps[id-1]
		i, j, k := l.Coords(idx)
		c.Voxels++
		for a, v := range [3]int{i, j, k} {
			sums[id-1][a] += float64(v)
			c.BBoxMin[a] = min(c.BBoxMin[a], v)
			c.BBoxMax[a] = max(c.BBoxMax[a], v)
		}
		if prob != nil {
			p := float64(prob.Data[idx])
			psum[id-1] += p
			c.MaxProb = math.Max(c.MaxProb, p)
		}
	}
	for x := range comps {
		c := &comps[x]
		for a := range 3 {
			c.CentroidVoxel[a] = sums[x][a] / float64(c.Voxels)
		}
		c.CentroidRAS = l.VoxelToWorld(c.CentroidVoxel)
		c.VolumeCM3 = float64(c.Voxels) * l.VoxelVolumeMM3() / 1000
		if prob != nil {
			c.MeanProb = psum[x] / float64(c.Voxels)
		} else {
			c.MaxProb, c.MeanProb = math.NaN(), math.NaN()
		}
	}
	return comps
}

// naiveCounts is an independent lesion matching: voxel sets by brute force.
type naiveResult struct {
	tp, fn, fp int
	dice       map[int]float64 // per detected reference lesion ID
}

func naiveMatch(ref, test *volume.Label, conn Connectivity) naiveResult {
	rl, nr := slowLabels(ref, conn)
	tl, nt := slowLabels(test, conn)
	res := naiveResult{dice: map[int]float64{}}
	testHitsRef := make([]bool, nt+1)
	for r := 1; r <= nr; r++ {
		overl := map[int32]bool{}
		size := 0
		for idx, id := range rl {
			if id == int32(r) {
				size++
				if tl[idx] != 0 {
					overl[tl[idx]] = true
				}
			}
		}
		if len(overl) == 0 {
			res.fn++
			continue
		}
		res.tp++
		inter, usize := 0, 0
		for idx, t := range tl {
			if overl[t] {
				usize++
				if rl[idx] == int32(r) {
					inter++
				}
			}
		}
		res.dice[r] = 2 * float64(inter) / float64(size+usize)
		for t := range overl {
			testHitsRef[t] = true
		}
	}
	for t := 1; t <= nt; t++ {
		if !testHitsRef[t] {
			res.fp++
		}
	}
	return res
}

// grid returns an isotropic 1 mm grid with its origin at 0.
func grid(nx, ny, nz int) volume.Grid {
	return volume.Grid{Dims: [3]int{nx, ny, nz}, Affine: volume.Identity()}
}

// box sets the inclusive voxel box [lo, hi] to v.
func box(l *volume.Label, lo, hi [3]int, v uint8) {
	for k := lo[2]; k <= hi[2]; k++ {
		for j := lo[1]; j <= hi[1]; j++ {
			for i := lo[0]; i <= hi[0]; i++ {
				l.Set(i, j, k, v)
			}
		}
	}
}

// blobs draws n lesion-like blobs: ellipsoids with a noisy surface (radius
// perturbed per voxel), radii from rmin to rmax voxels, anywhere in the
// volume including its border, some overlapping each other.
func blobs(l *volume.Label, rng *rand.Rand, n int, rmin, rmax float64) {
	for range n {
		var c, r [3]float64
		for a := range 3 {
			c[a] = rng.Float64() * float64(l.Dims[a])
			r[a] = rmin + rng.Float64()*(rmax-rmin)
		}
		lo, hi := [3]int{}, [3]int{}
		for a := range 3 {
			lo[a] = max(0, int(c[a]-r[a]-2))
			hi[a] = min(l.Dims[a]-1, int(c[a]+r[a]+2))
		}
		for k := lo[2]; k <= hi[2]; k++ {
			for j := lo[1]; j <= hi[1]; j++ {
				for i := lo[0]; i <= hi[0]; i++ {
					d := 0.0
					for a, v := range [3]int{i, j, k} {
						x := (float64(v) - c[a]) / r[a]
						d += x * x
					}
					if d <= 1+0.35*(rng.Float64()-0.5) {
						l.Set(i, j, k, 1)
					}
				}
			}
		}
	}
}

// speckle sets a fraction of random voxels (single-voxel noise, diagonal
// contacts: the hard cases for connectivity).
func speckle(l *volume.Label, rng *rand.Rand, frac float64) {
	for i := range l.Data {
		if rng.Float64() < frac {
			l.Data[i] = uint8(1 + rng.IntN(3))
		}
	}
}

// perturb makes a "prediction" from a truth: each blob eroded or dilated a
// little at random, some lesions dropped, some false positives added.
func perturb(truth *volume.Label, rng *rand.Rand) *volume.Label {
	p := truth.Clone()
	nx, ny, nz := truth.Dims[0], truth.Dims[1], truth.Dims[2]
	// Random boundary noise: flip voxels next to a boundary.
	for k := 0; k < nz; k++ {
		for j := 0; j < ny; j++ {
			for i := 0; i < nx-1; i++ {
				a, b := truth.At(i, j, k), truth.At(i+1, j, k)
				if (a == 0) != (b == 0) && rng.Float64() < 0.5 {
					if rng.Float64() < 0.5 {
						p.Set(i, j, k, 1)
						p.Set(i+1, j, k, 1)
					} else {
						p.Set(i, j, k, 0)
						p.Set(i+1, j, k, 0)
					}
				}
			}
		}
	}
	// Drop two random slabs (misses), add false positives.
	for range 2 {
		k0 := rng.IntN(nz)
		for j := 0; j < ny; j++ {
			for i := 0; i < nx; i++ {
				for k := k0; k < min(nz, k0+5); k++ {
					p.Set(i, j, k, 0)
				}
			}
		}
	}
	blobs(p, rng, 3, 1, 3)
	speckle(p, rng, 0.0001)
	return p
}

// naivePrune removes flood-filled components under minCM3, voxel by voxel.
func naivePrune(l *volume.Label, minCM3 float64, conn Connectivity) *volume.Label {
	labels, n := slowLabels(l, conn)
	size := make([]int, n+1)
	for _, id := range labels {
		size[id]++
	}
	out := l.Clone()
	for idx, id := range labels {
		if id != 0 && float64(size[id])*l.VoxelVolumeMM3()/1000 < minCM3*(1-1e-9) {
			out.Data[idx] = 0
		}
	}
	return out
}

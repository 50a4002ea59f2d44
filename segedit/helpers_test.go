package segedit

import (
	"math"
	"sync"
	"testing"

	"metascope/internal/testdata"
	"metascope/volume"
	"metascope/volume/nifti"
)

// anisoGrid is a small grid with thick slices (0.8 x 1.1 x 3 mm), as a 2D
// FLAIR acquisition has, with a non-zero origin.
func anisoGrid(dims [3]int) volume.Grid {
	return volume.Grid{Dims: dims, Affine: volume.Diagonal([3]float64{0.8, 1.1, 3}, [3]float64{-20, 7, 30})}
}

// obliqueGrid is rotated about two axes and stored LPS-like with flipped
// axes, so that voxel-space distances differ from mm distances in every way
// an affine allows.
func obliqueGrid(dims [3]int) volume.Grid {
	rot := volume.RigidTransform([3]float64{0.3, -0.2, 0.5}, [3]float64{4, -3, 2}, [3]float64{})
	scale := volume.Diagonal([3]float64{-0.9, -1.2, 2.5}, [3]float64{})
	return volume.Grid{Dims: dims, Affine: rot.Mul(scale)}
}

// mmDist is the obviously correct distance between two voxels in mm.
func mmDist(g volume.Grid, a [3]int, b [3]float64) float64 {
	pa := g.VoxelToWorld(toF(a))
	pb := g.VoxelToWorld(b)
	return math.Sqrt((pa[0]-pb[0])*(pa[0]-pb[0]) + (pa[1]-pb[1])*(pa[1]-pb[1]) + (pa[2]-pb[2])*(pa[2]-pb[2]))
}

// modifierSet lists the voxels a modifier selects, as a whole-grid mask.
func modifierSet(g volume.Grid, m Modifier) []bool {
	out := make([]bool, g.Len())
	mi := 0
	for k := m.Box.Min[2]; k < m.Box.Max[2]; k++ {
		for j := m.Box.Min[1]; j < m.Box.Max[1]; j++ {
			for i := m.Box.Min[0]; i < m.Box.Max[0]; i++ {
				if m.Mask[mi] {
					out[g.Index(i, j, k)] = true
				}
				mi++
			}
		}
	}
	return out
}

// mniHead reads the real MNI head (182 x 218 x 182, 1 mm, LAS).
func mniHead(t testing.TB) *volume.Volume {
	t.Helper()
	p := testdata.MNIHead(t)
	v, err := mniCache(p)
	if err != nil {
		t.Fatalf("read MNI head: %v", err)
	}
	return v
}

var (
	mniMu  sync.Mutex
	mniVol *volume.Volume
)

func mniCache(path string) (*volume.Volume, error) {
	mniMu.Lock()
	defer mniMu.Unlock()
	if mniVol != nil {
		return mniVol, nil
	}
	v, err := nifti.ReadVolume(path)
	if err != nil {
		return nil, err
	}
	mniVol = v
	return v, nil
}

func sameBytes(t *testing.T, what string, got, want *volume.Label) {
	t.Helper()
	if len(got.Data) != len(want.Data) {
		t.Fatalf("%s: %d voxels, want %d", what, len(got.Data), len(want.Data))
	}
	for i := range got.Data {
		if got.Data[i] != want.Data[i] {
			x, y, z := got.Coords(i)
			t.Fatalf("%s: voxel (%d,%d,%d) is %d, want %d", what, x, y, z, got.Data[i], want.Data[i])
		}
	}
}

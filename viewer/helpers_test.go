package viewer

import (
	"image"
	"image/color"
	"math"
	"sync"
	"testing"

	"metascope/internal/testdata"
	"metascope/volume"
	"metascope/volume/nifti"
)

// worldBox describes a block of space sampled on a voxel lattice, given per
// world axis (x = R, y = A, z = S): how many voxels, their size, and the
// world position of the lowest voxel centre. codedGrid stores the same
// lattice with any axis codes, so that one anatomy can be written in RAS,
// LPS or a sagittal storage order and must look the same on screen.
type worldBox struct {
	n    [3]int
	sp   [3]float64
	bmin [3]float64
}

// centre is the world position of the middle of the box.
func (b worldBox) centre() [3]float64 {
	var c [3]float64
	for w := 0; w < 3; w++ {
		c[w] = b.bmin[w] + float64(b.n[w]-1)/2*b.sp[w]
	}
	return c
}

// world is the position of the voxel with world-ordered indices ix.
func (b worldBox) world(ix [3]int) [3]float64 {
	var p [3]float64
	for w := 0; w < 3; w++ {
		p[w] = b.bmin[w] + float64(ix[w])*b.sp[w]
	}
	return p
}

// codedGrid stores box b with voxel axes along the given axis codes (for
// example "LPS": voxel axis 0 runs to patient left).
func codedGrid(t testing.TB, codes string, b worldBox) volume.Grid {
	t.Helper()
	var g volume.Grid
	g.Affine[3][3] = 1
	for c := 0; c < 3; c++ {
		w, s := letterAxis(codes[c])
		g.Dims[c] = b.n[w]
		g.Affine[w][c] = float64(s) * b.sp[w]
		if s > 0 {
			g.Affine[w][3] = b.bmin[w]
		} else {
			g.Affine[w][3] = b.bmin[w] + float64(b.n[w]-1)*b.sp[w]
		}
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := g.Affine.AxisCodes(); got != codes {
		t.Fatalf("built grid has axis codes %s, want %s", got, codes)
	}
	return g
}

func letterAxis(l byte) (w, s int) {
	switch l {
	case 'R':
		return 0, 1
	case 'L':
		return 0, -1
	case 'A':
		return 1, 1
	case 'P':
		return 1, -1
	case 'S':
		return 2, 1
	case 'I':
		return 2, -1
	}
	panic("bad axis letter")
}

// voxelOf returns the voxel of g holding the world-ordered box index ix.
func voxelOf(t testing.TB, g volume.Grid, b worldBox, ix [3]int) [3]int {
	t.Helper()
	c, err := g.WorldToVoxel(b.world(ix))
	if err != nil {
		t.Fatal(err)
	}
	var v [3]int
	for a := 0; a < 3; a++ {
		v[a] = int(math.Round(c[a]))
		if math.Abs(c[a]-float64(v[a])) > 1e-6 {
			t.Fatalf("box index %v is not on a voxel centre of %v", ix, g)
		}
	}
	return v
}

var mniCache struct {
	sync.Mutex
	vol *volume.Volume
}

// mniHead loads the real MNI head (182 x 218 x 182, 1 mm, axis codes LAS),
// once per test binary; tests must not change it.
func mniHead(t testing.TB) *volume.Volume {
	t.Helper()
	mniCache.Lock()
	defer mniCache.Unlock()
	if mniCache.vol == nil {
		v, err := nifti.ReadVolume(testdata.MNIHead(t))
		if err != nil {
			t.Fatal(err)
		}
		mniCache.vol = v
	}
	return mniCache.vol
}

// sphereLabel labels the voxels of g within radius mm of world point c.
func sphereLabel(g volume.Grid, c [3]float64, radius float64, value uint8) *volume.Label {
	l := volume.NewLabel(g)
	// Only voxels within radius / (smallest spacing) of the centre's voxel
	// can be inside, whatever the rotation of the grid.
	cv, err := g.WorldToVoxel(c)
	if err != nil {
		panic(err)
	}
	sp := g.Spacing()
	r := int(radius/min(sp[0], sp[1], sp[2])) + 2
	var lo, hi [3]int
	for a := 0; a < 3; a++ {
		lo[a] = max(0, int(cv[a])-r)
		hi[a] = min(g.Dims[a], int(cv[a])+r+1)
	}
	for k := lo[2]; k < hi[2]; k++ {
		for j := lo[1]; j < hi[1]; j++ {
			for i := lo[0]; i < hi[0]; i++ {
				p := g.VoxelToWorld([3]float64{float64(i), float64(j), float64(k)})
				d := math.Hypot(math.Hypot(p[0]-c[0], p[1]-c[1]), p[2]-c[2])
				if d <= radius {
					l.Data[g.Index(i, j, k)] = value
				}
			}
		}
	}
	return l
}

func nrgbaAt(img *image.RGBA, x, y int) color.NRGBA {
	c := img.RGBAAt(x, y)
	return color.NRGBA{R: c.R, G: c.G, B: c.B, A: c.A}
}

// brightCentroid is the centre of the pixels whose red channel exceeds
// thresh, and their count.
func brightCentroid(img *image.RGBA, thresh uint8) (x, y float64, n int) {
	b := img.Rect
	for py := b.Min.Y; py < b.Max.Y; py++ {
		for px := b.Min.X; px < b.Max.X; px++ {
			if img.RGBAAt(px, py).R > thresh {
				x += float64(px) + 0.5
				y += float64(py) + 0.5
				n++
			}
		}
	}
	if n > 0 {
		x /= float64(n)
		y /= float64(n)
	}
	return x, y, n
}

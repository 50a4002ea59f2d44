package inference

import (
	"context"
	"fmt"
	"slices"

	"metascope/inference/nn"
	"metascope/job"
	"metascope/volume"
)

// DefaultSegment is the output edge of an inference tile (the study used
// 45^3; tiles here must be multiples of Geometry.Align, 6). Larger tiles
// lose less to the margins (an output of 45^3 needs 93^3 of input) but need
// more memory and fit the brain's outline less closely: on a full 1 mm
// brain one fold took 19.4 CPU-s at 48, 18.0 at 60, 19.1 at 72 and 22.5 at
// 96, with peak memory 0.9, 1.4, 1.8 and 3.9 GB (BenchmarkBrain, one fold
// in the process); 60 is in the sweet spot.
const DefaultSegment = 60

// BoundingBox returns the inclusive voxel bounds of the non-zero voxels of
// l, and false when there are none.
func BoundingBox(l *volume.Label) (lo, hi [3]int, ok bool) {
	lo = l.Dims
	hi = [3]int{-1, -1, -1}
	nx, ny := l.Dims[0], l.Dims[1]
	for idx, v := range l.Data {
		if v == 0 {
			continue
		}
		c := [3]int{idx % nx, (idx / nx) % ny, idx / (nx * ny)}
		for a := 0; a < 3; a++ {
			lo[a] = min(lo[a], c[a])
			hi[a] = max(hi[a], c[a])
		}
	}
	return lo, hi, hi[0] >= 0
}

func checkInputs(inputs []*volume.Volume, mask *volume.Label, channels int) error {
	if len(inputs) != channels {
		return fmt.Errorf("%d input volumes, the network takes %d", len(inputs), channels)
	}
	if mask == nil {
		return fmt.Errorf("no brain mask")
	}
	for i, v := range inputs {
		if v == nil {
			return fmt.Errorf("input %d (%v) is missing", i, volume.Sequence(i))
		}
		if !v.Grid.SameGeometry(mask.Grid, 1e-3) {
			return fmt.Errorf("input %d (%v) has grid %v, the brain mask %v", i, volume.Sequence(i), v.Dims, mask.Dims)
		}
		if len(v.Data) != v.Len() {
			return fmt.Errorf("input %d (%v): %d voxels for dims %v", i, volume.Sequence(i), len(v.Data), v.Dims)
		}
	}
	if len(mask.Data) != mask.Len() {
		return fmt.Errorf("brain mask: %d voxels for dims %v", len(mask.Data), mask.Dims)
	}
	return nil
}

// PredictProb runs one network densely over the bounding box of the brain
// mask, block by block as Plan lists them, and returns the lesion
// probability on the inputs' grid (zero outside the mask). Inputs are the
// preprocessed, z-scored sequences in the network's channel order, all on
// the mask's grid. seg is the tile's output edge (a multiple of the
// network's Factor).
func PredictProb(ctx context.Context, n *Network, inputs []*volume.Volume, mask *volume.Label, seg int, progress job.Progress) (*volume.Volume, error) {
	if err := checkInputs(inputs, mask, n.Config.InChannels); err != nil {
		return nil, err
	}
	prob := volume.New(mask.Grid)
	geo := n.Geometry()
	blocks, err := Plan(mask, seg, geo)
	if err != nil {
		return nil, err
	}
	var buf buffers
	for ti, t := range blocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		progress.Report("network", float64(ti)/float64(len(blocks)))
		if err := predictBlock(n, inputs, mask, t, prob, &buf); err != nil {
			return nil, err
		}
	}
	progress.Report("network", 1)
	return prob, nil
}

// predictBlock runs n on block t, with buf's spare activation memory, and
// writes its output voxels inside the mask into prob. Blocks of one Plan write disjoint voxels, so several
// blocks may be predicted into one map at once.
func predictBlock(n *Network, inputs []*volume.Volume, mask *volume.Label, t Block, prob *volume.Volume, buf *buffers) error {
	M := n.Geometry().Margin
	org, end := t.Origin, t.End
	x := nn.New(1, len(inputs), t.Size[2]+2*M, t.Size[1]+2*M, t.Size[0]+2*M)
	for c, v := range inputs {
		extract(x.Data[c*x.Len()/len(inputs):(c+1)*x.Len()/len(inputs)], v, [3]int{org[0] - M, org[1] - M, org[2] - M},
			[3]int{t.Size[0] + 2*M, t.Size[1] + 2*M, t.Size[2] + 2*M})
	}
	// Only rows with brain voxels are read below: the network may skip
	// the rest of the block (its corners are mostly air).
	sx, sy := t.Size[0], t.Size[1]
	want := make([]bool, t.Size[2]*sy)
	for k := org[2]; k < end[2]; k++ {
		for j := org[1]; j < end[1]; j++ {
			row := mask.Data[mask.Index(org[0], j, k):][:end[0]-org[0]]
			want[(k-org[2])*sy+j-org[1]] = slices.ContainsFunc(row, func(v uint8) bool { return v != 0 })
		}
	}
	y, err := n.forwardRows(x, want, buf)
	if err != nil {
		return fmt.Errorf("block at %v: %w", org, err)
	}
	for k := org[2]; k < end[2]; k++ {
		for j := org[1]; j < end[1]; j++ {
			for i := org[0]; i < end[0]; i++ {
				idx := mask.Index(i, j, k)
				if mask.Data[idx] != 0 {
					prob.Data[idx] = y.Data[((k-org[2])*sy+j-org[1])*sx+i-org[0]]
				}
			}
		}
	}
	return nil
}

// Block is one network pass of a prediction, in volume voxels: the output
// block [Origin, Origin+Size) of which [Origin, End) is written (the rest
// lies outside the brain's box).
type Block struct {
	Origin, Size, End [3]int
}

// Plan lists the blocks PredictProb computes for a brain mask: the aligned
// Tiles of the mask's bounding box, each shrunk to the brain inside it with
// its corner kept on the Align grid of the box (a brain's corners are
// mostly air, and that alignment is all exactness needs), empty ones left
// out. It is a pure function of the mask, seg and the geometry.
func Plan(mask *volume.Label, seg int, geo Geometry) ([]Block, error) {
	lo, hi, ok := BoundingBox(mask)
	if !ok {
		return nil, nil
	}
	dims := [3]int{hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1}
	tiles, err := Tiles(dims, seg, geo)
	if err != nil {
		return nil, err
	}
	f, al := geo.Factor, geo.Align
	var out []Block
	for _, t := range tiles {
		var org, end [3]int
		for a := 0; a < 3; a++ {
			org[a] = lo[a] + t.Origin[a]
			end[a] = min(org[a]+t.Size[a], hi[a]+1)
		}
		mlo, mhi, ok := maskBox(mask, org, end)
		if !ok {
			continue
		}
		var b Block
		for a := 0; a < 3; a++ {
			b.Origin[a] = lo[a] + (mlo[a]-lo[a])/al*al
			b.Size[a] = (mhi[a] + 1 - b.Origin[a] + f - 1) / f * f
			b.End[a] = mhi[a] + 1
		}
		out = append(out, b)
	}
	return out, nil
}

// maskBox is the inclusive bounding box of the mask inside [org, end).
func maskBox(m *volume.Label, org, end [3]int) (lo, hi [3]int, ok bool) {
	lo, hi = end, org
	for k := org[2]; k < end[2]; k++ {
		for j := org[1]; j < end[1]; j++ {
			row := m.Data[m.Index(org[0], j, k):][:end[0]-org[0]]
			for i, v := range row {
				if v != 0 {
					ok = true
					lo = [3]int{min(lo[0], org[0]+i), min(lo[1], j), min(lo[2], k)}
					hi = [3]int{max(hi[0], org[0]+i), max(hi[1], j), max(hi[2], k)}
				}
			}
		}
	}
	return lo, hi, ok
}

// extract copies the block of v starting at org (volume voxels, may be
// outside) of size sz into dst laid out [k][j][i], zero outside the volume
// (z-scored intensities are 0 at the brain's mean, and preprocessing sets
// the outside of the brain to 0 too).
func extract(dst []float32, v *volume.Volume, org, sz [3]int) {
	clear(dst)
	for k := 0; k < sz[2]; k++ {
		vk := org[2] + k
		if vk < 0 || vk >= v.Dims[2] {
			continue
		}
		for j := 0; j < sz[1]; j++ {
			vj := org[1] + j
			if vj < 0 || vj >= v.Dims[1] {
				continue
			}
			i0, i1 := max(0, -org[0]), min(sz[0], v.Dims[0]-org[0])
			if i0 >= i1 {
				continue
			}
			copy(dst[(k*sz[1]+j)*sz[0]+i0:(k*sz[1]+j)*sz[0]+i1], v.Data[v.Index(org[0]+i0, vj, vk):])
		}
	}
}

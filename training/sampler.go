package training

import (
	"math/rand/v2"

	"metascope/inference/nn"
)

// Patch is one training sample's position: the voxel (on the preprocessed
// grid) its output block is centred on, whether that voxel is a lesion
// voxel, and its mirroring along x, y, z.
type Patch struct {
	Case   int // index into the list of cases it was drawn from
	Centre [3]int
	Lesion bool
	Flip   [3]bool
}

// drawPatch draws one patch from the samples (indexed as the caller's case
// indices in idx): a lesion centre with probability lesionFrac when any of
// them has lesion voxels, else a brain background centre; each axis
// flipped with probability flipProb. The draws are a fixed sequence of rng
// calls, so a seed fixes the patches.
func drawPatch(rng *rand.Rand, samples []*trainCase, idx []int, lesionFrac, flipProb float64) Patch {
	wantLesion := rng.Float64() < lesionFrac
	var withLesion []int
	if wantLesion {
		for i, s := range samples {
			if len(s.lesion) > 0 {
				withLesion = append(withLesion, i)
			}
		}
	}
	var p Patch
	var k int
	if len(withLesion) > 0 {
		k = withLesion[rng.IntN(len(withLesion))]
		s := samples[k]
		p.Lesion = true
		p.Centre = coords(s.Dims, s.lesion[rng.IntN(len(s.lesion))])
	} else {
		k = rng.IntN(len(samples))
		s := samples[k]
		p.Centre = coords(s.Dims, s.background[rng.IntN(len(s.background))])
	}
	p.Case = idx[k]
	for a := range p.Flip {
		p.Flip[a] = rng.Float64() < flipProb
	}
	return p
}

// extractPatch writes the input block (channels x S^3, S = out + 2*margin,
// zero outside the volume) and the target block (out^3) of patch p from s
// into x and y, which must have those lengths. Layout as the network's:
// channel, then z, y, x with x fastest. Flips mirror the blocks about their
// centre, input and target alike.
func extractPatch(x, y []float32, s *trainCase, p Patch, out, margin int) {
	S := out + 2*margin
	var org [3]int // input block origin in volume voxels
	for a := 0; a < 3; a++ {
		org[a] = p.Centre[a] - out/2 - margin
	}
	dims := s.Dims
	src := func(a, d, size, off int) int { // volume index along axis a of block index d
		if p.Flip[a] {
			d = size - 1 - d
		}
		return org[a] + off + d
	}
	for c, img := range s.Images {
		dst := x[c*S*S*S : (c+1)*S*S*S]
		copyBlock(dst, img, dims, S, 0, src)
	}
	copyLabelBlock(y, s.Label, dims, out, margin, src)
}

// copyBlock copies a size^3 block whose voxel along axis a at block index d
// is src(a, d, size, off), zero where it falls outside dims.
func copyBlock(dst, data []float32, dims [3]int, size, off int, src func(a, d, size, off int) int) {
	i := 0
	for dz := 0; dz < size; dz++ {
		k := src(2, dz, size, off)
		for dy := 0; dy < size; dy++ {
			j := src(1, dy, size, off)
			row := k >= 0 && k < dims[2] && j >= 0 && j < dims[1]
			for dx := 0; dx < size; dx++ {
				ii := src(0, dx, size, off)
				if row && ii >= 0 && ii < dims[0] {
					dst[i] = data[(k*dims[1]+j)*dims[0]+ii]
				} else {
					dst[i] = 0
				}
				i++
			}
		}
	}
}

func copyLabelBlock(dst []float32, data []uint8, dims [3]int, size, off int, src func(a, d, size, off int) int) {
	i := 0
	for dz := 0; dz < size; dz++ {
		k := src(2, dz, size, off)
		for dy := 0; dy < size; dy++ {
			j := src(1, dy, size, off)
			row := k >= 0 && k < dims[2] && j >= 0 && j < dims[1]
			for dx := 0; dx < size; dx++ {
				ii := src(0, dx, size, off)
				dst[i] = 0
				if row && ii >= 0 && ii < dims[0] && data[(k*dims[1]+j)*dims[0]+ii] != 0 {
					dst[i] = 1
				}
				i++
			}
		}
	}
}

// batch assembles the network input [N, C, S, S, S] and the target [N, 1,
// out, out, out] of patches drawn from samples (indexed by Patch.Case).
func batch(samples map[int]*trainCase, ps []Patch, channels, out, margin int) (x, y *nn.Tensor) {
	S := out + 2*margin
	x = nn.New(len(ps), channels, S, S, S)
	y = nn.New(len(ps), 1, out, out, out)
	nx, ny := channels*S*S*S, out*out*out
	for i, p := range ps {
		extractPatch(x.Data[i*nx:(i+1)*nx], y.Data[i*ny:(i+1)*ny], samples[p.Case], p, out, margin)
	}
	return x, y
}

func coords(dims [3]int, idx int32) [3]int {
	i := int(idx)
	return [3]int{i % dims[0], i / dims[0] % dims[1], i / (dims[0] * dims[1])}
}

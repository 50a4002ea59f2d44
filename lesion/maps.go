package lesion

import (
	"metascope/volume"
)

// Dice is the voxelwise Dice similarity coefficient 2|A ∩ B| / (|A| + |B|)
// of the non-zero voxels of two maps on the same grid. Two empty maps agree
// perfectly and score 1 (the BraTS convention); one empty map scores 0.
func Dice(a, b *volume.Label) float64 {
	mustSameGrid("Dice", a.Grid, b.Grid)
	var inter, na, nb int
	bd := b.Data[:len(a.Data)]
	for i, x := range a.Data {
		y := bd[i]
		if x != 0 {
			na++
			if y != 0 {
				inter++
			}
		}
		if y != 0 {
			nb++
		}
	}
	if na+nb == 0 {
		return 1
	}
	return 2 * float64(inter) / float64(na+nb)
}

// MajorityVote fuses binary maps (non-zero = lesion) of the same grid, as
// the study fused its 5 fold models: a voxel is lesion (1) when strictly
// more than half of the maps mark it (3 of 5; with an even count a tie is
// background). It panics on an empty list or differing grids.
func MajorityVote(maps []*volume.Label) *volume.Label {
	if len(maps) == 0 {
		panic("lesion.MajorityVote: no maps")
	}
	for _, m := range maps[1:] {
		mustSameGrid("MajorityVote", maps[0].Grid, m.Grid)
	}
	out := volume.NewLabel(maps[0].Grid)
	need := len(maps)/2 + 1
	votes := make([]uint8, len(out.Data))
	if len(maps) > 255 {
		panic("lesion.MajorityVote: more than 255 maps")
	}
	for _, m := range maps {
		d := m.Data[:len(votes)]
		for i, x := range d {
			if x != 0 {
				votes[i]++
			}
		}
	}
	for i, v := range votes {
		if int(v) >= need {
			out.Data[i] = 1
		}
	}
	return out
}

// MeanProbability averages probability maps of the same grid voxel by
// voxel (the soft alternative to majority voting: threshold the mean).
func MeanProbability(maps []*volume.Volume) *volume.Volume {
	if len(maps) == 0 {
		panic("lesion.MeanProbability: no maps")
	}
	for _, m := range maps[1:] {
		mustSameGrid("MeanProbability", maps[0].Grid, m.Grid)
	}
	out := volume.New(maps[0].Grid)
	for _, m := range maps {
		d := m.Data[:len(out.Data)]
		for i, x := range d {
			out.Data[i] += x
		}
	}
	inv := 1 / float32(len(maps))
	for i := range out.Data {
		out.Data[i] *= inv
	}
	return out
}

// Threshold marks (1) the voxels whose probability is at least t. NaN is
// never lesion.
func Threshold(p *volume.Volume, t float32) *volume.Label {
	out := volume.NewLabel(p.Grid)
	for i, x := range p.Data {
		if x >= t {
			out.Data[i] = 1
		}
	}
	return out
}

package inference

import "fmt"

// Tile is one output block of a tiling, in voxels relative to the tiled
// region's origin. Its input block is [Origin-Margin, Origin+Size+Margin).
type Tile struct {
	Origin, Size [3]int
}

// Tiles covers a region of dims with output blocks of edge seg. It is a pure
// function of dims, seg and the geometry: origins are multiples of seg,
// which must be a multiple of geo.Align, so that the low-resolution
// pathway's blocks (and the backend's Winograd pairs) sit on the same grid
// in every tile and the result equals one pass over the whole region bit
// for bit; the last block along an axis is shrunk
// to the remainder rounded up to a multiple of Factor (voxels past the
// region are computed and dropped).
func Tiles(dims [3]int, seg int, geo Geometry) ([]Tile, error) {
	if seg <= 0 || seg%geo.Align != 0 {
		return nil, fmt.Errorf("segment %d: must be a positive multiple of %d", seg, geo.Align)
	}
	for a, d := range dims {
		if d <= 0 {
			return nil, fmt.Errorf("region dimension %d is %d", a, d)
		}
	}
	var starts [3][]int
	for a := 0; a < 3; a++ {
		for o := 0; o < dims[a]; o += seg {
			starts[a] = append(starts[a], o)
		}
	}
	f := geo.Factor
	var tiles []Tile
	for _, z := range starts[2] {
		for _, y := range starts[1] {
			for _, x := range starts[0] {
				t := Tile{Origin: [3]int{x, y, z}}
				for a := 0; a < 3; a++ {
					rest := dims[a] - t.Origin[a]
					t.Size[a] = min(seg, (rest+f-1)/f*f)
				}
				tiles = append(tiles, t)
			}
		}
	}
	return tiles, nil
}

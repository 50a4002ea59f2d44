package consensus

import (
	"testing"

	"metascope/lesion"
	"metascope/volume"
)

// fullSizeReaders is two readers' maps on a full-size T1c grid (1 mm,
// 192x224x176): 12 lesions of 3 to 12 mm radius, reader B's outlines one
// voxel larger and shifted, two lesions each only one reader marked.
func fullSizeReaders() (a, b *volume.Label) {
	g := volume.Grid{Dims: [3]int{192, 224, 176}, Affine: volume.Diagonal([3]float64{1, 1, 1}, [3]float64{-96, -112, -88})}
	a, b = volume.NewLabel(g), volume.NewLabel(g)
	ball := func(l *volume.Label, c [3]int, r int) {
		for k := c[2] - r; k <= c[2]+r; k++ {
			for j := c[1] - r; j <= c[1]+r; j++ {
				for i := c[0] - r; i <= c[0]+r; i++ {
					d := (i-c[0])*(i-c[0]) + (j-c[1])*(j-c[1]) + (k-c[2])*(k-c[2])
					if d <= r*r && g.Contains(i, j, k) {
						l.Set(i, j, k, 1)
					}
				}
			}
		}
	}
	for n := range 12 {
		c := [3]int{30 + (n%4)*40, 40 + (n/4)*60, 40 + (n%3)*45}
		r := 3 + n%10
		if n != 10 {
			ball(a, c, r)
		}
		if n != 11 {
			ball(b, [3]int{c[0] + 1, c[1], c[2]}, r+1)
		}
	}
	return a, b
}

func BenchmarkBuildFullSize(b *testing.B) {
	la, lb := fullSizeReaders()
	b.ResetTimer()
	for range b.N {
		c, err := Build(la, lb, lesion.Conn26)
		if err != nil || len(c.Items) != 12 {
			b.Fatalf("%v, %d items", err, len(c.Items))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/case")
	b.ReportMetric(float64(la.Len()*b.N)/b.Elapsed().Seconds(), "voxels/s")
}

func BenchmarkComposeFullSize(b *testing.B) {
	la, lb := fullSizeReaders()
	c, err := Build(la, lb, lesion.Conn26)
	if err != nil {
		b.Fatal(err)
	}
	dec := map[int]Decision{}
	for _, it := range c.Items {
		dec[it.ID] = Decision{Resolution: Union}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := c.Compose(dec, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/case")
}

func BenchmarkStapleFullSize(b *testing.B) {
	la, lb := fullSizeReaders()
	b.ResetTimer()
	for range b.N {
		if _, err := Staple([]*volume.Label{la, lb}, DefaultStapleOptions()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/case")
}

package phantom_test

import (
	"fmt"

	"metascope/phantom"
	"metascope/volume"
)

// A small case for a test: four sequences on their own grids, the ground
// truth on the T1c grid, and the lesions that make it.
func ExampleGenerate() {
	opts := phantom.DefaultOptions(phantom.Small)
	opts.Seed = 1
	c, err := phantom.Generate(opts)
	if err != nil {
		panic(err)
	}
	fmt.Println("T1c grid:", c.Images[volume.T1c].Dims, c.Images[volume.T1c].Spacing())
	fmt.Println("label on the T1c grid:", c.Label.SameGeometry(c.Images[volume.T1c].Grid, 0))
	inside := 0
	for _, l := range c.Lesions {
		if l.Shape.Contains(l.CentreRAS) {
			inside++
		}
	}
	fmt.Println("lesion centres inside their shapes:", inside == len(c.Lesions))
	// Output:
	// T1c grid: [64 76 60] [3 3 3]
	// label on the T1c grid: true
	// lesion centres inside their shapes: true
}

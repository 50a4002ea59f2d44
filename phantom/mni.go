package phantom

import (
	"errors"
	"math/rand/v2"
)

// mniBase is the anatomical base read from a real T1 head (not yet
// available: it needs the NIfTI reader).
type mniBase struct{ headModel }

func loadMNI(path string, rng *rand.Rand, o Options, headCentre [3]float64, p *Params) (*mniBase, error) {
	return nil, errors.New("phantom: MNIPath " + path + ": the NIfTI reader is not available yet")
}

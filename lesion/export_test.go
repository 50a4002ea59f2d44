package lesion

import (
	"math/rand/v2"

	"metascope/volume"
)

// Test-only doors for the external tests (phantom_test.go) to the slow
// reference implementations of helpers_test.go.

func NaiveMatchForTest(ref, test *volume.Label, conn Connectivity) (tp, fn, fp int, dice map[int]float64) {
	r := naiveMatch(ref, test, conn)
	return r.tp, r.fn, r.fp, r.dice
}

func NaivePruneForTest(l *volume.Label, minCM3 float64, conn Connectivity) *volume.Label {
	return naivePrune(l, minCM3, conn)
}

func PerturbForTest(l *volume.Label, rng *rand.Rand) *volume.Label { return perturb(l, rng) }

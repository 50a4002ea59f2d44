package training

import (
	"fmt"
	"math/rand/v2"
)

// Fold is one cross-validation split: indices into the case list.
type Fold struct {
	Train []int `json:"train"`
	Val   []int `json:"val"`
}

// KFold splits n cases into k folds by case: the cases are shuffled with
// seed and dealt round-robin, and fold f validates on the f-th share and
// trains on the rest, so every case is validated exactly once and no case
// is in both parts of a fold. k = 1 is a single 80/20 split.
func KFold(n, k int, seed uint64) ([]Fold, error) {
	if k < 1 {
		return nil, fmt.Errorf("split: %d folds", k)
	}
	minCases := max(k, 2)
	if n < minCases {
		return nil, fmt.Errorf("split: %d cases for %d folds: need at least %d", n, k, minCases)
	}
	perm := rand.New(rand.NewPCG(seed, 0x5b117)).Perm(n)
	if k == 1 {
		nv := max(1, n/5)
		return []Fold{{Train: sorted(perm[nv:]), Val: sorted(perm[:nv])}}, nil
	}
	folds := make([]Fold, k)
	for i, c := range perm {
		f := i % k
		folds[f].Val = append(folds[f].Val, c)
		for g := range folds {
			if g != f {
				folds[g].Train = append(folds[g].Train, c)
			}
		}
	}
	for f := range folds {
		folds[f].Train, folds[f].Val = sorted(folds[f].Train), sorted(folds[f].Val)
	}
	return folds, nil
}

func sorted(s []int) []int {
	out := append([]int(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

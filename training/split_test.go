package training

import "testing"

func TestKFoldSplitsByCase(t *testing.T) {
	for _, tc := range []struct{ n, k int }{{55, 5}, {10, 5}, {7, 3}, {2, 2}, {20, 1}} {
		folds, err := KFold(tc.n, tc.k, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(folds) != tc.k {
			t.Fatalf("n=%d k=%d: %d folds", tc.n, tc.k, len(folds))
		}
		validated := make([]int, tc.n)
		for f, fold := range folds {
			in := map[int]bool{}
			for _, c := range fold.Train {
				in[c] = true
			}
			for _, c := range fold.Val {
				if in[c] {
					t.Errorf("n=%d k=%d fold %d: case %d both trains and validates", tc.n, tc.k, f, c)
				}
				validated[c]++
			}
			if len(fold.Train)+len(fold.Val) != tc.n {
				t.Errorf("n=%d k=%d fold %d: %d+%d cases", tc.n, tc.k, f, len(fold.Train), len(fold.Val))
			}
			// A k-th of the cases (80/20 at k = 5 and at k = 1).
			want := float64(tc.n) / float64(tc.k)
			if tc.k == 1 {
				want = float64(tc.n) / 5
			}
			if d := float64(len(fold.Val)) - want; d > 1 || d < -1 {
				t.Errorf("n=%d k=%d fold %d: %d validation cases, want about %.1f", tc.n, tc.k, f, len(fold.Val), want)
			}
		}
		for c, v := range validated {
			if tc.k > 1 && v != 1 {
				t.Errorf("n=%d k=%d: case %d validated %d times, want once", tc.n, tc.k, c, v)
			}
		}
	}
	a, _ := KFold(30, 5, 1)
	b, _ := KFold(30, 5, 2)
	if equalFolds(a, b) {
		t.Error("the seed does not change the split")
	}
	c, _ := KFold(30, 5, 1)
	if !equalFolds(a, c) {
		t.Error("the same seed gives another split")
	}
	if _, err := KFold(3, 5, 1); err == nil {
		t.Error("5 folds of 3 cases accepted")
	}
}

func equalFolds(a, b []Fold) bool {
	for i := range a {
		if len(a[i].Val) != len(b[i].Val) {
			return false
		}
		for j := range a[i].Val {
			if a[i].Val[j] != b[i].Val[j] {
				return false
			}
		}
	}
	return true
}

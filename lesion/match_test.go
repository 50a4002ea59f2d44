package lesion

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"metascope/volume"
)

func TestMatchBridge(t *testing.T) {
	// Two true 2x2x2 lesions with a 2-voxel gap; one prediction covers
	// both and the gap (6x2x2 = 24 voxels).
	truth := volume.NewLabel(grid(10, 4, 4))
	box(truth, [3]int{0, 0, 0}, [3]int{1, 1, 1}, 1)
	box(truth, [3]int{4, 0, 0}, [3]int{5, 1, 1}, 1)
	pred := volume.NewLabel(truth.Grid)
	box(pred, [3]int{0, 0, 0}, [3]int{5, 1, 1}, 1)
	m := Match(truth, pred, Conn26)
	if m.TP() != 2 || m.FN() != 0 || m.FP() != 0 {
		t.Fatalf("bridge: TP %d FN %d FP %d, want 2 0 0", m.TP(), m.FN(), m.FP())
	}
	for _, p := range m.Pairs {
		// Dice against the whole bridging component: 2*8/(8+24).
		if p.Dice != 0.5 || p.OverlapVoxels != 8 || p.Test.ID != 1 || len(p.Tests) != 1 {
			t.Errorf("pair %+v: want Dice 0.5, overlap 8, one test component", p)
		}
		if math.Abs(p.RefCM3-0.008) > 1e-15 || math.Abs(p.TestCM3-0.024) > 1e-15 {
			t.Errorf("volumes %v / %v, want 0.008 / 0.024", p.RefCM3, p.TestCM3)
		}
	}
	// Centroids: lesion 1 at i=0.5, bridge at i=2.5 -> 2 mm; lesion 2 at 4.5.
	if m.Pairs[0].CentroidDistMM != 2 || m.Pairs[1].CentroidDistMM != 2 {
		t.Errorf("centroid distances %v, %v; want 2, 2", m.Pairs[0].CentroidDistMM, m.Pairs[1].CentroidDistMM)
	}
	if !slices.Equal(m.RefOfTest[0], []int{1, 2}) {
		t.Errorf("RefOfTest %v, want [[1 2]]", m.RefOfTest)
	}
}

func TestMatchSplit(t *testing.T) {
	// One true 6x2x2 lesion; two predictions at its ends (2x2x2 each) and a
	// false positive far away.
	truth := volume.NewLabel(grid(12, 6, 6))
	box(truth, [3]int{0, 0, 0}, [3]int{5, 1, 1}, 1)
	pred := volume.NewLabel(truth.Grid)
	box(pred, [3]int{0, 0, 0}, [3]int{1, 1, 1}, 1)
	box(pred, [3]int{4, 0, 0}, [3]int{5, 1, 1}, 1)
	box(pred, [3]int{10, 4, 4}, [3]int{11, 5, 5}, 1)
	m := Match(truth, pred, Conn26)
	if m.TP() != 1 || m.FN() != 0 || m.FP() != 1 {
		t.Fatalf("split: TP %d FN %d FP %d, want 1 0 1", m.TP(), m.FN(), m.FP())
	}
	p := m.Pairs[0]
	// Dice 2*16/(24+16) = 0.8; union centroid i=2.5 = the lesion's.
	if p.Dice != 0.8 || len(p.Tests) != 2 || p.Test.ID != 1 || p.CentroidDistMM != 0 {
		t.Errorf("pair %+v: want Dice 0.8, two test components, distance 0", p)
	}
	if m.FalsePositives[0].ID != 3 || m.FalsePositives[0].Voxels != 8 {
		t.Errorf("false positive %+v", m.FalsePositives[0])
	}
	// The same maps as prediction-vs-truth the other way round: the long
	// lesion is one test component bridging two references.
	back := Match(pred, truth, Conn26)
	if back.TP() != 2 || back.FN() != 1 || back.FP() != 0 {
		t.Errorf("reversed: TP %d FN %d FP %d, want 2 1 0", back.TP(), back.FN(), back.FP())
	}
}

func TestMatchTestOrderByOverlap(t *testing.T) {
	// A reference overlapped 2 voxels by component 1 and 6 by component 2:
	// Test is the larger overlap.
	truth := volume.NewLabel(grid(10, 3, 3))
	box(truth, [3]int{0, 0, 0}, [3]int{7, 0, 0}, 1)
	pred := volume.NewLabel(truth.Grid)
	box(pred, [3]int{0, 0, 0}, [3]int{1, 0, 0}, 1)
	box(pred, [3]int{3, 0, 0}, [3]int{8, 0, 0}, 1)
	m := Match(truth, pred, Conn26)
	p := m.Pairs[0]
	if p.Test.ID != 2 || p.Tests[1].ID != 1 || p.OverlapVoxels != 7 {
		t.Errorf("pair tests %v overlap %d; want main component 2, overlap 7", []int{p.Tests[0].ID, p.Tests[1].ID}, p.OverlapVoxels)
	}
	// Dice 2*7/(8+8).
	if p.Dice != 14.0/16 {
		t.Errorf("Dice %v, want %v", p.Dice, 14.0/16)
	}
}

func TestMatchConnectivityChangesCounts(t *testing.T) {
	// Truth: two cubes touching at a corner. With 26-connectivity they are
	// one lesion, with 6 two; a prediction covering one cube finds 1 of 1
	// or 1 of 2.
	truth := volume.NewLabel(grid(8, 8, 8))
	box(truth, [3]int{0, 0, 0}, [3]int{1, 1, 1}, 1)
	box(truth, [3]int{2, 2, 2}, [3]int{3, 3, 3}, 1)
	pred := volume.NewLabel(truth.Grid)
	box(pred, [3]int{0, 0, 0}, [3]int{1, 1, 1}, 1)
	if m := Match(truth, pred, Conn26); m.TP() != 1 || m.FN() != 0 || m.Pairs[0].Dice != 2*8.0/24 {
		t.Errorf("26: TP %d FN %d", m.TP(), m.FN())
	}
	if m := Match(truth, pred, Conn6); m.TP() != 1 || m.FN() != 1 || m.Pairs[0].Dice != 1 {
		t.Errorf("6: TP %d FN %d", m.TP(), m.FN())
	}
}

func TestMatchEmpty(t *testing.T) {
	empty := volume.NewLabel(grid(6, 6, 6))
	some := volume.NewLabel(empty.Grid)
	box(some, [3]int{0, 0, 0}, [3]int{1, 1, 1}, 1)
	box(some, [3]int{4, 4, 4}, [3]int{5, 5, 5}, 1)
	if m := Match(empty, empty, Conn26); m.TP() != 0 || m.FN() != 0 || m.FP() != 0 {
		t.Errorf("empty vs empty: %d %d %d", m.TP(), m.FN(), m.FP())
	}
	if m := Match(some, empty, Conn26); m.TP() != 0 || m.FN() != 2 || m.FP() != 0 {
		t.Errorf("lesions vs empty: %d %d %d", m.TP(), m.FN(), m.FP())
	}
	if m := Match(empty, some, Conn26); m.TP() != 0 || m.FN() != 0 || m.FP() != 2 {
		t.Errorf("empty vs lesions: %d %d %d", m.TP(), m.FN(), m.FP())
	}
}

func TestMatchGridMismatchPanics(t *testing.T) {
	a := volume.NewLabel(grid(4, 4, 4))
	b := volume.NewLabel(grid(4, 4, 5))
	if err := CheckGrids(a.Grid, b.Grid); err == nil {
		t.Error("CheckGrids accepted different dims")
	}
	c := volume.NewLabel(volume.Grid{Dims: a.Dims, Affine: volume.Diagonal([3]float64{1, 1, 2}, [3]float64{})})
	if err := CheckGrids(a.Grid, c.Grid); err == nil {
		t.Error("CheckGrids accepted different affines")
	}
	defer func() {
		if recover() == nil {
			t.Error("Match of different grids did not panic")
		}
	}()
	Match(a, b, Conn26)
}

// TestMatchAgreesWithBruteForce compares Match with an independent
// brute-force computation (flood-fill labels, voxel-set matching) on
// realistic random cases. The phantom package did not exist when this
// was written, so the cases are random lesion-like blobs and predictions
// perturbed from them (boundary noise, a dropped slab, false positives).
func TestMatchAgreesWithBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var tot [3]int // TP, FN, FP over all trials
	defer func() {
		if tot[0] == 0 || tot[1] == 0 || tot[2] == 0 {
			t.Errorf("degenerate cases: TP/FN/FP totals %v", tot)
		}
	}()
	for trial := range 5 {
		g := volume.Grid{Dims: [3]int{48 + rng.IntN(20), 40 + rng.IntN(20), 30 + rng.IntN(10)},
			Affine: volume.Diagonal([3]float64{1, 1, 1.5}, [3]float64{})}
		truth := volume.NewLabel(g)
		blobs(truth, rng, 6+rng.IntN(6), 1, 7)
		pred := perturb(truth, rng)
		for _, conn := range []Connectivity{Conn6, Conn26} {
			m := Match(truth, pred, conn)
			want := naiveMatch(truth, pred, conn)
			if m.TP() != want.tp || m.FN() != want.fn || m.FP() != want.fp {
				t.Fatalf("trial %d conn %v: TP/FN/FP %d/%d/%d, brute force %d/%d/%d",
					trial, conn, m.TP(), m.FN(), m.FP(), want.tp, want.fn, want.fp)
			}
			tot[0] += m.TP()
			tot[1] += m.FN()
			tot[2] += m.FP()
			for _, p := range m.Pairs {
				if p.Dice != want.dice[p.Ref.ID] {
					t.Fatalf("trial %d conn %v: lesion %d Dice %v, brute force %v", trial, conn, p.Ref.ID, p.Dice, want.dice[p.Ref.ID])
				}
			}
			// The full evaluation with the study's 0.003 cm3 rule against
			// brute-force pruning then matching.
			opts := DefaultEvalOptions()
			opts.Conn = conn
			r := EvaluateCase(truth, pred, opts)
			wantP := naiveMatch(truth, naivePrune(pred, StudyMinCM3, conn), conn)
			if r.TP != wantP.tp || r.FN != wantP.fn || r.FP != wantP.fp {
				t.Fatalf("trial %d conn %v: EvaluateCase TP/FN/FP %d/%d/%d, brute force %d/%d/%d",
					trial, conn, r.TP, r.FN, r.FP, wantP.tp, wantP.fn, wantP.fp)
			}
			if r.RemovedSmall == 0 {
				t.Errorf("trial %d conn %v: no small components removed; the case does not exercise the rule", trial, conn)
			}
		}
	}
}

// BenchmarkEvaluateCase scores a full-size (256x256x180) prediction:
// pruning, both labellings, matching and the voxel Dice.
func BenchmarkEvaluateCase(b *testing.B) {
	truth := benchLabel()
	pred := perturb(truth, rand.New(rand.NewPCG(9, 9)))
	opts := DefaultEvalOptions()
	b.ResetTimer()
	for b.Loop() {
		EvaluateCase(truth, pred, opts)
	}
	b.ReportMetric(float64(len(truth.Data))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mvoxels/s")
}

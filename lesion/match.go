package lesion

import (
	"fmt"
	"math"
	"sort"

	"metascope/volume"
)

// gridTolMM is how far two affines may differ (mm) and still be the same
// grid: a prediction resampled back carries float noise in its header.
const gridTolMM = 1e-3

// CheckGrids reports whether two maps share a grid (same dims, affines
// equal within 1e-3 mm), the precondition of every comparison in this
// package. Callers holding maps from files check it first and name the
// file in the error; the comparisons themselves panic on a mismatch,
// because comparing voxels across different grids is meaningless.
func CheckGrids(a, b volume.Grid) error {
	if a.Dims != b.Dims {
		return fmt.Errorf("grids differ: dims %v vs %v", a.Dims, b.Dims)
	}
	if !a.Affine.AlmostEqual(b.Affine, gridTolMM) {
		return fmt.Errorf("grids differ: affines %v vs %v", a.Affine, b.Affine)
	}
	return nil
}

func mustSameGrid(what string, a, b volume.Grid) {
	if err := CheckGrids(a, b); err != nil {
		panic("lesion." + what + ": " + err.Error())
	}
}

// Pair is one detected reference lesion and the test components that
// overlap it.
type Pair struct {
	// Ref is the reference lesion; Test is the overlapping test component
	// with the most overlap (ties: lowest ID); Tests lists every
	// overlapping test component by ID (Tests[0] is Test when there is
	// one). A reference lesion split into several test components has
	// len(Tests) > 1.
	Ref   Component
	Test  Component
	Tests []Component
	// OverlapVoxels is |R ∩ U|, U the union of Tests.
	OverlapVoxels int
	// Dice is 2|R ∩ U| / (|R| + |U|): the reference lesion against the
	// whole of every test component that overlaps it.
	Dice float64
	// RefCM3 is the reference lesion's volume, TestCM3 that of U.
	RefCM3, TestCM3 float64
	// CentroidDistMM is the distance in mm between the centroids of the
	// reference lesion and of U (voxel-weighted over Tests).
	CentroidDistMM float64
}

// Matching is the lesion-level comparison of a reference map (ground truth,
// reader A) with a test map (prediction, reader B).
type Matching struct {
	// Ref and Test are all components of each map, as Components numbers
	// them (Ref[i].ID == i+1), so a caller can label the maps itself and
	// find the same ids.
	Ref, Test []Component
	// Pairs holds one entry per detected reference lesion, in reference ID
	// order: the true positives.
	Pairs []Pair
	// Missed are the reference lesions no test component overlaps: the
	// false negatives.
	Missed []Component
	// FalsePositives are the test components that overlap no reference
	// lesion.
	FalsePositives []Component
	// RefOfTest[t] lists, for test component ID t+1, the IDs of the
	// reference lesions it overlaps (empty for a false positive; two or
	// more for a component that bridges lesions).
	RefOfTest [][]int
}

// TP, FN and FP are the lesion counts of the matching.
func (m Matching) TP() int { return len(m.Pairs) }

// FN is the number of missed reference lesions.
func (m Matching) FN() int { return len(m.Missed) }

// FP is the number of test components overlapping no reference lesion.
func (m Matching) FP() int { return len(m.FalsePositives) }

// Match compares the lesions of ref and test (same grid; both binarised as
// non-zero), with components of the given connectivity.
//
// The rule, one way for every count in Metascope:
//   - A reference lesion is detected (true positive) when at least one
//     voxel of it is also a voxel of some test component; otherwise it is
//     missed (false negative).
//   - A test component is a false positive when it overlaps no reference
//     lesion by a single voxel. Nothing else is a false positive.
//   - One-to-many: a reference lesion split into several test components
//     is one true positive and none of the pieces is a false positive.
//   - Many-to-one: a test component bridging two reference lesions makes
//     both detected (two true positives) and is not a false positive.
//   - Per-lesion Dice for a detected lesion R is computed against U, the
//     union of the complete test components overlapping R (not clipped to
//     R's neighbourhood), so that oversegmentation costs Dice. A bridging
//     component therefore counts in full against each lesion it bridges,
//     lowering both Dice values.
//
// This is the counting of the study: sensitivity = TP / (TP + FN) over
// reference lesions and precision = TP / (TP + FP) with TP counted on
// reference lesions, which reproduces its table (fused: 28 of 32 detected,
// 0.71 FP per scan over 14 scans = 10 FP, precision 28/38 = 74 %, F1 0.80).
//
// Match panics when the grids differ (see CheckGrids).
func Match(ref, test *volume.Label, conn Connectivity) Matching {
	mustSameGrid("Match", ref.Grid, test.Grid)
	rrs, rID, refComps := analyse(ref, nil, conn)
	trs, tID, testComps := analyse(test, nil, conn)

	// Overlap counts per (reference, test) pair, from the runs.
	type key struct{ r, t int32 }
	overlap := map[key]int{}
	overlapRuns(rrs, rID, trs, tID, func(r, t int32, n int) { overlap[key{r, t}] += n })
	testsOf := make([][]int, len(refComps)+1)
	m := Matching{Ref: refComps, Test: testComps, RefOfTest: make([][]int, len(testComps))}
	for k := range overlap {
		testsOf[k.r] = append(testsOf[k.r], int(k.t))
		m.RefOfTest[k.t-1] = append(m.RefOfTest[k.t-1], int(k.r))
	}
	for t := range m.RefOfTest {
		sort.Ints(m.RefOfTest[t])
		if len(m.RefOfTest[t]) == 0 {
			m.FalsePositives = append(m.FalsePositives, testComps[t])
		}
	}
	vox := ref.VoxelVolumeMM3() / 1000
	for _, rc := range refComps {
		ts := testsOf[rc.ID]
		if len(ts) == 0 {
			m.Missed = append(m.Missed, rc)
			continue
		}
		// Most overlap first, then lowest ID: Tests[0] is the main match.
		sort.Slice(ts, func(a, b int) bool {
			oa, ob := overlap[key{int32(rc.ID), int32(ts[a])}], overlap[key{int32(rc.ID), int32(ts[b])}]
			if oa != ob {
				return oa > ob
			}
			return ts[a] < ts[b]
		})
		p := Pair{Ref: rc, RefCM3: rc.VolumeCM3}
		var union int
		var cen [3]float64
		for _, t := range ts {
			tc := testComps[t-1]
			p.Tests = append(p.Tests, tc)
			p.OverlapVoxels += overlap[key{int32(rc.ID), int32(t)}]
			union += tc.Voxels
			for a := range cen {
				cen[a] += tc.CentroidVoxel[a] * float64(tc.Voxels)
			}
		}
		p.Test = p.Tests[0]
		for a := range cen {
			cen[a] /= float64(union)
		}
		p.TestCM3 = float64(union) * vox
		p.Dice = 2 * float64(p.OverlapVoxels) / float64(rc.Voxels+union)
		p.CentroidDistMM = dist(rc.CentroidRAS, ref.VoxelToWorld(cen))
		m.Pairs = append(m.Pairs, p)
	}
	return m
}

func dist(a, b [3]float64) float64 {
	dx, dy, dz := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return math.Sqrt(dx*dx + dy*dy + dz*dz)
}

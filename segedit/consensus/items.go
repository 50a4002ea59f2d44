// Package consensus turns two readers' label maps of one case into the
// case's ground truth, as the study did: the lesions of reader A are
// matched to those of reader B (lesion.Match, the one matching rule of
// Metascope), every lesion becomes an item (agreed, A only, B only), the
// consensus readers resolve each item (accept A's outline, B's, their union
// or intersection, a redrawn outline, STAPLE's proposal, or reject it), an
// adjudicator settles the items flagged for senior review, and only when
// every item is resolved is the consensus label written.
//
// The core (Build, Comparison.Compose, Staple, CaseAgreement) is pure and
// works on label maps; Session is the edge that reads the readers' labels
// through the workspace's blinding check, persists decisions in
// consensus.json in the case folder and writes every decision to the
// case's audit log.
//
// From the GUI (the same calls the metascope consensus command makes):
//
//	w.VisibleReaders(c, me)            layers of other readers it may show
//	w.OpenLabel(c, me, owner)          the only way to read a reader's labels
//	c.EditableBy(me), c.Submit(me)     lock the editor after submitting
//	c.BlindingLifted()                 both submitted: offer the consensus
//	s, _ := Open(w, c, me, Options{})  the session (resumes consensus.json)
//	s.Items(), s.Decision(id)          the item table; Item.CentroidVoxel to jump
//	s.Comparison().Disagreement()      A-only and B-only voxels, two overlays
//	s.Comparison().ItemAt(i, j, k)     the item under the cursor
//	s.Comparison().ItemLabel(id)       one item: 1 A only, 2 B only, 3 both
//	s.Resolve(me, id, r, redrawMask)   accept-a/b, union, intersection, redraw, reject, staple
//	s.MarkSenior(me, id, note)         needs senior review (adjudicator resolves)
//	s.Staple(me)                       readers' sensitivity/specificity, proposal
//	s.Preview(Union)                   the consensus so far, as an overlay
//	s.Open(), s.PendingSenior()        what blocks finalising
//	s.Finalise(me)                     writes labels/consensus.nii.gz, marks ready
//	s.Reload()                         pick up other workstations' decisions
package consensus

import (
	"fmt"

	"metascope/lesion"
	"metascope/volume"
)

// Kind says which readers found an item's lesion.
type Kind int

const (
	Agreed Kind = iota // both readers marked it (their outlines overlap)
	AOnly              // only reader A marked it
	BOnly              // only reader B marked it
)

var kindNames = []string{"agreed", "A only", "B only"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// MarshalText writes the kind's name.
func (k Kind) MarshalText() ([]byte, error) {
	if k < 0 || int(k) >= len(kindNames) {
		return nil, fmt.Errorf("invalid item kind %d", int(k))
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText parses a kind's name.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if string(b) == n {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown item kind %q", b)
}

// Item is one lesion of the consensus list: a group of reader A's and
// reader B's components connected by overlap. Usually one A lesion and one
// B lesion; a lesion one reader drew as two pieces, or two lesions the
// other reader drew as one, stay one item, so that every voxel either
// reader marked belongs to exactly one item.
type Item struct {
	// ID numbers items 1..n in raster order (i fastest, then j, then k) of
	// their first voxel: the same two maps always give the same numbering.
	ID   int  `json:"id"`
	Kind Kind `json:"kind"`
	// A and B are the component IDs (lesion.Components numbering) of each
	// reader's map in the item.
	A []int `json:"a_components"`
	B []int `json:"b_components"`
	// AVoxels and BVoxels count each reader's voxels, BothVoxels those
	// both marked; Dice is 2*Both/(A+B) (0 for a one-reader item).
	AVoxels    int     `json:"a_voxels"`
	BVoxels    int     `json:"b_voxels"`
	BothVoxels int     `json:"both_voxels"`
	Dice       float64 `json:"dice"`
	// ACM3 and BCM3 are each reader's volume in cm3, from the affine.
	ACM3 float64 `json:"a_cm3"`
	BCM3 float64 `json:"b_cm3"`
	// CentroidVoxel and CentroidRAS locate the union of both outlines
	// (to jump the views there); BBoxMin/Max bound it (inclusive).
	CentroidVoxel [3]float64 `json:"centroid_voxel"`
	CentroidRAS   [3]float64 `json:"centroid_ras_mm"`
	BBoxMin       [3]int     `json:"bbox_min"`
	BBoxMax       [3]int     `json:"bbox_max"`
}

// Comparison is reader A's map against reader B's: the item list and, for
// every voxel, which item it belongs to.
type Comparison struct {
	Grid  volume.Grid
	Conn  lesion.Connectivity
	Items []Item
	// ItemOf holds, per voxel, the ID of the item it belongs to (0 where
	// neither reader marked it).
	ItemOf []int32
	// a and b are the readers' maps binarised (1 = lesion).
	a, b []uint8
	// Matching is lesion.Match(A, B): A-lesions as reference.
	Matching lesion.Matching
}

// Build compares reader A's map with reader B's (same grid; every non-zero
// value is lesion). It fails, without panicking, when the grids differ.
func Build(a, b *volume.Label, conn lesion.Connectivity) (*Comparison, error) {
	if a == nil || b == nil {
		return nil, fmt.Errorf("consensus: a reader's label map is missing")
	}
	if err := lesion.CheckGrids(a.Grid, b.Grid); err != nil {
		return nil, fmt.Errorf("consensus: the readers' maps are not on the same grid: %w", err)
	}
	if _, err := lesion.ParseConnectivity(conn.String()); err != nil {
		return nil, fmt.Errorf("consensus: %w", err)
	}
	m := lesion.Match(a, b, conn)
	aID, _ := lesion.Components(a, conn)
	bID, _ := lesion.Components(b, conn)
	nA, nB := len(m.Ref), len(m.Test)

	// Union-find over A components (0..nA-1) and B components (nA..):
	// overlapping components, as Match found them, are one item.
	parent := make([]int, nA+nB)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for t, refs := range m.RefOfTest {
		for _, r := range refs {
			ra, rb := find(r-1), find(nA+t)
			if ra != rb {
				parent[rb] = ra
			}
		}
	}

	n := len(a.Data)
	c := &Comparison{Grid: a.Grid, Conn: conn, ItemOf: make([]int32, n), a: make([]uint8, n), b: make([]uint8, n), Matching: m}
	itemOfRoot := make([]int32, nA+nB)
	var sum [][3]float64
	nx, ny := a.Dims[0], a.Dims[1]
	for v := 0; v < n; v++ {
		ia, ib := aID[v], bID[v]
		if ia == 0 && ib == 0 {
			continue
		}
		var root int
		if ia != 0 {
			root = find(int(ia) - 1)
			c.a[v] = 1
		} else {
			root = find(nA + int(ib) - 1)
		}
		if ib != 0 {
			c.b[v] = 1
		}
		id := itemOfRoot[root]
		i, j, k := v%nx, (v/nx)%ny, v/(nx*ny)
		if id == 0 {
			c.Items = append(c.Items, Item{ID: len(c.Items) + 1, BBoxMin: [3]int{i, j, k}, BBoxMax: [3]int{i, j, k}})
			sum = append(sum, [3]float64{})
			id = int32(len(c.Items))
			itemOfRoot[root] = id
		}
		c.ItemOf[v] = id
		it := &c.Items[id-1]
		if ia != 0 {
			it.AVoxels++
		}
		if ib != 0 {
			it.BVoxels++
		}
		if ia != 0 && ib != 0 {
			it.BothVoxels++
		}
		p := [3]int{i, j, k}
		for d := range 3 {
			it.BBoxMin[d] = min(it.BBoxMin[d], p[d])
			it.BBoxMax[d] = max(it.BBoxMax[d], p[d])
			sum[id-1][d] += float64(p[d])
		}
	}
	vox := a.VoxelVolumeMM3() / 1000
	for r := range nA + nB {
		id := itemOfRoot[find(r)]
		if id == 0 {
			continue // cannot happen: every component has voxels
		}
		it := &c.Items[id-1]
		if r < nA {
			it.A = append(it.A, r+1)
		} else {
			it.B = append(it.B, r-nA+1)
		}
	}
	for i := range c.Items {
		it := &c.Items[i]
		switch {
		case len(it.A) > 0 && len(it.B) > 0:
			it.Kind = Agreed
		case len(it.A) > 0:
			it.Kind = AOnly
		default:
			it.Kind = BOnly
		}
		if it.AVoxels+it.BVoxels > 0 {
			it.Dice = 2 * float64(it.BothVoxels) / float64(it.AVoxels+it.BVoxels)
		}
		it.ACM3, it.BCM3 = float64(it.AVoxels)*vox, float64(it.BVoxels)*vox
		u := float64(it.AVoxels + it.BVoxels - it.BothVoxels)
		for d := range 3 {
			it.CentroidVoxel[d] = sum[i][d] / u
		}
		it.CentroidRAS = c.Grid.VoxelToWorld(it.CentroidVoxel)
	}
	return c, nil
}

// Item returns the item with that ID.
func (c *Comparison) Item(id int) (Item, bool) {
	if id < 1 || id > len(c.Items) {
		return Item{}, false
	}
	return c.Items[id-1], true
}

// ItemAt is the ID of the item at voxel (i, j, k), 0 for none or outside
// the grid (for picking an item by clicking on a view).
func (c *Comparison) ItemAt(i, j, k int) int {
	if !c.Grid.Contains(i, j, k) {
		return 0
	}
	return int(c.ItemOf[c.Grid.Index(i, j, k)])
}

// Count returns how many items there are of each kind.
func (c *Comparison) Count() (agreed, aOnly, bOnly int) {
	for _, it := range c.Items {
		switch it.Kind {
		case Agreed:
			agreed++
		case AOnly:
			aOnly++
		case BOnly:
			bOnly++
		}
	}
	return
}

// Disagreement is the voxel disagreement view of the agreed items: aOnly
// holds the voxels only A marked, bOnly those only B marked (value 1), for
// two overlay colours. Voxels of one-reader items are left out: the whole
// lesion is the disagreement there, and the item list shows it.
func (c *Comparison) Disagreement() (aOnly, bOnly *volume.Label) {
	aOnly, bOnly = volume.NewLabel(c.Grid), volume.NewLabel(c.Grid)
	for v, id := range c.ItemOf {
		if id == 0 || c.Items[id-1].Kind != Agreed || c.a[v] == c.b[v] {
			continue
		}
		if c.a[v] != 0 {
			aOnly.Data[v] = 1
		} else {
			bOnly.Data[v] = 1
		}
	}
	return aOnly, bOnly
}

// ItemLabel is a label map of one item's voxels: 1 where only A marked it,
// 2 where only B did, 3 where both did (for a zoomed item view).
func (c *Comparison) ItemLabel(id int) *volume.Label {
	l := volume.NewLabel(c.Grid)
	for v, x := range c.ItemOf {
		if int(x) == id {
			l.Data[v] = c.a[v] | c.b[v]<<1
		}
	}
	return l
}

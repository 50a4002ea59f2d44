package lesion

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"

	"metascope/volume"
)

// Connectivity says which neighbouring voxels belong to the same lesion.
type Connectivity int

const (
	// Conn26 joins voxels that share a face, an edge or a corner. It is the
	// default (the zero value) because a lesion drawn slice by slice or
	// predicted by a network is one lesion even where it narrows to a
	// diagonal step.
	Conn26 Connectivity = iota
	// Conn6 joins voxels that share a face.
	Conn6
	// Conn18 joins voxels that share a face or an edge.
	Conn18
)

// String names the connectivity as "26", "18" or "6".
func (c Connectivity) String() string {
	switch c {
	case Conn26:
		return "26"
	case Conn18:
		return "18"
	case Conn6:
		return "6"
	}
	return fmt.Sprintf("Connectivity(%d)", int(c))
}

// ParseConnectivity reads "26", "18" or "6".
func ParseConnectivity(s string) (Connectivity, error) {
	switch s {
	case "26":
		return Conn26, nil
	case "18":
		return Conn18, nil
	case "6":
		return Conn6, nil
	}
	return 0, fmt.Errorf("connectivity %q: want 6, 18 or 26", s)
}

func (c Connectivity) valid() bool { return c == Conn26 || c == Conn18 || c == Conn6 }

// Component is one lesion: a connected set of non-zero voxels.
type Component struct {
	// ID is the component's number, 1..n, in raster order (i fastest, then
	// j, then k) of the component's first voxel. Deterministic: the same
	// map always gives the same numbering.
	ID int
	// Voxels is the number of voxels; VolumeCM3 is their volume from the
	// affine (|det| of its 3x3 part), never from the voxel count alone.
	Voxels    int
	VolumeCM3 float64
	// CentroidVoxel is the mean voxel index; CentroidRAS is that point in
	// world millimetres (RAS+), through the affine.
	CentroidVoxel, CentroidRAS [3]float64
	// BBoxMin and BBoxMax are the inclusive voxel-index bounding box.
	BBoxMin, BBoxMax [3]int
	// MaxProb and MeanProb summarise a probability map over the component's
	// voxels (ComponentsWithProb); both are NaN when no map was given.
	MaxProb, MeanProb float64
}

// runs is a label map's foreground as runs of non-zero voxels along i: the
// run-length form every operation of this package works on. Runs are in
// raster order; row r = j + ny*k holds runs first[r]:first[r+1], and run n
// covers voxels [start[n], end[n]) of that row.
type runs struct {
	dims       [3]int
	start, end []int32
	row        []int32 // row of each run
	first      []int32 // len rows+1
}

// extractRuns scans the map for runs, in k-slabs on all CPUs. Background is
// skipped eight voxels at a time, so an almost empty map (the usual lesion
// map) costs little more than reading it.
func extractRuns(l *volume.Label) *runs {
	nx := l.Dims[0]
	return extractRunsWith(l.Dims, func(r int, start, end []int32) ([]int32, []int32) {
		return rowRuns(l.Data[r*nx:(r+1)*nx], start, end)
	})
}

// extractRunsAbove is extractRuns of the map p >= t, without building it.
func extractRunsAbove(p *volume.Volume, t float32) *runs {
	nx := p.Dims[0]
	return extractRunsWith(p.Dims, func(r int, start, end []int32) ([]int32, []int32) {
		row := p.Data[r*nx : (r+1)*nx]
		for i := 0; i < len(row); {
			for i < len(row) && !(row[i] >= t) {
				i++
			}
			if i == len(row) {
				break
			}
			s := i
			for i < len(row) && row[i] >= t {
				i++
			}
			start = append(start, int32(s))
			end = append(end, int32(i))
		}
		return start, end
	})
}

// extractRunsWith collects the runs that rowFn appends for each row, in
// k-slabs on all CPUs.
func extractRunsWith(dims [3]int, rowFn func(r int, start, end []int32) ([]int32, []int32)) *runs {
	ny, nz := dims[1], dims[2]
	rows := ny * nz
	counts := make([]int32, rows)
	workers := min(runtime.GOMAXPROCS(0), nz)
	type part struct{ start, end []int32 }
	parts := make([]part, workers)
	chunk := (nz + workers - 1) / workers
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		k0, k1 := w*chunk, min((w+1)*chunk, nz)
		if k0 >= k1 {
			continue
		}
		wg.Add(1)
		go func(w, k0, k1 int) {
			defer wg.Done()
			var p part
			for r := k0 * ny; r < k1*ny; r++ {
				n0 := len(p.start)
				p.start, p.end = rowFn(r, p.start, p.end)
				counts[r] = int32(len(p.start) - n0)
			}
			parts[w] = p
		}(w, k0, k1)
	}
	wg.Wait()
	total := 0
	for _, p := range parts {
		total += len(p.start)
	}
	rs := &runs{
		dims:  dims,
		start: make([]int32, 0, total),
		end:   make([]int32, 0, total),
		row:   make([]int32, total),
		first: make([]int32, rows+1),
	}
	for _, p := range parts {
		rs.start = append(rs.start, p.start...)
		rs.end = append(rs.end, p.end...)
	}
	n := int32(0)
	for r, c := range counts {
		rs.first[r] = n
		for x := n; x < n+c; x++ {
			rs.row[x] = int32(r)
		}
		n += c
	}
	rs.first[rows] = n
	return rs
}

// overlapRuns calls add(a, b, n) for every pair of intersecting runs of two
// run sets on the same dims: a's and b's component ids and the number of
// shared voxels. It works row by row on the runs alone, never per voxel.
func overlapRuns(a *runs, aID []int32, b *runs, bID []int32, add func(ia, ib int32, n int)) {
	for r := 0; r+1 < len(a.first); r++ {
		p, pEnd := a.first[r], a.first[r+1]
		q, qEnd := b.first[r], b.first[r+1]
		for p < pEnd && q < qEnd {
			lo := max(a.start[p], b.start[q])
			hi := min(a.end[p], b.end[q])
			if hi > lo {
				add(aID[p], bID[q], int(hi-lo))
			}
			if a.end[p] < b.end[q] {
				p++
			} else {
				q++
			}
		}
	}
}

// rowRuns appends the runs of non-zero bytes of one row.
func rowRuns(row []uint8, start, end []int32) ([]int32, []int32) {
	n := len(row)
	i := 0
	for i < n {
		// Skip background a word at a time.
		for i+8 <= n && binary.LittleEndian.Uint64(row[i:]) == 0 {
			i += 8
		}
		for i < n && row[i] == 0 {
			i++
		}
		if i == n {
			break
		}
		s := i
		for i < n && row[i] != 0 {
			i++
		}
		start = append(start, int32(s))
		end = append(end, int32(i))
	}
	return start, end
}

// labelRuns unites touching runs and numbers the components 1..n in raster
// order. It returns the component id of every run and the count n.
func labelRuns(rs *runs, conn Connectivity) (runID []int32, n int) {
	ny, nz := rs.dims[1], rs.dims[2]
	parent := make([]int32, len(rs.start))
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]] // path halving
			x = parent[x]
		}
		return x
	}
	union := func(a, b int32) {
		ra, rb := find(a), find(b)
		// The smaller run index (earlier in raster order) stays the root,
		// so each root is its component's first run.
		if ra < rb {
			parent[rb] = ra
		} else if rb < ra {
			parent[ra] = rb
		}
	}
	// mergeRows unites the runs of rows a and b that touch. grow widens
	// each run by one voxel along i, which admits diagonal contact.
	mergeRows := func(a, b int, grow int32) {
		p, pEnd := rs.first[a], rs.first[a+1]
		q, qEnd := rs.first[b], rs.first[b+1]
		for p < pEnd && q < qEnd {
			// Runs p and q touch when [s-grow, e+grow) ranges intersect.
			if rs.start[p] < rs.end[q]+grow && rs.start[q] < rs.end[p]+grow {
				union(p, q)
			}
			// Advance whichever run ends first.
			if rs.end[p] < rs.end[q] {
				p++
			} else {
				q++
			}
		}
	}
	// Each row is joined with its raster-earlier neighbour rows. With the
	// offset (dj, dk) of the neighbour row, a voxel offset di is allowed
	// when |di|+|dj|+|dk| stays within the connectivity: 6 allows one
	// non-zero offset, 18 two, 26 three.
	for k := 0; k < nz; k++ {
		for j := 0; j < ny; j++ {
			r := j + ny*k
			if rs.first[r] == rs.first[r+1] {
				continue
			}
			// Along i within the row, runs are separated by background.
			if j > 0 { // (dj, dk) = (-1, 0)
				mergeRows(r, r-1, growFor(conn, 1))
			}
			if k > 0 { // (0, -1)
				mergeRows(r, r-ny, growFor(conn, 1))
				if conn != Conn6 {
					if j > 0 { // (-1, -1)
						mergeRows(r, r-ny-1, growFor(conn, 2))
					}
					if j+1 < ny { // (+1, -1)
						mergeRows(r, r-ny+1, growFor(conn, 2))
					}
				}
			}
		}
	}
	runID = make([]int32, len(parent))
	for x := range parent {
		root := find(int32(x))
		if root == int32(x) {
			n++
			runID[x] = int32(n)
		} else {
			runID[x] = runID[root] // root < x: already numbered
		}
	}
	return runID, n
}

// growFor is the allowed i offset between runs of rows whose (j, k) differ
// in used coordinates.
func growFor(conn Connectivity, used int) int32 {
	switch conn {
	case Conn26:
		return 1
	case Conn18:
		if used < 2 {
			return 1
		}
	}
	return 0
}

// componentStats computes each component's statistics from its runs.
func componentStats(g volume.Grid, rs *runs, runID []int32, n int, prob *volume.Volume) []Component {
	nx, ny := rs.dims[0], rs.dims[1]
	comps := make([]Component, n)
	sums := make([][3]float64, n)
	probSum := make([]float64, n)
	for c := range comps {
		comps[c] = Component{ID: c + 1, MaxProb: math.Inf(-1),
			BBoxMin: [3]int{math.MaxInt, math.MaxInt, math.MaxInt}, BBoxMax: [3]int{-1, -1, -1}}
	}
	for x := range rs.start {
		c := runID[x] - 1
		cp := &comps[c]
		a, b := int(rs.start[x]), int(rs.end[x])
		r := int(rs.row[x])
		j, k := r%ny, r/ny
		m := b - a
		cp.Voxels += m
		sums[c][0] += float64(a+b-1) * float64(m) / 2
		sums[c][1] += float64(j) * float64(m)
		sums[c][2] += float64(k) * float64(m)
		cp.BBoxMin = [3]int{min(cp.BBoxMin[0], a), min(cp.BBoxMin[1], j), min(cp.BBoxMin[2], k)}
		cp.BBoxMax = [3]int{max(cp.BBoxMax[0], b-1), max(cp.BBoxMax[1], j), max(cp.BBoxMax[2], k)}
		if prob != nil {
			for _, p := range prob.Data[r*nx+a : r*nx+b] {
				probSum[c] += float64(p)
				if float64(p) > cp.MaxProb {
					cp.MaxProb = float64(p)
				}
			}
		}
	}
	vox := g.VoxelVolumeMM3() / 1000
	for c := range comps {
		cp := &comps[c]
		v := float64(cp.Voxels)
		cp.VolumeCM3 = v * vox
		cp.CentroidVoxel = [3]float64{sums[c][0] / v, sums[c][1] / v, sums[c][2] / v}
		cp.CentroidRAS = g.VoxelToWorld(cp.CentroidVoxel)
		if prob != nil {
			cp.MeanProb = probSum[c] / v
		} else {
			cp.MaxProb, cp.MeanProb = math.NaN(), math.NaN()
		}
	}
	return comps
}

// paint writes each run's component id into a per-voxel map.
func paint(rs *runs, runID []int32) []int32 {
	nx := rs.dims[0]
	labels := make([]int32, rs.dims[0]*rs.dims[1]*rs.dims[2])
	for x := range rs.start {
		base := int(rs.row[x]) * nx
		id := runID[x]
		seg := labels[base+int(rs.start[x]) : base+int(rs.end[x])]
		for i := range seg {
			seg[i] = id
		}
	}
	return labels
}

// analyse is the shared core: runs, their component ids and statistics.
func analyse(l *volume.Label, prob *volume.Volume, conn Connectivity) (*runs, []int32, []Component) {
	if !conn.valid() {
		panic(fmt.Sprintf("lesion: invalid connectivity %d", int(conn)))
	}
	if len(l.Data) != l.Len() {
		panic(fmt.Sprintf("lesion: label map has %d voxels for dims %v", len(l.Data), l.Dims))
	}
	if prob != nil && (prob.Dims != l.Dims || len(prob.Data) != len(l.Data)) {
		panic(fmt.Sprintf("lesion: probability map dims %v differ from label dims %v", prob.Dims, l.Dims))
	}
	rs := extractRuns(l)
	runID, n := labelRuns(rs, conn)
	return rs, runID, componentStats(l.Grid, rs, runID, n, prob)
}

// Components labels the connected components of the non-zero voxels of l
// (any non-zero value is lesion). labels holds, per voxel, the id of its
// component (0 for background); comps[i] is the component with ID i+1.
//
// It works on runs of voxels along i: one pass finds the runs (in k-slabs
// on all CPUs, skipping background a word at a time), a union-find joins
// touching runs of neighbouring rows, and statistics come from the runs
// without a second pass over the volume. It panics on an invalid
// Connectivity or on Data that does not fit the dims (programming errors).
func Components(l *volume.Label, conn Connectivity) (labels []int32, comps []Component) {
	rs, runID, comps := analyse(l, nil, conn)
	return paint(rs, runID), comps
}

// ComponentsWithProb is Components that also records, per component, the
// maximum and mean of prob (same dims as l) over its voxels.
func ComponentsWithProb(l *volume.Label, prob *volume.Volume, conn Connectivity) ([]int32, []Component) {
	rs, runID, comps := analyse(l, prob, conn)
	return paint(rs, runID), comps
}

// ComponentList is Components without the per-voxel map, for callers that
// only list lesions (a lesion table, a count).
func ComponentList(l *volume.Label, conn Connectivity) []Component {
	_, _, comps := analyse(l, nil, conn)
	return comps
}

// volumeEpsilon absorbs rounding in voxel volume products, so that a
// lesion of exactly the threshold (3 voxels of 1 mm3 against 0.003 cm3) is
// kept whatever order the affine's multiplications took.
const volumeEpsilon = 1e-9

// RemoveSmall returns a copy of l without the components whose volume is
// below minCM3 (the study discarded predicted lesions under 0.003 cm3 as
// noise), and how many it removed. A component of exactly minCM3 is kept.
// Voxel values of the kept components are preserved.
func RemoveSmall(l *volume.Label, minCM3 float64, conn Connectivity) (*volume.Label, int) {
	out := l.Clone()
	if minCM3 <= 0 {
		return out, 0
	}
	rs, runID, comps := analyse(l, nil, conn)
	small := make([]bool, len(comps)+1)
	removed := 0
	for _, c := range comps {
		if c.VolumeCM3 < minCM3*(1-volumeEpsilon) {
			small[c.ID] = true
			removed++
		}
	}
	if removed == 0 {
		return out, 0
	}
	nx := rs.dims[0]
	for x := range rs.start {
		if small[runID[x]] {
			base := int(rs.row[x]) * nx
			clear(out.Data[base+int(rs.start[x]) : base+int(rs.end[x])])
		}
	}
	return out, removed
}

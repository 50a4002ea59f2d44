package segedit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"metascope/volume"
)

// Run is a stretch of consecutive voxels (in memory order) that all changed
// from Old to New.
type Run struct {
	Start uint32 // linear index of the first voxel
	Len   uint32
	Old   uint8
	New   uint8
}

// Delta is what one edit changed: runs sorted by Start, not overlapping.
// It stores only changed voxels, so a 1 M voxel fill costs a few thousand runs
// (one per row segment), and undo or redo is a memset per run.
type Delta struct {
	Runs []Run
}

// Empty reports whether the delta changes nothing.
func (d Delta) Empty() bool { return len(d.Runs) == 0 }

// Changed is the number of voxels the delta changes.
func (d Delta) Changed() int {
	n := 0
	for _, r := range d.Runs {
		n += int(r.Len)
	}
	return n
}

// Bytes is the memory the delta holds, for history budgets.
func (d Delta) Bytes() int64 { return int64(cap(d.Runs))*12 + 24 }

// Undo restores the old values of every changed voxel.
func (d Delta) Undo(l *volume.Label) {
	for _, r := range d.Runs {
		fill(l.Data[r.Start:r.Start+r.Len], r.Old)
	}
}

// Redo writes the new values again.
func (d Delta) Redo(l *volume.Label) {
	for _, r := range d.Runs {
		fill(l.Data[r.Start:r.Start+r.Len], r.New)
	}
}

// Inverse is the delta that undoes d when applied forward.
func (d Delta) Inverse() Delta {
	out := Delta{Runs: make([]Run, len(d.Runs))}
	for i, r := range d.Runs {
		out.Runs[i] = Run{Start: r.Start, Len: r.Len, Old: r.New, New: r.Old}
	}
	return out
}

// Validate checks that the runs are sorted, disjoint, non-empty, really
// change their voxels, and fit a label of n voxels: a delta read from a
// journal is untrusted.
func (d Delta) Validate(n int) error {
	end := uint64(0)
	for i, r := range d.Runs {
		if r.Len == 0 || r.Old == r.New {
			return fmt.Errorf("run %d is empty or changes nothing", i)
		}
		if uint64(r.Start) < end {
			return fmt.Errorf("run %d overlaps or is out of order", i)
		}
		end = uint64(r.Start) + uint64(r.Len)
		if end > uint64(n) {
			return fmt.Errorf("run %d ends at voxel %d, beyond the %d-voxel label", i, end, n)
		}
	}
	return nil
}

// matches reports whether every voxel of d holds its Old value in l.
func (d Delta) matchesOld(l *volume.Label) bool {
	for _, r := range d.Runs {
		for _, v := range l.Data[r.Start : r.Start+r.Len] {
			if v != r.Old {
				return false
			}
		}
	}
	return true
}

func fill(b []uint8, v uint8) {
	for i := range b {
		b[i] = v
	}
}

// Compose merges deltas applied one after the other into one delta with the
// same effect: for each voxel, the first old value and the last new value;
// voxels that end where they began are dropped. A stroke's segments are
// composed into one history step this way.
func Compose(ds ...Delta) Delta {
	switch len(ds) {
	case 0:
		return Delta{}
	case 1:
		return ds[0]
	}
	type change struct {
		idx      uint32
		old, new uint8
	}
	var all []change
	for _, d := range ds {
		for _, r := range d.Runs {
			for o := range r.Len {
				all = append(all, change{r.Start + o, r.Old, r.New})
			}
		}
	}
	// Stable: for equal indices the application order is kept.
	slices.SortStableFunc(all, func(a, b change) int { return int(int64(a.idx) - int64(b.idx)) })
	var enc runEncoder
	for i := 0; i < len(all); {
		j := i
		for j+1 < len(all) && all[j+1].idx == all[i].idx {
			j++
		}
		if all[i].old != all[j].new {
			enc.add(all[i].idx, all[i].old, all[j].new)
		}
		i = j + 1
	}
	return enc.delta()
}

// runEncoder builds runs from changes given in increasing index order.
type runEncoder struct {
	runs []Run
}

func (e *runEncoder) add(idx uint32, old, nv uint8) {
	if n := len(e.runs); n > 0 {
		r := &e.runs[n-1]
		if r.Start+r.Len == idx && r.Old == old && r.New == nv {
			r.Len++
			return
		}
	}
	e.runs = append(e.runs, Run{Start: idx, Len: 1, Old: old, New: nv})
}

func (e *runEncoder) delta() Delta {
	if len(e.runs) == 0 {
		return Delta{}
	}
	return Delta{Runs: slices.Clip(e.runs)}
}

// appendBinary encodes d compactly: the run count, then per run the gap from
// the previous run's end, the length (both unsigned varints), old and new.
func (d Delta) appendBinary(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(d.Runs)))
	end := uint32(0)
	for _, r := range d.Runs {
		b = binary.AppendUvarint(b, uint64(r.Start-end))
		b = binary.AppendUvarint(b, uint64(r.Len))
		b = append(b, r.Old, r.New)
		end = r.Start + r.Len
	}
	return b
}

var errShort = errors.New("truncated delta")

// decodeDelta reads what appendBinary wrote and returns the rest of b.
func decodeDelta(b []byte, maxVoxels int) (Delta, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return Delta{}, nil, errShort
	}
	b = b[k:]
	// Each run takes at least 4 bytes: a bound that stops absurd counts
	// from allocating before the data runs out.
	if n > uint64(len(b)/4) {
		return Delta{}, nil, fmt.Errorf("delta claims %d runs in %d bytes", n, len(b))
	}
	d := Delta{Runs: make([]Run, 0, n)}
	end := uint64(0)
	for range n {
		gap, k1 := binary.Uvarint(b)
		if k1 <= 0 {
			return Delta{}, nil, errShort
		}
		ln, k2 := binary.Uvarint(b[k1:])
		if k2 <= 0 || len(b) < k1+k2+2 {
			return Delta{}, nil, errShort
		}
		start := end + gap
		if start+ln > uint64(maxVoxels) || ln == 0 {
			return Delta{}, nil, fmt.Errorf("delta run [%d, +%d) outside a %d-voxel label", start, ln, maxVoxels)
		}
		d.Runs = append(d.Runs, Run{Start: uint32(start), Len: uint32(ln), Old: b[k1+k2], New: b[k1+k2+1]})
		b = b[k1+k2+2:]
		end = start + ln
	}
	if err := d.Validate(maxVoxels); err != nil {
		return Delta{}, nil, err
	}
	return d, b, nil
}

// fingerprint is a linear hash of a label map: the wrapping sum over voxels
// of value times a per-index pseudo-random weight. Because it is linear, a
// delta updates it in time proportional to the voxels it changes, so the
// journal can record the fingerprint after every stroke and reopening can
// tell which records a saved label already contains.
func fingerprint(l *volume.Label) uint64 {
	var h uint64
	for i, v := range l.Data {
		if v != 0 {
			h += uint64(v) * weight(uint64(i))
		}
	}
	return h
}

// fingerprintAfter updates fingerprint h by delta d applied forward.
func fingerprintAfter(h uint64, d Delta) uint64 {
	for _, r := range d.Runs {
		diff := uint64(r.New) - uint64(r.Old) // wraps: arithmetic mod 2^64
		for i := uint64(r.Start); i < uint64(r.Start)+uint64(r.Len); i++ {
			h += diff * weight(i)
		}
	}
	return h
}

// weight is splitmix64: a fixed, well-mixed 64-bit value per voxel index.
func weight(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

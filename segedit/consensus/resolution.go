package consensus

import (
	"fmt"
	"time"

	"metascope/volume"
)

// Resolution is what the consensus readers decided for one item.
type Resolution int

const (
	Unresolved    Resolution = iota
	AcceptA                  // reader A's outline
	AcceptB                  // reader B's outline
	Union                    // every voxel either reader marked
	Intersection             // the voxels both readers marked
	Redraw                   // an outline the readers drew together (Decision.Redraw)
	Reject                   // not a metastasis: nothing of the item is kept
	StapleOutline            // STAPLE's estimate (Staple) inside the item
)

var resolutionNames = []string{"unresolved", "accept-a", "accept-b", "union", "intersection", "redraw", "reject", "staple"}

func (r Resolution) String() string {
	if r < 0 || int(r) >= len(resolutionNames) {
		return fmt.Sprintf("Resolution(%d)", int(r))
	}
	return resolutionNames[r]
}

// MarshalText writes the resolution's name.
func (r Resolution) MarshalText() ([]byte, error) {
	if r < 0 || int(r) >= len(resolutionNames) {
		return nil, fmt.Errorf("invalid resolution %d", int(r))
	}
	return []byte(resolutionNames[r]), nil
}

// UnmarshalText parses a resolution's name.
func (r *Resolution) UnmarshalText(b []byte) error {
	x, err := ParseResolution(string(b))
	*r = x
	return err
}

// ParseResolution reads "accept-a", "accept-b", "union", "intersection",
// "redraw", "reject", "staple" (or "unresolved").
func ParseResolution(s string) (Resolution, error) {
	for i, n := range resolutionNames {
		if s == n {
			return Resolution(i), nil
		}
	}
	return Unresolved, fmt.Errorf("unknown resolution %q (want one of %q)", s, resolutionNames[1:])
}

// Applicable says whether r makes sense for an item of kind k: accepting
// the outline of a reader who drew nothing there, or intersecting with
// nothing, is refused (say "reject" for that).
func (r Resolution) Applicable(k Kind) error {
	switch {
	case r == Unresolved || r < 0 || int(r) >= len(resolutionNames):
		return fmt.Errorf("%s is not a decision", r)
	case k == AOnly && (r == AcceptB || r == Intersection):
		return fmt.Errorf("%s on an A-only item keeps nothing: reader B drew nothing there (use reject)", r)
	case k == BOnly && (r == AcceptA || r == Intersection):
		return fmt.Errorf("%s on a B-only item keeps nothing: reader A drew nothing there (use reject)", r)
	}
	return nil
}

// Decision is the state of one item.
type Decision struct {
	Resolution Resolution `json:"resolution"`
	// Senior says the item was flagged "needs senior review". While it is
	// flagged and unresolved only an adjudicator may resolve it; the flag
	// stays set afterwards as the record that the adjudicator was needed.
	Senior   bool   `json:"needs_senior_review,omitempty"`
	SeniorBy string `json:"senior_flagged_by,omitempty"`
	Note     string `json:"note,omitempty"`
	// By and At say who made the current resolution and when.
	By string    `json:"by,omitempty"`
	At time.Time `json:"at,omitzero"`
	// Redraw is the outline of a Redraw resolution as runs of voxel
	// indices.
	Redraw Runs `json:"redraw,omitempty"`
}

// Resolved says whether the item is settled.
func (d Decision) Resolved() bool { return d.Resolution != Unresolved }

// PendingSenior says whether the item waits for the adjudicator.
func (d Decision) PendingSenior() bool { return d.Senior && d.Resolution == Unresolved }

// Runs is a set of voxels as [start, length) runs of linear indices, the
// compact form a redrawn outline is stored in.
type Runs [][2]int

// RunsOf lists the non-zero voxels of l.
func RunsOf(l *volume.Label) Runs {
	var out Runs
	for v := 0; v < len(l.Data); {
		if l.Data[v] == 0 {
			v++
			continue
		}
		s := v
		for v < len(l.Data) && l.Data[v] != 0 {
			v++
		}
		out = append(out, [2]int{s, v - s})
	}
	return out
}

// Count is the number of voxels.
func (r Runs) Count() int {
	n := 0
	for _, x := range r {
		n += x[1]
	}
	return n
}

// check reports runs that leave a grid of n voxels, are empty or overlap.
func (r Runs) check(n int) error {
	end := 0
	for i, x := range r {
		if x[1] <= 0 || x[0] < end || x[0]+x[1] > n {
			return fmt.Errorf("redraw run %d [%d,+%d) is empty, out of order or outside the %d-voxel grid", i, x[0], x[1], n)
		}
		end = x[0] + x[1]
	}
	return nil
}

// Compose builds the consensus label (1 = metastasis) from a decision for
// every item: inside each item's voxels the rule of its resolution, plus
// the whole outline of every Redraw (a redrawn outline is the readers' own
// and is kept entire, even where it reaches beyond what either reader
// drew). staple is STAPLE's estimate on the grid, needed only when an item
// is resolved with StapleOutline. Compose refuses while any item is
// unresolved or waiting for the adjudicator: nothing is final before every
// item is.
func (c *Comparison) Compose(decisions map[int]Decision, staple *volume.Label) (*volume.Label, error) {
	var open, senior []int
	for _, it := range c.Items {
		d := decisions[it.ID]
		switch {
		case d.PendingSenior():
			senior = append(senior, it.ID)
		case !d.Resolved():
			open = append(open, it.ID)
		case d.Resolution == StapleOutline && (staple == nil || staple.Dims != c.Grid.Dims):
			return nil, fmt.Errorf("consensus: item %d is resolved with STAPLE but no STAPLE estimate on this grid was given", it.ID)
		}
		if err := d.Redraw.check(len(c.ItemOf)); err != nil {
			return nil, fmt.Errorf("consensus: item %d: %w", it.ID, err)
		}
	}
	if len(open)+len(senior) > 0 {
		return nil, fmt.Errorf("consensus: not final: items %v unresolved, items %v wait for the adjudicator", open, senior)
	}
	out := volume.NewLabel(c.Grid)
	for v, id := range c.ItemOf {
		if id == 0 {
			continue
		}
		a, b := c.a[v] != 0, c.b[v] != 0
		var keep bool
		switch decisions[int(id)].Resolution {
		case AcceptA:
			keep = a
		case AcceptB:
			keep = b
		case Union:
			keep = a || b
		case Intersection:
			keep = a && b
		case StapleOutline:
			keep = staple.Data[v] != 0
		}
		if keep {
			out.Data[v] = 1
		}
	}
	for _, it := range c.Items {
		d := decisions[it.ID]
		if d.Resolution != Redraw {
			continue
		}
		for _, r := range d.Redraw {
			for v := r[0]; v < r[0]+r[1]; v++ {
				out.Data[v] = 1
			}
		}
	}
	return out, nil
}

package workspace

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"metascope/volume"
	"metascope/volume/nifti"
)

// Blinding is enforced here, at the data boundary: every reader of another
// reader's labels (the GUI's layers, the consensus session, agreement
// figures, export, the command line) goes through CheckLabelAccess or
// OpenLabel, so that no path can show reader B what reader A drew before
// both have submitted.

// NoViewer is the viewer of a headless summary that is nobody's own work
// (agreement figures, export): it sees only what blinding no longer hides.
// It can never be a reader's name (ValidName refuses the empty string).
const NoViewer = ""

// ErrBlinded is wrapped by every refusal of CheckLabelAccess, OpenLabel and
// OpenConsensusLabel made because of blinding.
var ErrBlinded = errors.New("blinded")

// BlindingLifted reports whether every reader assigned to the case (every
// reader with a status in case.json, whatever it is) has submitted, and at
// least two have: only then may readers see each other's labels when
// blinding is on, and only then can a consensus start.
func (c *Case) BlindingLifted() bool {
	return len(c.rec.Readers) >= 2 && len(c.Pending()) == 0
}

// Pending lists, sorted, the case's assigned readers who have not
// submitted.
func (c *Case) Pending() []string {
	var out []string
	for r, s := range c.rec.Readers {
		if s != Submitted {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// SubmittedReaders lists, sorted, the readers who have submitted.
func (c *Case) SubmittedReaders() []string {
	var out []string
	for r, s := range c.rec.Readers {
		if s == Submitted {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// CheckLabelAccess says whether viewer may see owner's labels on case c:
// always their own; another reader's only when blinding is off in the
// workspace settings or every assigned reader has submitted
// (c.BlindingLifted). A viewer other than NoViewer must be one of the
// workspace's readers. The error wraps ErrBlinded when blinding refuses.
func (w *Workspace) CheckLabelAccess(c *Case, viewer, owner string) error {
	if err := ValidName(owner); err != nil {
		return fmt.Errorf("case %q: labels of reader: %w", c.name, err)
	}
	if viewer != NoViewer {
		if _, ok := w.Reader(viewer); !ok {
			return fmt.Errorf("case %q: %q is not a reader of this workspace", c.name, viewer)
		}
		if viewer == owner {
			return nil
		}
	}
	if !w.rec.Settings.Blinding || c.BlindingLifted() {
		return nil
	}
	who := "a summary"
	if viewer != NoViewer {
		who = fmt.Sprintf("reader %q", viewer)
	}
	return fmt.Errorf("case %q: %s may not see %q's labels: %w until every assigned reader has submitted (waiting for %q)",
		c.name, who, owner, ErrBlinded, c.Pending())
}

// OpenLabel reads owner's label map of case c for viewer, after
// CheckLabelAccess. A reader who has drawn nothing yet has no file: the
// error then wraps os.ErrNotExist.
func (w *Workspace) OpenLabel(c *Case, viewer, owner string) (*volume.Label, error) {
	if err := w.CheckLabelAccess(c, viewer, owner); err != nil {
		return nil, err
	}
	p := c.LabelPath(owner)
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("case %q: labels of %q: %w", c.name, owner, err)
	}
	l, err := nifti.ReadLabel(p)
	if err != nil {
		return nil, fmt.Errorf("case %q: labels of %q: %w", c.name, owner, err)
	}
	return l, nil
}

// VisibleReaders lists, sorted, the readers of case c whose labels viewer
// may see (their own included), for a layer list.
func (w *Workspace) VisibleReaders(c *Case, viewer string) []string {
	var out []string
	for r := range c.rec.Readers {
		if w.CheckLabelAccess(c, viewer, r) == nil {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// CheckConsensusAccess says whether viewer may see the consensus of case c
// (the label or the consensus session): it shows both readers' work, so it
// is hidden exactly as long as another reader's labels are, whatever the
// blinding setting says when the readers have not all submitted (a
// consensus cannot start before that).
func (w *Workspace) CheckConsensusAccess(c *Case, viewer string) error {
	if viewer != NoViewer {
		if _, ok := w.Reader(viewer); !ok {
			return fmt.Errorf("case %q: %q is not a reader of this workspace", c.name, viewer)
		}
	}
	if c.BlindingLifted() || c.rec.Consensus == ConsensusAgreed {
		return nil
	}
	return fmt.Errorf("case %q: the consensus is %w until every assigned reader has submitted (waiting for %q)",
		c.name, ErrBlinded, c.Pending())
}

// OpenConsensusLabel reads labels/consensus.nii.gz for viewer after
// CheckConsensusAccess.
func (w *Workspace) OpenConsensusLabel(c *Case, viewer string) (*volume.Label, error) {
	if err := w.CheckConsensusAccess(c, viewer); err != nil {
		return nil, err
	}
	l, err := nifti.ReadLabel(c.ConsensusPath())
	if err != nil {
		return nil, fmt.Errorf("case %q: consensus: %w", c.name, err)
	}
	return l, nil
}

// Submit marks reader's work on case c as submitted (the audit line is
// written by SetReaderStatus). A reader who has drawn nothing may submit:
// "no metastasis" is an answer.
func (c *Case) Submit(reader string) error {
	if c.rec.Readers[reader] == Submitted {
		return fmt.Errorf("case %q: %q has already submitted", c.name, reader)
	}
	return c.SetReaderStatus(reader, Submitted)
}

// EditableBy says whether reader may still change their own labels of case
// c: not after submitting (the other reader may already be looking at
// them, and the consensus is built on exactly what was submitted) and not
// once the consensus is agreed.
func (c *Case) EditableBy(reader string) error {
	if err := ValidName(reader); err != nil {
		return fmt.Errorf("case %q: reader: %w", c.name, err)
	}
	if c.rec.Consensus == ConsensusAgreed {
		return fmt.Errorf("case %q: the consensus is agreed; labels are final", c.name)
	}
	if c.rec.Readers[reader] == Submitted {
		return fmt.Errorf("case %q: %q has submitted; labels are read-only", c.name, reader)
	}
	return nil
}

package segedit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"metascope/internal/atomicfile"
	"metascope/volume"
	"metascope/volume/nifti"
)

// SessionOptions open one reader's label map of one case.
type SessionOptions struct {
	// LabelPath is the reader's label file, labels/<reader>.nii.gz; the
	// journal (<reader>.journal) and resume state (<reader>.resume.json)
	// live next to it.
	LabelPath string
	Reader    string
	// Grid is the case's reference (T1c) grid: a new label is made on it,
	// and an existing one must match it.
	Grid    volume.Grid
	History HistoryOptions // zero value: DefaultHistoryOptions
}

// Validate checks the options.
func (o SessionOptions) Validate() error {
	if strings.TrimSpace(o.Reader) == "" {
		return errors.New("session Reader is empty")
	}
	if !strings.HasSuffix(o.LabelPath, ".nii.gz") && !strings.HasSuffix(o.LabelPath, ".nii") {
		return fmt.Errorf("session LabelPath %q must end in .nii.gz or .nii", o.LabelPath)
	}
	if err := o.Grid.Validate(); err != nil {
		return fmt.Errorf("session Grid: %w", err)
	}
	if o.History != (HistoryOptions{}) {
		if err := o.History.Validate(); err != nil {
			return fmt.Errorf("session: %w", err)
		}
	}
	return nil
}

func (o SessionOptions) stem() string {
	return strings.TrimSuffix(strings.TrimSuffix(o.LabelPath, ".gz"), ".nii")
}

// JournalPath is where the session journals committed edits.
func (o SessionOptions) JournalPath() string { return o.stem() + ".journal" }

// ResumePath is where the session keeps the reader's cursor and tool.
func (o SessionOptions) ResumePath() string { return o.stem() + ".resume.json" }

// Resume is what a reader finds again on reopening a case: where the cursor
// was and how the editor was set.
type Resume struct {
	Cursor [3]int      `json:"cursor"`
	Plane  Plane       `json:"plane"`
	Editor EditorState `json:"editor"`
}

// Session is one reader's editing of one case's label map: the label, its
// undo history, and a journal that makes every completed stroke durable.
//
// Every change goes through Apply, a stroke, Undo or Redo; each is appended
// to the journal and fsynced before the call returns, so a crash or power cut
// loses no completed stroke. Checkpoint (called periodically by the app, and
// by Close) writes the label atomically and empties the journal. A Session is
// not safe for concurrent use: the app drives it from the UI goroutine.
type Session struct {
	opts     SessionOptions
	label    *volume.Label
	hist     *History
	j        *journal
	fp       uint64 // fingerprint of label
	seq      uint64 // last step sequence number handed out
	stroke   *Stroke
	resume   Resume
	warnings []string
}

// OpenSession loads the reader's label (or starts an empty one on o.Grid),
// replays the journal left by a session that did not close (a crash), and
// reads the resume state. Problems that lose nothing (a torn last journal
// record, a journal that does not belong to the saved label) are reported by
// Warnings, not as errors.
func OpenSession(o SessionOptions) (*Session, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.History == (HistoryOptions{}) {
		o.History = DefaultHistoryOptions()
	}
	hist, err := NewHistory(o.History)
	if err != nil {
		return nil, err
	}
	s := &Session{opts: o, hist: hist, resume: Resume{Editor: DefaultEditorState()}}
	_, err = os.Stat(o.LabelPath)
	if err == nil {
		s.label, err = nifti.ReadLabel(o.LabelPath)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.label = volume.NewLabel(o.Grid)
	case err != nil:
		return nil, fmt.Errorf("open session of %s: %w", o.Reader, err)
	case !s.label.SameGeometry(o.Grid, 1e-3):
		return nil, fmt.Errorf("open session of %s: label %s has grid %v, the case's reference grid is %v",
			o.Reader, o.LabelPath, s.label.Dims, o.Grid.Dims)
	}
	s.fp = fingerprint(s.label)
	if err := s.recover(); err != nil {
		return nil, fmt.Errorf("open session of %s: %w", o.Reader, err)
	}
	s.loadResume()
	return s, nil
}

// recover replays an existing journal onto the loaded label, or starts a new
// one.
func (s *Session) recover() error {
	jp := s.opts.JournalPath()
	c, err := readJournal(jp)
	if errors.Is(err, fs.ErrNotExist) {
		s.j, err = createJournal(jp, journalHeader{Dims: s.label.Dims, Base: s.fp})
		return err
	}
	if err != nil {
		s.warn("%v; kept it aside as %s and started a new journal", err, s.setAside(jp))
		s.j, err = createJournal(jp, journalHeader{Dims: s.label.Dims, Base: s.fp})
		return err
	}
	if c.Warning != "" {
		s.warn("%s", c.Warning)
	}
	if c.Header.Dims != s.label.Dims {
		s.warn("journal %s is for a %v grid, the label is %v; kept it aside as %s", jp, c.Header.Dims, s.label.Dims, s.setAside(jp))
		s.j, err = createJournal(jp, journalHeader{Dims: s.label.Dims, Base: s.fp})
		return err
	}
	// The saved label is either the state the journal starts from (edits
	// since the last checkpoint are pending) or, after a crash between
	// writing the label and emptying the journal, the state after one of
	// its records. The fingerprints tell which.
	start := -1
	if s.fp == c.Header.Base {
		start = 0
	} else {
		for i := len(c.Records) - 1; i >= 0; i-- {
			if c.Records[i].FP == s.fp {
				start = i + 1
				break
			}
		}
	}
	if start < 0 {
		s.warn("journal %s does not start from the saved label %s (edited elsewhere?); kept it aside as %s",
			jp, s.opts.LabelPath, s.setAside(jp))
		s.j, err = createJournal(jp, journalHeader{Dims: s.label.Dims, Base: s.fp})
		return err
	}
	end := c.End
	for i := start; i < len(c.Records); i++ {
		if err := s.replay(c.Records[i]); err != nil {
			s.warn("journal %s: record %d (%v of step %d) %v; it and the %d after it were not applied",
				jp, i+1, c.Records[i].Kind, c.Records[i].Seq, err, len(c.Records)-i-1)
			s.setAsideCopy(jp)
			end = -1
			break
		}
	}
	for _, r := range c.Records {
		s.seq = max(s.seq, r.Seq)
	}
	if end < 0 {
		// The journal no longer describes the label: restart it from
		// here. The original was copied aside above.
		s.j, err = createJournal(jp, journalHeader{Dims: s.label.Dims, Base: s.fp})
		return err
	}
	s.j, err = openJournalAppend(jp, end)
	return err
}

// replay applies one journal record, rebuilding the undo history where the
// record matches it; the label must hold the values the record starts from.
func (s *Session) replay(r record) error {
	forward := r.Kind != recUndo
	check := r.Delta
	if !forward {
		check = r.Delta.Inverse()
	}
	if !check.matchesOld(s.label) {
		return errors.New("does not match the label")
	}
	switch r.Kind {
	case recCommit:
		r.Delta.Redo(s.label)
		s.hist.Push(Step{Seq: r.Seq, Delta: r.Delta})
	case recUndo:
		if st, ok := s.hist.PeekUndo(); ok && st.Seq == r.Seq {
			s.hist.Undo(s.label)
		} else {
			r.Delta.Undo(s.label)
			s.hist.Clear() // the step predates the journal: history cannot follow
		}
	case recRedo:
		if st, ok := s.hist.PeekRedo(); ok && st.Seq == r.Seq {
			s.hist.Redo(s.label)
		} else {
			r.Delta.Redo(s.label)
			s.hist.Clear()
		}
	}
	s.fp = fingerprintAfter(s.fp, check)
	if s.fp != r.FP {
		return errors.New("leaves a different label than recorded")
	}
	return nil
}

func (s *Session) setAside(path string) string {
	aside := fmt.Sprintf("%s.stale-%s", path, time.Now().UTC().Format("20060102T150405.000"))
	if err := os.Rename(path, aside); err != nil {
		s.warn("could not keep %s aside: %v", path, err)
	}
	return aside
}

func (s *Session) setAsideCopy(path string) {
	b, err := os.ReadFile(path)
	if err == nil {
		aside := fmt.Sprintf("%s.stale-%s", path, time.Now().UTC().Format("20060102T150405.000"))
		err = atomicfile.WriteBytes(aside, b)
	}
	if err != nil {
		s.warn("could not keep a copy of %s: %v", path, err)
	}
}

func (s *Session) warn(format string, args ...any) {
	s.warnings = append(s.warnings, fmt.Sprintf(format, args...))
}

func (s *Session) loadResume() {
	b, err := os.ReadFile(s.opts.ResumePath())
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var r Resume
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err == nil && !r.Plane.Valid() {
		err = fmt.Errorf("plane %d is not valid", int(r.Plane))
	}
	if err != nil {
		s.warn("resume state %s ignored: %v", s.opts.ResumePath(), err)
		return
	}
	for a := range 3 {
		r.Cursor[a] = min(max(r.Cursor[a], 0), s.label.Dims[a]-1)
	}
	s.resume = r
}

// Reader is the session's reader name.
func (s *Session) Reader() string { return s.opts.Reader }

// Label is the live label map, for rendering and lesion tables. Change it
// only through the session, or history and journal lose track.
func (s *Session) Label() *volume.Label { return s.label }

// Warnings are the problems OpenSession survived, for the app to show.
func (s *Session) Warnings() []string { return append([]string(nil), s.warnings...) }

// CanUndo and CanRedo say whether Undo and Redo would change anything.
func (s *Session) CanUndo() bool { return s.stroke != nil || s.hist.CanUndo() }
func (s *Session) CanRedo() bool { return s.stroke == nil && s.hist.CanRedo() }

// History gives read access to the undo history (lengths, memory).
func (s *Session) History() *History { return s.hist }

// Unsaved reports whether edits are journalled but not yet checkpointed into
// the label file.
func (s *Session) Unsaved() bool { return s.j.hasRecords() || s.stroke != nil }

// JournalBytes is the size of the journal, for the app's autosave policy.
func (s *Session) JournalBytes() int64 { return s.j.size }

// Resume returns the reader's saved cursor and editor state.
func (s *Session) Resume() Resume { return s.resume }

// SetResume records the cursor and editor state (saved on Checkpoint and
// Close).
func (s *Session) SetResume(r Resume) error {
	if err := r.Editor.Validate(); err != nil {
		return err
	}
	if !r.Plane.Valid() {
		return fmt.Errorf("resume plane %d is not valid", int(r.Plane))
	}
	s.resume = r
	return nil
}

// Apply is the session's edit path for one-shot edits (fill, delete
// component, fill holes, interpolation, accepting a candidate): it applies
// m, records the step and journals it. An edit that changes nothing is not a
// step. The label keeps the edit even when journalling fails; the error then
// says the edit is not yet safe.
func (s *Session) Apply(m Modifier) (Delta, error) {
	if s.stroke != nil {
		if err := s.EndStroke(); err != nil {
			return Delta{}, err
		}
	}
	d, err := Apply(s.label, m)
	if err != nil {
		return Delta{}, err
	}
	return d, s.commit(d)
}

func (s *Session) commit(d Delta) error {
	if d.Empty() {
		return nil
	}
	s.seq++
	s.hist.Push(Step{Seq: s.seq, Delta: d})
	s.fp = fingerprintAfter(s.fp, d)
	return s.j.append(record{Kind: recCommit, Seq: s.seq, FP: s.fp, Delta: d})
}

// BeginStroke presses the brush at voxel at (painting at once).
func (s *Session) BeginStroke(at [3]int, o BrushOptions) error {
	if s.stroke != nil {
		if err := s.EndStroke(); err != nil {
			return err
		}
	}
	st, err := BeginStroke(s.label, at, o)
	if err != nil {
		return err
	}
	s.stroke = st
	return nil
}

// StrokeTo drags the brush to p, painting the segment from the last point.
func (s *Session) StrokeTo(p [3]int) error {
	if s.stroke == nil {
		return errors.New("no stroke in progress")
	}
	return s.stroke.To(p)
}

// StrokeActive reports whether a stroke is in progress.
func (s *Session) StrokeActive() bool { return s.stroke != nil }

// StrokeDirty is the box the current stroke may have changed so far.
func (s *Session) StrokeDirty() Box {
	if s.stroke == nil {
		return Box{}
	}
	return s.stroke.Dirty()
}

// EndStroke releases the brush: the whole stroke becomes one history step
// and one journal record.
func (s *Session) EndStroke() error {
	if s.stroke == nil {
		return nil
	}
	d := s.stroke.End()
	s.stroke = nil
	return s.commit(d)
}

// CancelStroke abandons the stroke in progress, restoring the label.
func (s *Session) CancelStroke() {
	if s.stroke == nil {
		return
	}
	s.stroke.End().Undo(s.label)
	s.stroke = nil
}

// Undo reverses the latest step (ending a stroke in progress first).
// It reports whether anything was undone.
func (s *Session) Undo() (bool, error) {
	if err := s.EndStroke(); err != nil {
		return false, err
	}
	st, ok := s.hist.Undo(s.label)
	if !ok {
		return false, nil
	}
	s.fp = fingerprintAfter(s.fp, st.Delta.Inverse())
	return true, s.j.append(record{Kind: recUndo, Seq: st.Seq, FP: s.fp, Delta: st.Delta})
}

// Redo reapplies the latest undone step.
func (s *Session) Redo() (bool, error) {
	if s.stroke != nil {
		return false, nil
	}
	st, ok := s.hist.Redo(s.label)
	if !ok {
		return false, nil
	}
	s.fp = fingerprintAfter(s.fp, st.Delta)
	return true, s.j.append(record{Kind: recRedo, Seq: st.Seq, FP: s.fp, Delta: st.Delta})
}

// Checkpoint writes the label atomically and empties the journal, and saves
// the resume state. A stroke in progress is left alone (it is not yet an
// edit). Undo history is kept: later undo records carry their own deltas.
func (s *Session) Checkpoint() error {
	if err := s.saveResume(); err != nil {
		return err
	}
	if !s.j.hasRecords() {
		if _, err := os.Stat(s.opts.LabelPath); err == nil {
			return nil
		}
	}
	// s.fp covers committed steps only, so it is the fingerprint of the
	// label without an unfinished stroke: save that state, the one replay
	// starts from.
	lbl, fp := s.label, s.fp
	if s.stroke != nil {
		lbl = s.label.Clone()
		Compose(s.stroke.deltas...).Undo(lbl)
	}
	if err := nifti.WriteLabel(s.opts.LabelPath, lbl); err != nil {
		return fmt.Errorf("checkpoint %s: %w", s.opts.Reader, err)
	}
	// If we crash here the journal's last record matches the saved label,
	// and reopening replays nothing twice.
	s.j.close()
	j, err := createJournal(s.opts.JournalPath(), journalHeader{Dims: s.label.Dims, Base: fp})
	if err != nil {
		// Keep journalling to the old file so no edit goes unrecorded.
		if c, rerr := readJournal(s.opts.JournalPath()); rerr == nil {
			if j2, oerr := openJournalAppend(s.opts.JournalPath(), c.End); oerr == nil {
				s.j = j2
			}
		}
		return fmt.Errorf("checkpoint %s: %w", s.opts.Reader, err)
	}
	s.j = j
	return nil
}

func (s *Session) saveResume() error {
	b, err := json.MarshalIndent(s.resume, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(s.opts.ResumePath(), append(b, '\n'))
}

// Close ends any stroke, checkpoints and closes the journal.
func (s *Session) Close() error {
	err := s.EndStroke()
	if cerr := s.Checkpoint(); err == nil {
		err = cerr
	}
	if cerr := s.j.close(); err == nil && cerr != nil {
		err = fmt.Errorf("close journal: %w", cerr)
	}
	return err
}

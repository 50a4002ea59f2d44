package workspace

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"time"

	"metascope/volume"
)

const (
	caseFile  = "case.json"
	auditFile = "audit.jsonl"
)

// SequenceRecord says where one of a case's images came from and what kind
// of sequence the source looked like.
type SequenceRecord struct {
	File      string `json:"file"`   // relative to the case folder, e.g. images/t1c.nii.gz
	Source    string `json:"source"` // the imported file or DICOM folder
	Format    string `json:"format"` // "nifti" or "dicom"
	SeriesUID string `json:"series_uid,omitempty"`
	// Class is the sequence the source looked like ("t1c", ...) or
	// "unknown"; Reason says why. The slot the user imported it as wins;
	// a mismatch is kept here for the record.
	Class     string     `json:"class"`
	Reason    string     `json:"reason"`
	Dims      [3]int     `json:"dims"`
	Spacing   [3]float64 `json:"spacing_mm"`
	AxisCodes string     `json:"axis_codes"`
}

type caseRecord struct {
	Format           string                    `json:"format"`
	Version          int                       `json:"version"`
	Name             string                    `json:"name"`
	Created          time.Time                 `json:"created"`
	Sequences        map[string]SequenceRecord `json:"sequences"`
	Readers          map[string]ReaderStatus   `json:"readers"`
	Consensus        ConsensusState            `json:"consensus"`
	ReadyForTraining bool                      `json:"ready_for_training"`
}

// Case is one patient's folder in a workspace.
type Case struct {
	name string
	dir  string
	rec  caseRecord
}

func loadCase(dir, name string) (*Case, error) {
	path := filepath.Join(dir, caseFile)
	var rec caseRecord
	if err := readJSON(path, &rec); err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("case %q: not found in the workspace", name)
		}
		return nil, fmt.Errorf("case %q: %w", name, err)
	}
	if rec.Format != caseFormat || rec.Version != formatVersion {
		return nil, fmt.Errorf("case %q: %s: format %q version %d, want %q version %d", name, path, rec.Format, rec.Version, caseFormat, formatVersion)
	}
	if rec.Name != name {
		return nil, fmt.Errorf("case %q: %s: names the case %q; the folder and the file disagree", name, path, rec.Name)
	}
	for key, s := range rec.Sequences {
		seq, err := volume.ParseSequence(key)
		if err != nil || seq.String() != key {
			return nil, fmt.Errorf("case %q: %s: unknown sequence %q", name, path, key)
		}
		if s.File != filepath.Join("images", key+".nii.gz") {
			return nil, fmt.Errorf("case %q: %s: sequence %s points at %q", name, path, key, s.File)
		}
	}
	for reader := range rec.Readers {
		if err := ValidName(reader); err != nil {
			return nil, fmt.Errorf("case %q: %s: reader: %w", name, path, err)
		}
	}
	if rec.Sequences == nil {
		rec.Sequences = map[string]SequenceRecord{}
	}
	if rec.Readers == nil {
		rec.Readers = map[string]ReaderStatus{}
	}
	return &Case{name: name, dir: dir, rec: rec}, nil
}

func (c *Case) save() error { return writeJSON(filepath.Join(c.dir, caseFile), c.rec) }

// Name is the case name (its folder name).
func (c *Case) Name() string { return c.name }

// Dir is the case folder.
func (c *Case) Dir() string { return c.dir }

// Created is when the case was imported.
func (c *Case) Created() time.Time { return c.rec.Created }

// Sequence returns the record of one sequence, false when the case lacks it.
func (c *Case) Sequence(s volume.Sequence) (SequenceRecord, bool) {
	r, ok := c.rec.Sequences[s.String()]
	return r, ok
}

// ImagePath is images/<seq>.nii.gz in the case folder.
func (c *Case) ImagePath(s volume.Sequence) string {
	return filepath.Join(c.dir, "images", s.String()+".nii.gz")
}

// LabelPath is labels/<reader>.nii.gz. Reader names are checked by
// ValidName wherever they enter the workspace; an invalid one is escaped
// here so that no name can point outside the labels folder.
func (c *Case) LabelPath(reader string) string {
	if ValidName(reader) != nil {
		reader = "invalid-" + url.PathEscape(reader)
	}
	return filepath.Join(c.dir, "labels", reader+".nii.gz")
}

// ConsensusPath is labels/consensus.nii.gz ("consensus" is a reserved
// reader name for that reason).
func (c *Case) ConsensusPath() string { return filepath.Join(c.dir, "labels", "consensus.nii.gz") }

// CandidatesDir holds AI candidates: candidates/<model>.json|.nii.gz.
func (c *Case) CandidatesDir() string { return filepath.Join(c.dir, "candidates") }

// PreprocDir holds the 1 mm coregistered images, brain mask and transforms.
func (c *Case) PreprocDir() string { return filepath.Join(c.dir, "preproc") }

// AuditPath is the case's append-only log.
func (c *Case) AuditPath() string { return filepath.Join(c.dir, auditFile) }

// ReaderStatus is where a reader stands with this case (NotStarted for a
// reader the case has not seen).
func (c *Case) ReaderStatus(reader string) ReaderStatus { return c.rec.Readers[reader] }

// ReaderStatuses returns every reader's status, by reader name.
func (c *Case) ReaderStatuses() map[string]ReaderStatus {
	out := make(map[string]ReaderStatus, len(c.rec.Readers))
	for k, v := range c.rec.Readers {
		out[k] = v
	}
	return out
}

// SetReaderStatus records a reader's progress, saves case.json and writes
// an audit line.
func (c *Case) SetReaderStatus(reader string, s ReaderStatus) error {
	if err := ValidName(reader); err != nil {
		return fmt.Errorf("case %q: reader: %w", c.name, err)
	}
	if _, err := s.MarshalText(); err != nil {
		return fmt.Errorf("case %q: %w", c.name, err)
	}
	old := c.rec.Readers[reader]
	c.rec.Readers[reader] = s
	if err := c.save(); err != nil {
		c.rec.Readers[reader] = old
		return err
	}
	return c.Audit(reader, "reader status", map[string]any{"from": old.String(), "to": s.String()})
}

// Consensus is the state of the case's consensus label.
func (c *Case) Consensus() ConsensusState { return c.rec.Consensus }

// SetConsensus records the consensus state; who is written to the audit log.
func (c *Case) SetConsensus(who string, s ConsensusState) error {
	if _, err := s.MarshalText(); err != nil {
		return fmt.Errorf("case %q: %w", c.name, err)
	}
	old := c.rec.Consensus
	c.rec.Consensus = s
	if err := c.save(); err != nil {
		c.rec.Consensus = old
		return err
	}
	return c.Audit(who, "consensus", map[string]any{"from": old.String(), "to": s.String()})
}

// ReadyForTraining says whether the case's consensus may be used to train.
func (c *Case) ReadyForTraining() bool { return c.rec.ReadyForTraining }

// SetReadyForTraining marks (or unmarks) the case for training. Only a case
// with an agreed consensus can be marked.
func (c *Case) SetReadyForTraining(who string, ready bool) error {
	if ready && c.rec.Consensus != ConsensusAgreed {
		return fmt.Errorf("case %q: consensus is %s; only an agreed consensus can be used for training", c.name, c.rec.Consensus)
	}
	old := c.rec.ReadyForTraining
	c.rec.ReadyForTraining = ready
	if err := c.save(); err != nil {
		c.rec.ReadyForTraining = old
		return err
	}
	return c.Audit(who, "ready for training", map[string]any{"ready": ready})
}

// Status summarises the case for lists.
func (c *Case) Status() CaseStatus {
	switch c.rec.Consensus {
	case ConsensusAgreed:
		return CaseDone
	case ConsensusInProgress:
		return CaseInConsensus
	}
	started, submitted := 0, 0
	for _, s := range c.rec.Readers {
		if s != NotStarted {
			started++
		}
		if s == Submitted {
			submitted++
		}
	}
	switch {
	case started == 0:
		return CaseNew
	case submitted == started:
		return CaseRead
	}
	return CaseReading
}

// AuditEntry is one line of audit.jsonl.
type AuditEntry struct {
	Time    time.Time      `json:"time"`
	Who     string         `json:"who"`
	Action  string         `json:"action"`
	Details map[string]any `json:"details,omitempty"`
}

// Audit appends one JSON line to the case's audit log and fsyncs it. The
// file is only ever appended to.
func (c *Case) Audit(who, action string, details map[string]any) error {
	return appendAudit(c.AuditPath(), AuditEntry{Time: time.Now().UTC(), Who: who, Action: action, Details: details})
}

func appendAudit(path string, e AuditEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	// One write call per line: concurrent appenders never interleave inside
	// a line on a local file system.
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("audit %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("audit %s: sync: %w", path, err)
	}
	return f.Close()
}

// AuditLog reads the case's audit log. A line that is not valid JSON is an
// error naming the file and line.
func (c *Case) AuditLog() ([]AuditEntry, error) {
	b, err := os.ReadFile(c.AuditPath())
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []AuditEntry
	line := 0
	for len(b) > 0 {
		line++
		end := len(b)
		for i, ch := range b {
			if ch == '\n' {
				end = i
				break
			}
		}
		if end > 0 {
			var e AuditEntry
			if err := json.Unmarshal(b[:end], &e); err != nil {
				return out, fmt.Errorf("%s:%d: bad JSON: %w", c.AuditPath(), line, err)
			}
			out = append(out, e)
		}
		if end == len(b) {
			break
		}
		b = b[end+1:]
	}
	return out, nil
}

// Sequences lists the sequences the case has, in channel order.
func (c *Case) Sequences() []volume.Sequence {
	var out []volume.Sequence
	for _, s := range volume.Sequences {
		if _, ok := c.rec.Sequences[s.String()]; ok {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

package consensus

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"metascope/internal/atomicfile"
	"metascope/lesion"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// SessionFile is the consensus session's file in the case folder.
const SessionFile = "consensus.json"

const (
	sessionFormat  = "metascope-consensus"
	sessionVersion = 1
)

// Options choose the readers and the lesion connectivity of a session.
type Options struct {
	// Readers are reader A and reader B. Empty: the case's two submitted
	// readers, in name order (an error when there are not exactly two).
	Readers [2]string
	Conn    lesion.Connectivity
}

type fingerprint struct {
	SHA256 string `json:"sha256"`
	Voxels int    `json:"voxels"`
}

func fingerprintOf(l *volume.Label) fingerprint {
	h := sha256.New()
	binary.Write(h, binary.LittleEndian, [3]int64{int64(l.Dims[0]), int64(l.Dims[1]), int64(l.Dims[2])})
	n := 0
	bin := make([]byte, len(l.Data))
	for i, x := range l.Data {
		if x != 0 {
			bin[i] = 1
			n++
		}
	}
	h.Write(bin)
	return fingerprint{SHA256: hex.EncodeToString(h.Sum(nil)), Voxels: n}
}

type itemRecord struct {
	ID   int   `json:"id"`
	Kind Kind  `json:"kind"`
	A    []int `json:"a_components"`
	B    []int `json:"b_components"`
}

type stapleRecord struct {
	Sensitivity []float64 `json:"sensitivity"`
	Specificity []float64 `json:"specificity"`
	Prior       float64   `json:"prior"`
	Iterations  int       `json:"iterations"`
}

type record struct {
	Format       string              `json:"format"`
	Version      int                 `json:"version"`
	Case         string              `json:"case"`
	Created      time.Time           `json:"created"`
	ReaderA      string              `json:"reader_a"`
	ReaderB      string              `json:"reader_b"`
	LabelA       fingerprint         `json:"label_a"`
	LabelB       fingerprint         `json:"label_b"`
	Connectivity string              `json:"connectivity"`
	Items        []itemRecord        `json:"items"`
	Decisions    map[string]Decision `json:"decisions"`
	Staple       *stapleRecord       `json:"staple,omitempty"`
	Final        bool                `json:"final"`
	FinalBy      string              `json:"final_by,omitempty"`
	FinalAt      time.Time           `json:"final_at,omitzero"`
}

// Session is a case's consensus in progress: the comparison of the two
// readers' maps and every decision so far, kept in consensus.json. It is
// not safe for concurrent use; the GUI holds one per open case.
type Session struct {
	w   *workspace.Workspace
	c   *workspace.Case
	cmp *Comparison
	rec record
	// staple is computed on demand (and kept) for StapleOutline.
	staple *StapleResult
	la, lb *volume.Label
}

// Path is where case c's session is stored.
func Path(c *workspace.Case) string { return filepath.Join(c.Dir(), SessionFile) }

// Open starts or resumes the consensus of case c for who. Both readers
// must have submitted (and blinding must allow who to see both maps: the
// maps are read through workspace.OpenLabel). A reader who submitted
// without drawing has no label file and counts as an empty map. Resuming
// checks that neither reader's map changed since the session began; a
// changed map is an error (the decisions were made on other outlines).
func Open(w *workspace.Workspace, c *workspace.Case, who string, opts Options) (*Session, error) {
	if err := w.CheckConsensusAccess(c, who); err != nil {
		return nil, fmt.Errorf("consensus: %w", err)
	}
	path := Path(c)
	var rec record
	var exists bool
	if err := readRecord(path, &rec); err == nil {
		exists = true
		if rec.Case != c.Name() {
			return nil, fmt.Errorf("consensus: %s: belongs to case %q", path, rec.Case)
		}
		if opts.Readers != [2]string{} && opts.Readers != [2]string{rec.ReaderA, rec.ReaderB} {
			return nil, fmt.Errorf("consensus: %s: the session in progress is between %q and %q, not %q", path, rec.ReaderA, rec.ReaderB, opts.Readers)
		}
		opts.Readers = [2]string{rec.ReaderA, rec.ReaderB}
		conn, err := lesion.ParseConnectivity(rec.Connectivity)
		if err != nil {
			return nil, fmt.Errorf("consensus: %s: %w", path, err)
		}
		opts.Conn = conn
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("consensus: %w", err)
	}
	if opts.Readers == [2]string{} {
		sub := c.SubmittedReaders()
		if len(sub) != 2 {
			return nil, fmt.Errorf("consensus: case %q has %d submitted readers %q; name the two to compare", c.Name(), len(sub), sub)
		}
		opts.Readers = [2]string{sub[0], sub[1]}
	}
	if opts.Readers[0] == opts.Readers[1] {
		return nil, fmt.Errorf("consensus: reader A and reader B are both %q", opts.Readers[0])
	}
	var maps [2]*volume.Label
	for i, r := range opts.Readers {
		if st := c.ReaderStatus(r); st != workspace.Submitted {
			return nil, fmt.Errorf("consensus: case %q: reader %q has not submitted (%s)", c.Name(), r, st)
		}
		l, err := readerLabel(w, c, who, r)
		if err != nil {
			return nil, fmt.Errorf("consensus: %w", err)
		}
		maps[i] = l
	}
	cmp, err := Build(maps[0], maps[1], opts.Conn)
	if err != nil {
		return nil, fmt.Errorf("consensus: case %q: %w", c.Name(), err)
	}
	s := &Session{w: w, c: c, cmp: cmp, la: maps[0], lb: maps[1]}
	fa, fb := fingerprintOf(maps[0]), fingerprintOf(maps[1])
	if exists {
		if rec.LabelA != fa || rec.LabelB != fb {
			return nil, fmt.Errorf("consensus: %s: a reader's labels changed after the consensus began; an adjudicator or admin must reset the consensus (consensus.Reset) to start again on the new labels", path)
		}
		if len(rec.Items) != len(cmp.Items) {
			return nil, fmt.Errorf("consensus: %s: lists %d items, the maps give %d", path, len(rec.Items), len(cmp.Items))
		}
		if rec.Decisions == nil {
			rec.Decisions = map[string]Decision{}
		}
		for k := range rec.Decisions {
			var id int
			if _, err := fmt.Sscanf(k, "%d", &id); err != nil || id < 1 || id > len(cmp.Items) || fmt.Sprint(id) != k {
				return nil, fmt.Errorf("consensus: %s: decision for unknown item %q", path, k)
			}
			if err := rec.Decisions[k].Redraw.check(cmp.Grid.Len()); err != nil {
				return nil, fmt.Errorf("consensus: %s: item %s: %w", path, k, err)
			}
		}
		s.rec = rec
		if rec.Final && (c.Consensus() != workspace.ConsensusAgreed || !c.ReadyForTraining()) {
			// A crash between finalising the session and marking the case:
			// finish the marking (the label was written before the
			// session was marked final).
			if _, err := os.Stat(c.ConsensusPath()); err != nil {
				return nil, fmt.Errorf("consensus: %s is final but %w", path, err)
			}
			if err := c.SetConsensus(rec.FinalBy, workspace.ConsensusAgreed); err != nil {
				return nil, err
			}
			if err := c.SetReadyForTraining(rec.FinalBy, true); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
	s.rec = record{
		Format: sessionFormat, Version: sessionVersion, Case: c.Name(), Created: time.Now().UTC(),
		ReaderA: opts.Readers[0], ReaderB: opts.Readers[1], LabelA: fa, LabelB: fb,
		Connectivity: opts.Conn.String(), Decisions: map[string]Decision{},
	}
	for _, it := range cmp.Items {
		s.rec.Items = append(s.rec.Items, itemRecord{ID: it.ID, Kind: it.Kind, A: it.A, B: it.B})
	}
	if err := s.save(); err != nil {
		return nil, err
	}
	agreed, aOnly, bOnly := cmp.Count()
	if err := c.Audit(who, "consensus opened", map[string]any{
		"reader_a": s.rec.ReaderA, "reader_b": s.rec.ReaderB, "items": len(cmp.Items),
		"agreed": agreed, "a_only": aOnly, "b_only": bOnly,
	}); err != nil {
		return nil, err
	}
	if c.Consensus() == workspace.ConsensusNotStarted {
		if err := c.SetConsensus(who, workspace.ConsensusInProgress); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// readerLabel reads reader's map through the blinding check, as an empty
// map when the reader submitted without drawing, and checks that it lies on
// the case's T1c grid (where readers draw and the consensus is written).
func readerLabel(w *workspace.Workspace, c *workspace.Case, viewer, reader string) (*volume.Label, error) {
	g, err := t1cGrid(c)
	if err != nil {
		return nil, err
	}
	l, err := w.OpenLabel(c, viewer, reader)
	if errors.Is(err, os.ErrNotExist) {
		return volume.NewLabel(g), nil
	}
	if err != nil {
		return nil, err
	}
	if err := lesion.CheckGrids(l.Grid, g); err != nil {
		return nil, fmt.Errorf("case %q: %s is not on the T1c grid: %w", c.Name(), c.LabelPath(reader), err)
	}
	return l, nil
}

func t1cGrid(c *workspace.Case) (volume.Grid, error) {
	h, err := nifti.ReadHeader(c.ImagePath(volume.T1c))
	if err != nil {
		return volume.Grid{}, fmt.Errorf("case %q: T1c grid: %w", c.Name(), err)
	}
	g := volume.Grid{Dims: h.Dims, Affine: h.Affine}
	if err := g.Validate(); err != nil {
		return volume.Grid{}, fmt.Errorf("case %q: %s: %w", c.Name(), c.ImagePath(volume.T1c), err)
	}
	return g, nil
}

func readRecord(path string, rec *record) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(rec); err != nil {
		return fmt.Errorf("%s: bad JSON: %w", path, err)
	}
	if rec.Format != sessionFormat || rec.Version != sessionVersion {
		return fmt.Errorf("%s: format %q version %d, want %q version %d", path, rec.Format, rec.Version, sessionFormat, sessionVersion)
	}
	return nil
}

func (s *Session) save() error {
	b, err := json.MarshalIndent(s.rec, "", "  ")
	if err != nil {
		return fmt.Errorf("consensus: %w", err)
	}
	if err := atomicfile.WriteBytes(Path(s.c), append(b, '\n')); err != nil {
		return fmt.Errorf("consensus: %w", err)
	}
	return nil
}

// Case is the session's case.
func (s *Session) Case() *workspace.Case { return s.c }

// Readers are reader A and reader B.
func (s *Session) Readers() (a, b string) { return s.rec.ReaderA, s.rec.ReaderB }

// Comparison is the item list and the voxel map behind it.
func (s *Session) Comparison() *Comparison { return s.cmp }

// Items lists the items in ID order.
func (s *Session) Items() []Item { return append([]Item(nil), s.cmp.Items...) }

// Decision is the current decision on an item (the zero Decision when
// none was made).
func (s *Session) Decision(id int) Decision { return s.rec.Decisions[fmt.Sprint(id)] }

// Decisions maps every item ID to its decision.
func (s *Session) Decisions() map[int]Decision {
	out := make(map[int]Decision, len(s.cmp.Items))
	for _, it := range s.cmp.Items {
		out[it.ID] = s.Decision(it.ID)
	}
	return out
}

// Final says whether the consensus was finalised.
func (s *Session) Final() bool { return s.rec.Final }

// Open lists the items still unresolved and not waiting for the
// adjudicator; PendingSenior those waiting for the adjudicator.
func (s *Session) Open() []int {
	return s.filter(func(d Decision) bool { return !d.Resolved() && !d.Senior })
}

// PendingSenior lists the items flagged for senior review and unresolved.
func (s *Session) PendingSenior() []int { return s.filter(Decision.PendingSenior) }

func (s *Session) filter(f func(Decision) bool) []int {
	var out []int
	for _, it := range s.cmp.Items {
		if f(s.Decision(it.ID)) {
			out = append(out, it.ID)
		}
	}
	return out
}

// role checks that who may take part: reader A, reader B or an
// adjudicator.
func (s *Session) role(who string) (workspace.Role, error) {
	r, ok := s.w.Reader(who)
	if !ok {
		return 0, fmt.Errorf("consensus: %q is not a reader of this workspace", who)
	}
	if r.Role == workspace.RoleAdjudicator || who == s.rec.ReaderA || who == s.rec.ReaderB {
		return r.Role, nil
	}
	return 0, fmt.Errorf("consensus: case %q: %q (%s) is neither one of its readers (%q, %q) nor an adjudicator", s.c.Name(), who, r.Role, s.rec.ReaderA, s.rec.ReaderB)
}

// Reload reads the decisions again from consensus.json, so that a session
// held open (the GUI's) sees what others decided meanwhile. Every change
// reloads first, so two sessions on one case never undo each other's
// decisions.
func (s *Session) Reload() error {
	var rec record
	path := Path(s.c)
	if err := readRecord(path, &rec); err != nil {
		return fmt.Errorf("consensus: %w", err)
	}
	if rec.Case != s.rec.Case || rec.ReaderA != s.rec.ReaderA || rec.ReaderB != s.rec.ReaderB ||
		rec.LabelA != s.rec.LabelA || rec.LabelB != s.rec.LabelB || len(rec.Items) != len(s.rec.Items) {
		return fmt.Errorf("consensus: %s now holds another session (reset meanwhile?); open the case's consensus again", path)
	}
	for k, d := range rec.Decisions {
		if err := d.Redraw.check(s.cmp.Grid.Len()); err != nil {
			return fmt.Errorf("consensus: %s: item %s: %w", path, k, err)
		}
	}
	if rec.Decisions == nil {
		rec.Decisions = map[string]Decision{}
	}
	s.rec = rec
	return nil
}

func (s *Session) editable(who string, id int) (Item, workspace.Role, error) {
	role, err := s.role(who)
	if err != nil {
		return Item{}, 0, err
	}
	if err := s.Reload(); err != nil {
		return Item{}, 0, err
	}
	if s.rec.Final {
		return Item{}, 0, fmt.Errorf("consensus: case %q is final; nothing can change", s.c.Name())
	}
	it, ok := s.cmp.Item(id)
	if !ok {
		return Item{}, 0, fmt.Errorf("consensus: case %q has no item %d (items 1..%d)", s.c.Name(), id, len(s.cmp.Items))
	}
	return it, role, nil
}

func itemDetails(it Item) map[string]any {
	return map[string]any{
		"item": it.ID, "kind": it.Kind.String(), "a_components": it.A, "b_components": it.B,
		"dice": it.Dice, "centroid_ras_mm": it.CentroidRAS, "a_cm3": it.ACM3, "b_cm3": it.BCM3,
	}
}

// Resolve records who's decision r on item id. redraw is the outline of a
// Redraw (nil otherwise), on the case's T1c grid. An item waiting for
// senior review can only be resolved by an adjudicator. The decision is
// saved and written to the audit log before Resolve returns.
func (s *Session) Resolve(who string, id int, r Resolution, redraw *volume.Label) error {
	it, role, err := s.editable(who, id)
	if err != nil {
		return err
	}
	if err := r.Applicable(it.Kind); err != nil {
		return fmt.Errorf("consensus: item %d: %w", id, err)
	}
	d := s.Decision(id)
	if d.PendingSenior() && role != workspace.RoleAdjudicator {
		return fmt.Errorf("consensus: item %d waits for senior review; only an adjudicator can resolve it", id)
	}
	var runs Runs
	if r == Redraw {
		if redraw == nil {
			return fmt.Errorf("consensus: item %d: redraw needs an outline", id)
		}
		if err := lesion.CheckGrids(redraw.Grid, s.cmp.Grid); err != nil {
			return fmt.Errorf("consensus: item %d: the redrawn outline is not on the case's grid: %w", id, err)
		}
		if runs = RunsOf(redraw); len(runs) == 0 {
			return fmt.Errorf("consensus: item %d: the redrawn outline is empty (use reject)", id)
		}
	} else if redraw != nil {
		return fmt.Errorf("consensus: item %d: an outline was given for %s", id, r)
	}
	if r == StapleOutline {
		if _, err := s.Staple(who); err != nil {
			return err
		}
	}
	old := d
	d.Resolution, d.By, d.At, d.Redraw = r, who, time.Now().UTC(), runs
	s.rec.Decisions[fmt.Sprint(id)] = d
	if err := s.save(); err != nil {
		s.rec.Decisions[fmt.Sprint(id)] = old
		return err
	}
	det := itemDetails(it)
	det["resolution"] = r.String()
	det["previous"] = old.Resolution.String()
	if old.Senior {
		det["adjudicated"] = true
	}
	if r == Redraw {
		det["redraw_voxels"] = runs.Count()
	}
	return s.c.Audit(who, "consensus resolve", det)
}

// MarkSenior flags item id as needing senior review (clearing any
// resolution): from then on only an adjudicator can resolve it.
func (s *Session) MarkSenior(who string, id int, note string) error {
	it, _, err := s.editable(who, id)
	if err != nil {
		return err
	}
	old := s.Decision(id)
	d := Decision{Senior: true, SeniorBy: who, Note: note}
	s.rec.Decisions[fmt.Sprint(id)] = d
	if err := s.save(); err != nil {
		s.rec.Decisions[fmt.Sprint(id)] = old
		return err
	}
	det := itemDetails(it)
	det["previous"] = old.Resolution.String()
	if note != "" {
		det["note"] = note
	}
	return s.c.Audit(who, "consensus needs senior review", det)
}

// Staple runs STAPLE on the two readers' maps (once per session) and
// records each reader's estimated sensitivity and specificity in the
// session and the audit log. Its Label is the proposed outline the
// StapleOutline resolution takes inside each item.
func (s *Session) Staple(who string) (*StapleResult, error) {
	r, err := s.stapleResult()
	if err != nil {
		return nil, err
	}
	rec := &stapleRecord{Sensitivity: r.Sensitivity, Specificity: r.Specificity, Prior: r.Prior, Iterations: r.Iterations}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	if s.rec.Staple == nil && !s.rec.Final {
		s.rec.Staple = rec
		if err := s.save(); err != nil {
			return nil, err
		}
		if err := s.c.Audit(who, "consensus staple", map[string]any{
			"readers": []string{s.rec.ReaderA, s.rec.ReaderB}, "sensitivity": r.Sensitivity,
			"specificity": r.Specificity, "prior": r.Prior, "iterations": r.Iterations,
		}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// stapleResult computes STAPLE once per session, without recording it.
func (s *Session) stapleResult() (*StapleResult, error) {
	if s.staple != nil {
		return s.staple, nil
	}
	r, err := Staple([]*volume.Label{s.la, s.lb}, DefaultStapleOptions())
	if err != nil {
		return nil, fmt.Errorf("consensus: case %q: %w", s.c.Name(), err)
	}
	s.staple = r
	return r, nil
}

// Preview composes the consensus as it would be if every unresolved item
// were resolved with fallback (for a live overlay); items already decided
// keep their decision. fallback is Union, Reject or StapleOutline (the
// decisions that apply to every kind of item).
func (s *Session) Preview(fallback Resolution) (*volume.Label, error) {
	if fallback != Union && fallback != Reject && fallback != StapleOutline {
		return nil, fmt.Errorf("consensus: preview fallback %s: want union, reject or staple", fallback)
	}
	dec := s.Decisions()
	for id, d := range dec {
		if !d.Resolved() {
			dec[id] = Decision{Resolution: fallback}
		}
	}
	return s.compose(dec)
}

func (s *Session) compose(dec map[int]Decision) (*volume.Label, error) {
	var st *volume.Label
	for _, d := range dec {
		if d.Resolution == StapleOutline {
			r, err := s.stapleResult()
			if err != nil {
				return nil, err
			}
			st = r.Label
			break
		}
	}
	return s.cmp.Compose(dec, st)
}

// CanFinalise says why the consensus cannot be finalised yet (nil when it
// can).
func (s *Session) CanFinalise() error {
	if s.rec.Final {
		return fmt.Errorf("consensus: case %q is already final", s.c.Name())
	}
	open, senior := s.Open(), s.PendingSenior()
	if len(open)+len(senior) > 0 {
		return fmt.Errorf("consensus: case %q is not final: items %v unresolved, items %v wait for the adjudicator", s.c.Name(), open, senior)
	}
	return nil
}

// Finalise composes the consensus label from every decision, writes it to
// labels/consensus.nii.gz (atomically), marks the consensus agreed and the
// case ready for training, and closes the session to changes. It refuses
// while any item is unresolved or waits for the adjudicator.
func (s *Session) Finalise(who string) (*volume.Label, error) {
	if _, err := s.role(who); err != nil {
		return nil, err
	}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	if err := s.CanFinalise(); err != nil {
		return nil, err
	}
	out, err := s.compose(s.Decisions())
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(s.c.ConsensusPath()), 0o755); err != nil {
		return nil, fmt.Errorf("consensus: %w", err)
	}
	if err := nifti.WriteLabel(s.c.ConsensusPath(), out); err != nil {
		return nil, fmt.Errorf("consensus: %w", err)
	}
	s.rec.Final, s.rec.FinalBy, s.rec.FinalAt = true, who, time.Now().UTC()
	if err := s.save(); err != nil {
		s.rec.Final = false
		return nil, err
	}
	counts := map[string]int{}
	for _, d := range s.Decisions() {
		counts[d.Resolution.String()]++
	}
	if err := s.c.Audit(who, "consensus final", map[string]any{
		"items": len(s.cmp.Items), "resolutions": counts, "adjudicated": s.Adjudicated(),
		"voxels": out.Count(), "cm3": out.VolumeCM3(), "file": s.c.ConsensusPath(),
	}); err != nil {
		return nil, err
	}
	if err := s.c.SetConsensus(who, workspace.ConsensusAgreed); err != nil {
		return nil, err
	}
	if err := s.c.SetReadyForTraining(who, true); err != nil {
		return nil, err
	}
	return out, nil
}

// Adjudicated lists the items that were flagged for senior review.
func (s *Session) Adjudicated() []int {
	ids := s.filter(func(d Decision) bool { return d.Senior })
	sort.Ints(ids)
	return ids
}

// Reset sets case c's consensus aside so that it can start again (after a
// reader's labels were corrected, or to revisit a final consensus): only an
// adjudicator or an admin may. consensus.json is renamed to
// consensus-<time>.json and labels/consensus.nii.gz likewise (kept for the
// record, never deleted), the case goes back to "consensus not started"
// and is no longer ready for training, and the audit log says who and why.
func Reset(w *workspace.Workspace, c *workspace.Case, who, reason string) error {
	r, ok := w.Reader(who)
	if !ok || (r.Role != workspace.RoleAdjudicator && r.Role != workspace.RoleAdmin) {
		return fmt.Errorf("consensus: case %q: only an adjudicator or an admin can reset a consensus (%q cannot)", c.Name(), who)
	}
	if reason == "" {
		return fmt.Errorf("consensus: case %q: say why the consensus is reset", c.Name())
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	moved := map[string]string{}
	for _, p := range []string{Path(c), c.ConsensusPath()} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		ext := filepath.Ext(p)
		base := p[:len(p)-len(ext)]
		if ext == ".gz" {
			base = base[:len(base)-len(".nii")]
			ext = ".nii.gz"
		}
		to := base + "-" + stamp + ext
		if err := os.Rename(p, to); err != nil {
			return fmt.Errorf("consensus: reset: %w", err)
		}
		moved[filepath.Base(p)] = filepath.Base(to)
	}
	if c.ReadyForTraining() {
		if err := c.SetReadyForTraining(who, false); err != nil {
			return err
		}
	}
	if c.Consensus() != workspace.ConsensusNotStarted {
		if err := c.SetConsensus(who, workspace.ConsensusNotStarted); err != nil {
			return err
		}
	}
	return c.Audit(who, "consensus reset", map[string]any{"reason": reason, "kept_as": moved})
}

package consensus

import (
	"errors"
	"fmt"
	"math"
	"os"

	"metascope/lesion"
	"metascope/volume"
	"metascope/workspace"
)

// CaseAgreement is how far two readers agreed on one case.
type CaseAgreement struct {
	Case             string  `json:"case"`
	ReaderA          string  `json:"reader_a"`
	ReaderB          string  `json:"reader_b"`
	VoxelDice        float64 `json:"voxel_dice"`
	LesionF1         float64 `json:"lesion_f1"` // NaN when neither reader marked a lesion
	Agreed           int     `json:"agreed"`
	AOnly            int     `json:"a_only"`
	BOnly            int     `json:"b_only"`
	LesionsA         int     `json:"lesions_a"`
	LesionsB         int     `json:"lesions_b"`
	Adjudicated      int     `json:"adjudicated_items"` // items flagged for senior review
	ConsensusStarted bool    `json:"consensus_started"`
	ConsensusFinal   bool    `json:"consensus_final"`
}

// Agreement summarises a comparison. The lesion F1 treats A as reference:
// TP = A's lesions B overlaps, FN = A's lesions B missed, FP = B's
// lesions overlapping none of A's (lesion.Match's rule); F1 = 2TP /
// (2TP+FN+FP), which is symmetric in practice except where one reader
// splits what the other drew as one.
func (c *Comparison) Agreement() CaseAgreement {
	m := c.Matching
	r := CaseAgreement{LesionsA: len(m.Ref), LesionsB: len(m.Test)}
	r.Agreed, r.AOnly, r.BOnly = c.Count()
	var inter, na, nb int
	for v := range c.a {
		na += int(c.a[v])
		nb += int(c.b[v])
		inter += int(c.a[v] & c.b[v])
	}
	if na+nb == 0 {
		r.VoxelDice = 1
	} else {
		r.VoxelDice = 2 * float64(inter) / float64(na+nb)
	}
	tp, fn, fp := m.TP(), m.FN(), m.FP()
	if 2*tp+fn+fp == 0 {
		r.LesionF1 = math.NaN()
	} else {
		r.LesionF1 = 2 * float64(tp) / float64(2*tp+fn+fp)
	}
	return r
}

// WorkspaceAgreement is the agreement over every case whose readers have
// all submitted.
type WorkspaceAgreement struct {
	Cases []CaseAgreement `json:"cases"`
	// Skipped names the cases left out and why (readers still blinded,
	// fewer than two readers).
	Skipped map[string]string `json:"skipped"`
	// MeanVoxelDice and MeanLesionF1 average over the cases (F1 over the
	// cases where it is defined); PooledLesionF1 counts every lesion of
	// every case together.
	MeanVoxelDice  float64 `json:"mean_voxel_dice"`
	MeanLesionF1   float64 `json:"mean_lesion_f1"`
	PooledLesionF1 float64 `json:"pooled_lesion_f1"`
	Agreed         int     `json:"agreed"`
	AOnly          int     `json:"a_only"`
	BOnly          int     `json:"b_only"`
	// CasesAdjudicated counts the cases with an item flagged for senior
	// review, ItemsAdjudicated the items; AdjudicatedFraction is
	// CasesAdjudicated over the cases whose consensus started.
	CasesAdjudicated    int     `json:"cases_adjudicated"`
	ItemsAdjudicated    int     `json:"items_adjudicated"`
	ConsensusStarted    int     `json:"cases_in_consensus"`
	AdjudicatedFraction float64 `json:"adjudicated_fraction"`
}

// Agreement computes the agreement figures of every case of w whose
// blinding is lifted, reading the readers' maps as workspace.NoViewer (so
// no figure about a case still being read is ever produced). The readers
// compared are the consensus session's when one exists, else the case's
// two submitted readers; a case with more than two and no session is
// skipped with the reason.
func Agreement(w *workspace.Workspace, conn lesion.Connectivity) (*WorkspaceAgreement, error) {
	cases, err := w.Cases()
	if err != nil {
		return nil, err
	}
	out := &WorkspaceAgreement{Skipped: map[string]string{}, Cases: []CaseAgreement{}}
	var sumDice, sumF1 float64
	var nF1, tp, fn, fp int
	for _, c := range cases {
		if err := w.CheckConsensusAccess(c, workspace.NoViewer); err != nil || !c.BlindingLifted() {
			out.Skipped[c.Name()] = fmt.Sprintf("readers still reading (waiting for %q)", c.Pending())
			continue
		}
		var rec record
		haveRec := false
		readers := c.SubmittedReaders()
		if err := readRecord(Path(c), &rec); err == nil {
			haveRec = true
			readers = []string{rec.ReaderA, rec.ReaderB}
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("agreement: %w", err)
		}
		if len(readers) != 2 {
			out.Skipped[c.Name()] = fmt.Sprintf("%d submitted readers and no consensus session to say which two to compare", len(readers))
			continue
		}
		var maps [2]*volume.Label
		for i, r := range readers {
			l, err := readerLabel(w, c, workspace.NoViewer, r)
			if err != nil {
				return nil, fmt.Errorf("agreement: %w", err)
			}
			maps[i] = l
		}
		cmp, err := Build(maps[0], maps[1], conn)
		if err != nil {
			return nil, fmt.Errorf("agreement: case %q: %w", c.Name(), err)
		}
		a := cmp.Agreement()
		a.Case, a.ReaderA, a.ReaderB = c.Name(), readers[0], readers[1]
		if haveRec {
			a.ConsensusStarted, a.ConsensusFinal = true, rec.Final
			for _, d := range rec.Decisions {
				if d.Senior {
					a.Adjudicated++
				}
			}
			out.ConsensusStarted++
			if a.Adjudicated > 0 {
				out.CasesAdjudicated++
			}
			out.ItemsAdjudicated += a.Adjudicated
		}
		out.Cases = append(out.Cases, a)
		sumDice += a.VoxelDice
		if !math.IsNaN(a.LesionF1) {
			sumF1 += a.LesionF1
			nF1++
		}
		m := cmp.Matching
		tp, fn, fp = tp+m.TP(), fn+m.FN(), fp+m.FP()
		out.Agreed, out.AOnly, out.BOnly = out.Agreed+a.Agreed, out.AOnly+a.AOnly, out.BOnly+a.BOnly
	}
	out.MeanVoxelDice, out.MeanLesionF1, out.PooledLesionF1, out.AdjudicatedFraction = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	if n := len(out.Cases); n > 0 {
		out.MeanVoxelDice = sumDice / float64(n)
	}
	if nF1 > 0 {
		out.MeanLesionF1 = sumF1 / float64(nF1)
	}
	if 2*tp+fn+fp > 0 {
		out.PooledLesionF1 = 2 * float64(tp) / float64(2*tp+fn+fp)
	}
	if out.ConsensusStarted > 0 {
		out.AdjudicatedFraction = float64(out.CasesAdjudicated) / float64(out.ConsensusStarted)
	}
	return out, nil
}

package segedit

import (
	"fmt"

	"metascope/volume"
)

// HistoryOptions bound the undo history: entries beyond MinSteps are dropped,
// oldest first, once the deltas held exceed BudgetBytes; MinSteps are kept
// whatever they cost.
type HistoryOptions struct {
	MinSteps    int
	BudgetBytes int64
}

// DefaultHistoryOptions keeps at least 100 steps and trims beyond 256 MiB.
func DefaultHistoryOptions() HistoryOptions {
	return HistoryOptions{MinSteps: 100, BudgetBytes: 256 << 20}
}

// Validate checks the options.
func (o HistoryOptions) Validate() error {
	if o.MinSteps < 1 {
		return fmt.Errorf("history MinSteps is %d; must be at least 1", o.MinSteps)
	}
	if o.BudgetBytes < 0 {
		return fmt.Errorf("history BudgetBytes is %d; must not be negative", o.BudgetBytes)
	}
	return nil
}

// Step is one undoable edit: its delta and a sequence number that the
// journal uses to tie undo and redo records to the commit they reverse.
type Step struct {
	Seq   uint64
	Delta Delta
}

// History is a linear undo/redo history of deltas. A new step cuts the redo
// branch, as in ITK-SNAP and every editor users know.
type History struct {
	opts  HistoryOptions
	undo  []Step // oldest first; the last is undone next
	redo  []Step // the last is redone next
	bytes int64
}

// NewHistory makes an empty history.
func NewHistory(o HistoryOptions) (*History, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &History{opts: o}, nil
}

// Push records an applied step, drops the redo branch and trims to the budget.
// Empty deltas are not recorded (an edit that changed nothing is not a step).
func (h *History) Push(s Step) {
	if s.Delta.Empty() {
		return
	}
	for _, r := range h.redo {
		h.bytes -= r.Delta.Bytes()
	}
	h.redo = nil
	h.undo = append(h.undo, s)
	h.bytes += s.Delta.Bytes()
	h.trim()
}

func (h *History) trim() {
	drop := 0
	for h.bytes > h.opts.BudgetBytes && len(h.undo)-drop > h.opts.MinSteps {
		h.bytes -= h.undo[drop].Delta.Bytes()
		drop++
	}
	if drop > 0 {
		h.undo = append(h.undo[:0:0], h.undo[drop:]...)
	}
}

// CanUndo and CanRedo say whether Undo and Redo would do anything.
func (h *History) CanUndo() bool { return len(h.undo) > 0 }
func (h *History) CanRedo() bool { return len(h.redo) > 0 }

// UndoLen and RedoLen count the steps available each way.
func (h *History) UndoLen() int { return len(h.undo) }
func (h *History) RedoLen() int { return len(h.redo) }

// Bytes is the memory held by the recorded deltas.
func (h *History) Bytes() int64 { return h.bytes }

// PeekUndo returns the step Undo would reverse.
func (h *History) PeekUndo() (Step, bool) {
	if len(h.undo) == 0 {
		return Step{}, false
	}
	return h.undo[len(h.undo)-1], true
}

// PeekRedo returns the step Redo would reapply.
func (h *History) PeekRedo() (Step, bool) {
	if len(h.redo) == 0 {
		return Step{}, false
	}
	return h.redo[len(h.redo)-1], true
}

// Undo reverses the latest step on l and returns it.
func (h *History) Undo(l *volume.Label) (Step, bool) {
	s, ok := h.PeekUndo()
	if !ok {
		return Step{}, false
	}
	s.Delta.Undo(l)
	h.undo = h.undo[:len(h.undo)-1]
	h.redo = append(h.redo, s)
	return s, true
}

// Redo reapplies the latest undone step on l and returns it.
func (h *History) Redo(l *volume.Label) (Step, bool) {
	s, ok := h.PeekRedo()
	if !ok {
		return Step{}, false
	}
	s.Delta.Redo(l)
	h.redo = h.redo[:len(h.redo)-1]
	h.undo = append(h.undo, s)
	return s, true
}

// Clear forgets every step.
func (h *History) Clear() {
	h.undo, h.redo, h.bytes = nil, nil, 0
}

package segedit

import "fmt"

// SaveResume writes the resume state last given to SetResume to its file
// now, atomically, without a checkpoint: a checkpoint rewrites the whole
// label, while the cursor moves on every click, and a reader who crashes
// between checkpoints should still find the cursor where it was.
func (s *Session) SaveResume() error {
	if err := s.saveResume(); err != nil {
		return fmt.Errorf("save resume state of %s: %w", s.opts.Reader, err)
	}
	return nil
}

package volume

import (
	"fmt"
	"strings"
)

// Sequence names one of the four MRI sequences of a case. Its order is the
// network's input channel order.
type Sequence int

const (
	T1 Sequence = iota
	T2
	T1c // T1 after gadolinium: the reference grid of a case
	FLAIR
)

// Sequences lists the four in channel order.
var Sequences = [4]Sequence{T1, T2, T1c, FLAIR}

var sequenceNames = [4]string{"t1", "t2", "t1c", "flair"}

// String is the lower-case file stem used on disk ("t1", "t2", "t1c", "flair").
func (s Sequence) String() string {
	if s < 0 || int(s) >= len(sequenceNames) {
		return fmt.Sprintf("sequence(%d)", int(s))
	}
	return sequenceNames[s]
}

// Title is the name shown to users ("T1", "T2", "T1c", "FLAIR").
func (s Sequence) Title() string {
	switch s {
	case T1:
		return "T1"
	case T2:
		return "T2"
	case T1c:
		return "T1c"
	case FLAIR:
		return "FLAIR"
	}
	return s.String()
}

// ParseSequence accepts the file stems and common spellings (T1C, t1ce,
// t1gd, t1post, FLAIR).
func ParseSequence(name string) (Sequence, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "t1", "t1w":
		return T1, nil
	case "t2", "t2w":
		return T2, nil
	case "t1c", "t1ce", "t1gd", "t1post", "t1+c", "t1-gd":
		return T1c, nil
	case "flair", "t2flair", "t2-flair":
		return FLAIR, nil
	}
	return 0, fmt.Errorf("unknown sequence %q (want t1, t2, t1c or flair)", name)
}

package workspace

import "fmt"

// Role is what a reader may do in a workspace.
type Role int

const (
	RoleReader      Role = iota // draws labels
	RoleAdjudicator             // settles disagreements between readers
	RoleAdmin                   // manages cases, readers and models
)

var roleNames = []string{"reader", "adjudicator", "admin"}

func (r Role) String() string { return enumString(roleNames, int(r), "role") }

// MarshalText writes the role's name.
func (r Role) MarshalText() ([]byte, error) { return enumMarshal(roleNames, int(r), "role") }

// UnmarshalText parses a role's name.
func (r *Role) UnmarshalText(b []byte) error { return enumParse(roleNames, b, "role", (*int)(r)) }

// ParseRole parses "reader", "adjudicator" or "admin".
func ParseRole(s string) (Role, error) {
	var r Role
	err := r.UnmarshalText([]byte(s))
	return r, err
}

// ReaderStatus is how far one reader is with one case.
type ReaderStatus int

const (
	NotStarted ReaderStatus = iota
	InProgress
	Submitted
)

var readerStatusNames = []string{"not started", "in progress", "submitted"}

func (s ReaderStatus) String() string { return enumString(readerStatusNames, int(s), "reader status") }

// MarshalText writes the status's name.
func (s ReaderStatus) MarshalText() ([]byte, error) {
	return enumMarshal(readerStatusNames, int(s), "reader status")
}

// UnmarshalText parses a status's name.
func (s *ReaderStatus) UnmarshalText(b []byte) error {
	return enumParse(readerStatusNames, b, "reader status", (*int)(s))
}

// ConsensusState is how far the readers' consensus on a case is.
type ConsensusState int

const (
	ConsensusNotStarted ConsensusState = iota
	ConsensusInProgress
	ConsensusAgreed // the consensus label is final (agreed or adjudicated)
)

var consensusNames = []string{"not started", "in progress", "agreed"}

func (s ConsensusState) String() string { return enumString(consensusNames, int(s), "consensus state") }

// MarshalText writes the state's name.
func (s ConsensusState) MarshalText() ([]byte, error) {
	return enumMarshal(consensusNames, int(s), "consensus state")
}

// UnmarshalText parses a state's name.
func (s *ConsensusState) UnmarshalText(b []byte) error {
	return enumParse(consensusNames, b, "consensus state", (*int)(s))
}

// CaseStatus summarises a case for lists; it is derived from the reader
// statuses and the consensus state, never stored.
type CaseStatus int

const (
	CaseNew         CaseStatus = iota // imported, nobody has started
	CaseReading                       // at least one reader started, not all submitted
	CaseRead                          // every reader who started has submitted
	CaseInConsensus                   // consensus in progress
	CaseDone                          // consensus agreed
)

var caseStatusNames = []string{"new", "reading", "read", "in consensus", "done"}

func (s CaseStatus) String() string { return enumString(caseStatusNames, int(s), "case status") }

// MarshalText writes the status's name.
func (s CaseStatus) MarshalText() ([]byte, error) {
	return enumMarshal(caseStatusNames, int(s), "case status")
}

func enumString(names []string, v int, what string) string {
	if v < 0 || v >= len(names) {
		return fmt.Sprintf("%s(%d)", what, v)
	}
	return names[v]
}

func enumMarshal(names []string, v int, what string) ([]byte, error) {
	if v < 0 || v >= len(names) {
		return nil, fmt.Errorf("invalid %s %d", what, v)
	}
	return []byte(names[v]), nil
}

func enumParse(names []string, b []byte, what string, dst *int) error {
	for i, n := range names {
		if string(b) == n {
			*dst = i
			return nil
		}
	}
	return fmt.Errorf("unknown %s %q (want one of %q)", what, b, names)
}

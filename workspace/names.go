package workspace

import (
	"fmt"
	"strings"
	"unicode"
)

// ValidName checks a case, reader or model name: it becomes a file or folder
// name, so it must be non-empty, at most 100 characters, without path
// separators, control characters or a leading dot (which also rules out "."
// and ".."), and not the reserved word "consensus".
func ValidName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("name is empty")
	case len(name) > 100:
		return fmt.Errorf("name %.20q... is longer than 100 characters", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("name %q must not start with a dot", name)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("name %q must not start or end with spaces", name)
	case strings.EqualFold(name, "consensus"):
		return fmt.Errorf("name %q is reserved", name)
	}
	for _, r := range name {
		if r == '/' || r == '\\' || r == ':' || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return fmt.Errorf("name %q contains %q; use letters, digits, spaces, '-', '_' or '.'", name, r)
		}
	}
	return nil
}

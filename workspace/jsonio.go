package workspace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"metascope/internal/atomicfile"
)

// maxJSON bounds the size of a workspace or case file read from disk.
const maxJSON = 16 << 20

// writeJSON writes v as indented JSON, atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}

// readJSON decodes path strictly (unknown fields and trailing data are
// errors) and names the file in every error.
func readJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxJSON+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxJSON {
		return fmt.Errorf("%s: larger than %d bytes", path, maxJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: bad JSON: %w", path, err)
	}
	if dec.More() {
		return fmt.Errorf("%s: bad JSON: trailing data after the object", path)
	}
	return nil
}

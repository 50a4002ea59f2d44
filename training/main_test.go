package training

import (
	"os"
	"testing"
)

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "metascope-training-test-") }

func TestMain(m *testing.M) {
	code := m.Run()
	if cohortDir != "" {
		os.RemoveAll(cohortDir)
	}
	os.Exit(code)
}

package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestRunsBeforeFyne starts this test binary again under LANG=C.UTF-8, the
// default of Debian machines and containers: Fyne's start-up must not log
// that it cannot parse the locale (langenv's init has to run before
// Fyne's, by import path order).
func TestRunsBeforeFyne(t *testing.T) {
	if os.Getenv("METASCOPE_LANGENV_CHILD") != "" {
		return // the child: starting was the test
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunsBeforeFyne$")
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "LANG=") && !strings.HasPrefix(e, "LC_ALL=") && !strings.HasPrefix(e, "LC_MESSAGES=") {
			env = append(env, e)
		}
	}
	cmd.Env = append(env, "LANG=C.UTF-8", "METASCOPE_LANGENV_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "locale") {
		t.Errorf("start-up under LANG=C.UTF-8 logged:\n%s", out)
	}
}

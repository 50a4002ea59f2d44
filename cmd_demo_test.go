package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// The GUI commands refuse bad flags before any window opens.
func TestGUICommandFlags(t *testing.T) {
	cases := []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"demo", "--size", "huge"}, exitUsage, "--size"},
		{[]string{"demo", "--cases", "0"}, exitUsage, "Cases"},
		{[]string{"demo", "extra"}, exitUsage, "Usage: metascope demo"},
		{[]string{"demo", "-h"}, exitOK, "phantom"},
		{[]string{"gui", "extra"}, exitUsage, "Usage: metascope gui"},
		{[]string{"gui", "--nope"}, exitUsage, "not defined"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if got := run(c.args, &out, &errb); got != c.code {
			t.Errorf("%v: exit %d, want %d\n%s", c.args, got, c.code, errb.String())
		}
		if !strings.Contains(out.String()+errb.String(), c.say) {
			t.Errorf("%v: output lacks %q:\n%s%s", c.args, c.say, out.String(), errb.String())
		}
	}
}

// Without a display, `metascope` alone explains and prints the usage
// instead of crashing in GLFW, and makes no demo workspace.
func TestNoDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", home)
	for _, args := range [][]string{nil, {"demo"}, {"gui", "--workspace", home}} {
		var out, errb bytes.Buffer
		if got := run(args, &out, &errb); got != exitError {
			t.Errorf("%v: exit %d, want %d", args, got, exitError)
		}
		if !strings.Contains(errb.String(), "no display") {
			t.Errorf("%v: stderr %q", args, errb.String())
		}
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("files made without a display: %v", entries)
	}
}

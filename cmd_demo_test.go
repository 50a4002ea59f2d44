package main

import (
	"bytes"
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

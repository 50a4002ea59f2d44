package langenv

import "testing"

func TestFix(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{"LANG": "C.UTF-8"}, true},
		{map[string]string{"LANG": "C.utf8"}, true},
		{map[string]string{"LANG": "POSIX.UTF-8"}, true},
		{map[string]string{"LANG": "C"}, false},
		{map[string]string{"LANG": "en_GB.UTF-8"}, false},
		{map[string]string{}, false},
		{map[string]string{"LANG": "C.UTF-8", "LC_ALL": "de_DE.UTF-8"}, false},
		{map[string]string{"LANG": "C.UTF-8", "LC_MESSAGES": "fr_FR.UTF-8"}, false},
	} {
		got := map[string]string{}
		did := fix(func(k string) string { return tc.env[k] }, func(k, v string) error { got[k] = v; return nil })
		if did != tc.want || (did && got["LC_MESSAGES"] != "C") || (!did && len(got) != 0) {
			t.Errorf("%v: fix %v, set %v", tc.env, did, got)
		}
	}
}

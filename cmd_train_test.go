package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestTrainFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--out", "m"}, exitUsage, "--data and --out are required"},
		{[]string{"--data", "d", "--out", "m", "--config", "huge"}, exitUsage, "unknown network preset"},
		{[]string{"--data", "d", "--out", "m", "--patch", "25"}, exitUsage, "patch_size 25"},
		{[]string{"--data", "d", "--out", "m", "--folds", "0"}, exitUsage, "folds 0"},
		{[]string{"--eval-only", "--model", "m"}, exitUsage, "--eval-only needs --model and --test"},
		{[]string{"--data", t.TempDir(), "--out", "m"}, exitError, "not a workspace"},
		{[]string{"--eval-only", "--model", t.TempDir(), "--test", "x"}, exitError, "model.json"},
		{[]string{"extra"}, exitUsage, "unexpected arguments"},
	} {
		var out, errb bytes.Buffer
		code := cmdTrain(tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.msg) {
			t.Errorf("%v: code %d, stderr %q; want %d and %q", tc.args, code, errb.String(), tc.code, tc.msg)
		}
	}
	var out, errb bytes.Buffer
	if code := cmdDemoModel(nil, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "--work is required") {
		t.Errorf("demomodel without --work: %d %q", code, errb.String())
	}
}

package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"metascope/phantom"
	"metascope/workspace"
)

func TestPhantomCommand(t *testing.T) {
	dir := t.TempDir()
	wsDir := filepath.Join(t.TempDir(), "ws")
	var out, errb bytes.Buffer
	code := run([]string{"phantom", "--cases", "2", "--seed", "3", "--out", dir, "--quiet", "--workspace", wsDir}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	m, err := phantom.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Cases) != 2 || !strings.Contains(out.String(), "2 cases") {
		t.Fatalf("manifest has %d cases; output %q", len(m.Cases), out.String())
	}
	for _, f := range []string{"t1.nii.gz", "t2.nii.gz", "t1c.nii.gz", "flair.nii.gz", "label.nii.gz", "lesions.json", "truth.json"} {
		if _, err := os.Stat(filepath.Join(dir, m.Cases[0].Dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	w, err := workspace.Open(wsDir)
	if err != nil {
		t.Fatal(err)
	}
	names, err := w.CaseNames()
	if err != nil || len(names) != 2 {
		t.Fatalf("workspace cases %v, %v", names, err)
	}
	c, err := w.Case(names[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Consensus() != workspace.ConsensusAgreed || !c.ReadyForTraining() {
		t.Errorf("imported phantom case: consensus %s, ready %v", c.Consensus(), c.ReadyForTraining())
	}
	if _, err := os.Stat(c.ConsensusPath()); err != nil {
		t.Errorf("no consensus label: %v", err)
	}

	pngPath := filepath.Join(t.TempDir(), "sheet.png")
	out.Reset()
	if code := run([]string{"phantom", "--sheet", filepath.Join(dir, m.Cases[0].Dir), "--png", pngPath}, &out, &errb); code != exitOK {
		t.Fatalf("sheet: exit %d: %s", code, errb.String())
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 400 {
		t.Errorf("contact sheet is %v", b)
	}
}

func TestPhantomCommandErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"phantom", "--cases", "2"}, &out, &errb); code != exitUsage {
		t.Errorf("no --out: exit %d", code)
	}
	if code := run([]string{"phantom", "--out", t.TempDir(), "--size", "huge"}, &out, &errb); code != exitUsage {
		t.Errorf("bad size: exit %d", code)
	}
	if code := run([]string{"phantom", "--out", t.TempDir(), "--cases", "0"}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "Cases") {
		t.Errorf("zero cases: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	missing := filepath.Join(t.TempDir(), "nope")
	if code := run([]string{"phantom", "--sheet", missing, "--png", filepath.Join(t.TempDir(), "x.png")}, &out, &errb); code != exitError || !strings.Contains(errb.String(), missing) {
		t.Errorf("missing case: exit %d, %q", code, errb.String())
	}
}

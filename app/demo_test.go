package app

import (
	"context"
	"os"
	"testing"

	"metascope/inference"
	"metascope/phantom"
)

// TestDemoCasesGetCandidates makes a demo case with Candidates set: after
// the case is announced, the default model runs over it and its candidate
// list is in the case, so a fresh demo has AI candidates to review.
func TestDemoCasesGetCandidates(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: preprocessing and inference take seconds")
	}
	dir := t.TempDir()
	ws, err := PrepareDemo(dir)
	if err != nil {
		t.Fatal(err)
	}
	saveTinyDemoModel(t, dir)
	var announced []string
	o := DemoOptions{Cases: 1, Size: phantom.Small, Seed: DefaultDemoOptions().Seed, Align: true, Candidates: true}
	if err := MakeDemoCases(context.Background(), ws, o, nil, func(name string) { announced = append(announced, name) }); err != nil {
		t.Fatal(err)
	}
	if len(announced) != 2 || announced[0] != "demo-01" || announced[1] != "demo-01" {
		t.Fatalf("announced %v; want demo-01 when made and again with its candidates", announced)
	}
	c, err := ws.Case("demo-01")
	if err != nil {
		t.Fatal(err)
	}
	list, label, prob := inference.CandidatePaths(c.CandidatesDir(), inference.DemoModelName)
	for _, p := range []string{list, label, prob} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("demo case has no %s: %v", p, err)
		}
	}
}

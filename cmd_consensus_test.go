package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// twoReaderWorkspace imports the small MNI head as all four sequences and
// writes two readers' labels that disagree in known ways: item 1 shared
// (B's box shifted one voxel), item 2 only A, item 3 only B.
func twoReaderWorkspace(t *testing.T) (string, *workspace.Case) {
	t.Helper()
	head := smallHead(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "head.nii.gz")
	if err := nifti.WriteVolume(src, head); err != nil {
		t.Fatal(err)
	}
	wsDir := filepath.Join(dir, "ws")
	w, err := workspace.Create(wsDir)
	if err != nil {
		t.Fatal(err)
	}
	for name, role := range map[string]workspace.Role{"Dr A": workspace.RoleReader, "Dr B": workspace.RoleReader, "Dr S": workspace.RoleAdjudicator} {
		if err := w.AddReader(name, role); err != nil {
			t.Fatal(err)
		}
	}
	req := workspace.ImportRequest{Name: "case-01", Sources: map[volume.Sequence]workspace.Source{}}
	for _, s := range volume.Sequences {
		req.Sources[s] = workspace.Source{Path: src}
	}
	c, err := w.Import(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	t1c, err := nifti.ReadHeader(c.ImagePath(volume.T1c))
	if err != nil {
		t.Fatal(err)
	}
	g := volume.Grid{Dims: t1c.Dims, Affine: t1c.Affine}
	box := func(l *volume.Label, lo, hi [3]int) {
		for k := lo[2]; k <= hi[2]; k++ {
			for j := lo[1]; j <= hi[1]; j++ {
				for i := lo[0]; i <= hi[0]; i++ {
					l.Set(i, j, k, 1)
				}
			}
		}
	}
	a, b := volume.NewLabel(g), volume.NewLabel(g)
	box(a, [3]int{3, 3, 3}, [3]int{7, 7, 6})
	box(b, [3]int{4, 3, 3}, [3]int{8, 7, 6})
	box(a, [3]int{14, 12, 5}, [3]int{16, 14, 7})
	box(b, [3]int{18, 3, 8}, [3]int{21, 5, 10})
	for r, l := range map[string]*volume.Label{"Dr A": a, "Dr B": b} {
		if err := os.MkdirAll(filepath.Dir(c.LabelPath(r)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := nifti.WriteLabel(c.LabelPath(r), l); err != nil {
			t.Fatal(err)
		}
		if err := c.SetReaderStatus(r, workspace.InProgress); err != nil {
			t.Fatal(err)
		}
	}
	return wsDir, c
}

func TestConsensusCommandWorkflow(t *testing.T) {
	ws, c := twoReaderWorkspace(t)
	base := []string{"consensus", "--workspace", ws, "--case", "case-01"}
	cmd := func(as string, extra ...string) (int, string, string) {
		return runCmd(append(append(append([]string{}, base...), "--as", as), extra...)...)
	}
	out := filepath.Join(t.TempDir(), "dataset")

	// Blinding on every command-line path while the readers read.
	if code, so, se := cmd("Dr B", "--labels", "Dr A"); code != exitError || !strings.Contains(se, "blinded") || strings.Contains(so, "lesions") {
		t.Errorf("B listed A's labels: %d %q %q", code, so, se)
	}
	if code, so, _ := cmd("Dr B", "--labels", "Dr B"); code != exitOK || !strings.Contains(so, "2 lesions") {
		t.Errorf("B cannot list their own labels: %d %q", code, so)
	}
	if code, _, se := cmd("Dr B"); code != exitError || !strings.Contains(se, "submitted") {
		t.Errorf("consensus opened before submission: %d %q", code, se)
	}
	if code, _, _ := runCmd("export", "--workspace", ws, "--out", out); code != exitError {
		t.Error("export succeeded without a ready case")
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("a failed export left its folder")
	}
	if code, so, _ := runCmd("agreement", "--workspace", ws); code != exitOK || !strings.Contains(so, "left out case-01") || strings.Contains(so, "Dr A\tDr B") {
		t.Errorf("agreement on a blinded case: %d %q", code, so)
	}
	if code, so, _ := cmd("Dr A", "--submit"); code != exitOK || !strings.Contains(so, "waits for") {
		t.Errorf("A's submission: %d %q", code, so)
	}
	if code, _, se := cmd("Dr A", "--labels", "Dr B"); code != exitError || !strings.Contains(se, "blinded") {
		t.Errorf("A saw B's labels after submitting alone: %d %q", code, se)
	}

	// B submits: the consensus opens with the three items.
	code, so, se := cmd("Dr B", "--submit")
	if code != exitOK {
		t.Fatalf("B's submission: %d %q", code, se)
	}
	for _, want := range []string{"3 items", "\n1 agreed ", "\n2 A only ", "\n3 B only ", "items [1 2 3] unresolved"} {
		if !strings.Contains(squeeze(so), want) {
			t.Errorf("item list lacks %q:\n%s", want, so)
		}
	}
	if code, so, se = cmd("Dr A", "--resolve", "1=union", "--resolve", "2=senior", "--note", "vessel?", "--staple"); code != exitOK ||
		!strings.Contains(so, "needs senior review") || !strings.Contains(so, "sensitivity") || !strings.Contains(so, "items [3] unresolved, items [2] wait") {
		t.Errorf("resolving: %d %q %q", code, so, se)
	}
	if code, _, se = cmd("Dr B", "--resolve", "2=accept-a"); code != exitError || !strings.Contains(se, "adjudicator") {
		t.Errorf("a reader resolved a senior item: %d %q", code, se)
	}
	if code, _, _ = cmd("Dr B", "--resolve", "2=bogus"); code != exitUsage {
		t.Errorf("bad resolution: exit %d", code)
	}
	if code, so, se = cmd("Dr S", "--resolve", "2=accept-a", "--resolve", "3=reject"); code != exitOK || !strings.Contains(so, "consensus written") {
		t.Fatalf("adjudication: %d %q %q", code, so, se)
	}
	l, err := nifti.ReadLabel(c.ConsensusPath())
	if err != nil {
		t.Fatal(err)
	}
	// Union of the shared boxes (6x5x4) and A's box (3x3x3).
	if n := l.Count(); n != 6*5*4+27 {
		t.Errorf("consensus has %d voxels, want %d", n, 6*5*4+27)
	}
	if code, so, _ = runCmd("agreement", "--workspace", ws); code != exitOK || !strings.Contains(so, "adjudicator needed in 1 of 1") ||
		!strings.Contains(so, "1 agreed, 1 only reader A, 1 only reader B") {
		t.Errorf("agreement: %d %q", code, so)
	}
	if code, so, _ = runCmd("agreement", "--workspace", ws, "--json"); code != exitOK || !strings.Contains(so, `"lesion_f1": 0.5`) {
		t.Errorf("agreement JSON: %d %q", code, so)
	}
	if code, so, se = runCmd("export", "--workspace", ws, "--out", out, "--as", "Dr S"); code != exitOK || !strings.Contains(so, "exported 1 cases") {
		t.Fatalf("export: %d %q %q", code, so, se)
	}
	back, err := nifti.ReadLabel(filepath.Join(out, "labelsTr", "case-01.nii.gz"))
	if err != nil || back.Count() != l.Count() {
		t.Errorf("exported label: %v", err)
	}
	if code, _, _ = runCmd("export", "--workspace", ws); code != exitUsage {
		t.Error("export without --out")
	}
}

// squeeze collapses runs of spaces (tabwriter padding) to one.
func squeeze(s string) string {
	for strings.Contains(s, "  ") {
		s = strings.ReplaceAll(s, "  ", " ")
	}
	return s
}

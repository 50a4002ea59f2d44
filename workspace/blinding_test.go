package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"metascope/volume"
	"metascope/volume/nifti"
)

// TestBlindingMatrix checks CheckLabelAccess for every viewer, owner,
// reading stage and setting, and that OpenLabel and OpenConsensusLabel
// obey it.
func TestBlindingMatrix(t *testing.T) {
	dir := t.TempDir()
	srcs, vols := fourSources(t, dir)
	w, err := Create(filepath.Join(dir, "ws"))
	if err != nil {
		t.Fatal(err)
	}
	for name, role := range map[string]Role{"A": RoleReader, "B": RoleReader, "S": RoleAdjudicator, "M": RoleAdmin} {
		if err := w.AddReader(name, role); err != nil {
			t.Fatal(err)
		}
	}
	c, err := w.AddCase("c1", srcs)
	if err != nil {
		t.Fatal(err)
	}
	lab := volume.NewLabel(vols[volume.T1c].Grid)
	lab.Data[5] = 1
	for _, r := range []string{"A", "B"} {
		if err := os.MkdirAll(filepath.Dir(c.LabelPath(r)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := nifti.WriteLabel(c.LabelPath(r), lab); err != nil {
			t.Fatal(err)
		}
	}
	stages := []struct {
		name string
		a, b ReaderStatus
	}{
		{"none started", NotStarted, NotStarted},
		{"A reading", InProgress, NotStarted},
		{"A submitted, B reading", Submitted, InProgress},
		{"both submitted", Submitted, Submitted},
	}
	viewers := []string{"A", "B", "S", "M", NoViewer}
	for _, blinding := range []bool{true, false} {
		if err := w.SetSettings(Settings{Blinding: blinding}); err != nil {
			t.Fatal(err)
		}
		for _, st := range stages {
			if err := c.SetReaderStatus("A", st.a); err != nil {
				t.Fatal(err)
			}
			if err := c.SetReaderStatus("B", st.b); err != nil {
				t.Fatal(err)
			}
			lifted := st.name == "both submitted"
			if c.BlindingLifted() != lifted {
				t.Errorf("%s: BlindingLifted %v", st.name, c.BlindingLifted())
			}
			for _, v := range viewers {
				for _, owner := range []string{"A", "B"} {
					want := v == owner || !blinding || lifted
					err := w.CheckLabelAccess(c, v, owner)
					if (err == nil) != want || (err != nil && !errors.Is(err, ErrBlinded)) {
						t.Errorf("blinding %v, %s: %q sees %q's labels: %v, want %v", blinding, st.name, v, owner, err, want)
					}
					l, err := w.OpenLabel(c, v, owner)
					if (err == nil) != want || (want && l.Count() != 1) {
						t.Errorf("blinding %v, %s: OpenLabel(%q, %q): %v", blinding, st.name, v, owner, err)
					}
				}
				if err := w.CheckConsensusAccess(c, v); (err == nil) != lifted {
					t.Errorf("blinding %v, %s: %q sees the consensus: %v", blinding, st.name, v, err)
				}
			}
		}
	}
	if err := w.CheckLabelAccess(c, "stranger", "A"); err == nil {
		t.Error("a stranger passed the check")
	}
	if _, err := w.OpenLabel(c, "A", "../A"); err == nil {
		t.Error("a path as owner")
	}
	if _, err := w.OpenLabel(c, "S", "S"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("labels never drawn: %v", err)
	}
	if _, err := w.OpenConsensusLabel(c, "A"); err == nil {
		t.Error("opened a consensus that was never written")
	}
}

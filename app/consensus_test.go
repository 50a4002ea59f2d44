package app

import (
	"strings"
	"testing"

	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// Reader A submits alone while reader B still draws: A's workstation must
// not show B's labels (nor the consensus) by any path: no layer, no entry
// in the lesion table's "of" selector, no value in the status bar.
func TestBlindingSubmittedAloneSeesNothingOfB(t *testing.T) {
	dir := smallDemo(t)
	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ws.Case("demo-01")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := nifti.ReadVolume(c.ImagePath(volume.T1c))
	if err != nil {
		t.Fatal(err)
	}
	b := volume.NewLabel(ref.Grid)
	at := [3]int{ref.Grid.Dims[0] / 2, ref.Grid.Dims[1] / 2, ref.Grid.Dims[2] / 2}
	for dk := -1; dk <= 1; dk++ {
		b.Set(at[0], at[1], at[2]+dk, 1)
	}
	if err := nifti.WriteLabel(c.LabelPath("Dr B"), b); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReaderStatus("Dr B", workspace.InProgress); err != nil {
		t.Fatal(err)
	}
	// A stale consensus file must not show either.
	if err := nifti.WriteLabel(c.ConsensusPath(), b); err != nil {
		t.Fatal(err)
	}

	w := openStation(t, dir, Options{Reader: "Dr A"})
	defer w.Close()
	loaded := make(chan error, 1)
	w.onLoaded = func(_ string, err error) { loaded <- err }
	w.submit()
	waitLoaded(t, loaded)
	if st := w.cd.c.ReaderStatus("Dr A"); st != workspace.Submitted {
		t.Fatalf("Dr A status %v after submitting", st)
	}
	leak := func(s string) bool { return strings.Contains(s, "Dr B") || strings.Contains(s, "Consensus") }
	for _, l := range w.cd.layers {
		if l.kind == layerReader || l.kind == layerConsensus || leak(l.name) {
			t.Errorf("Dr A (submitted, Dr B in progress) has layer %q", l.name)
		}
	}
	for _, o := range w.ui.lesionOf.Options {
		if leak(o) {
			t.Errorf("lesion table offers %q to Dr A", o)
		}
	}
	w.SetCursor(at)
	w.updateStatus(at)
	if leak(w.ui.status.Text) {
		t.Errorf("status bar at Dr B's voxel shows %q", w.ui.status.Text)
	}
	// The access point agrees: Dr A may see only her own labels.
	if got := w.ws.VisibleReaders(w.cd.c, "Dr A"); len(got) != 1 || got[0] != "Dr A" {
		t.Errorf("VisibleReaders = %v", got)
	}
}

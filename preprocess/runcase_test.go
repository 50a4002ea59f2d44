package preprocess

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"metascope/volume"
	"metascope/volume/nifti"
)

// writeCaseFolder writes a 4 mm MNI case's four images into a folder.
func writeCaseFolder(t *testing.T) string {
	t.Helper()
	in, _ := mniCase(t, 4, 1)
	dir := t.TempDir()
	for _, s := range volume.Sequences {
		if err := nifti.WriteVolume(filepath.Join(dir, ImageFile(s)), in.Images[s]); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRunCaseWritesAndReads(t *testing.T) {
	dir := writeCaseFolder(t)
	out := filepath.Join(dir, "preproc")
	var last float64
	var stages []string
	res, err := RunCase(context.Background(), FolderFiles(dir), out, fastOptions(), func(stage string, done float64) {
		if done < last-1e-9 {
			t.Errorf("progress went back from %.3f to %.3f at %q", last, done, stage)
		}
		last = done
		stages = append(stages, stage)
	})
	if err != nil {
		t.Fatal(err)
	}
	if last != 1 || len(stages) < 3 {
		t.Errorf("progress ended at %.3f after %d reports", last, len(stages))
	}
	back, ran, err := ReadOrRunCase(context.Background(), FolderFiles(dir), out, fastOptions(), nil)
	if err != nil || ran {
		t.Fatalf("second run: ran %v, %v", ran, err)
	}
	if back.Grid.Dims != res.Grid.Dims || back.BrainMask.Count() != res.BrainMask.Count() {
		t.Errorf("read back grid %v brain %d, written %v %d", back.Grid.Dims, back.BrainMask.Count(), res.Grid.Dims, res.BrainMask.Count())
	}
}

func TestRunCaseCancelAndErrors(t *testing.T) {
	dir := writeCaseFolder(t)
	out := filepath.Join(dir, "preproc")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := RunCase(ctx, FolderFiles(dir), out, fastOptions(), func(stage string, done float64) {
		if done > 0.05 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run returned %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a cancelled run wrote %s (%v)", out, err)
	}

	// A corrupt image: the error names the sequence and the file.
	bad := FolderFiles(dir)[volume.FLAIR]
	if err := os.WriteFile(bad, []byte("not a nifti file"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = RunCase(context.Background(), FolderFiles(dir), out, fastOptions(), nil)
	if err == nil || !strings.Contains(err.Error(), "FLAIR") || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt FLAIR: %v", err)
	}
	if _, err := RunCase(context.Background(), FolderFiles(dir), "", fastOptions(), nil); err == nil {
		t.Error("no output folder accepted")
	}
}

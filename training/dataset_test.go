package training

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"metascope/phantom"
	"metascope/volume"
)

func TestOpenPhantomCohort(t *testing.T) {
	dir := t.TempDir()
	co := phantom.DefaultCohortOptions(phantom.Small)
	co.Cases, co.Seed, co.TestFraction = 5, 3, 0.4
	m, err := phantom.GenerateCohort(context.Background(), co, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := OpenDataset(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != "phantom" || len(d.Train) != len(m.Train) || len(d.Test) != len(m.Test) || len(d.Test) != 2 {
		t.Fatalf("kind %s, %d train %d test; manifest %d/%d", d.Kind, len(d.Train), len(d.Test), len(m.Train), len(m.Test))
	}
	for _, c := range append(d.Train, d.Test...) {
		for _, p := range append(c.Images[:], c.Label) {
			if _, err := os.Stat(p); err != nil {
				t.Error(err)
			}
		}
	}
}

// writeDecathlon lays out cases as nnU-Net expects (channels in the order
// of channel_names, which here is not Metascope's) with their preprocessing
// already cached.
func writeDecathlon(t *testing.T, dir string, cases []Case, names map[string]string) {
	t.Helper()
	for _, sub := range []string{"imagesTr", "labelsTr"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile := func(src, dst string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	order := map[string]volume.Sequence{"FLAIR": volume.FLAIR, "T1": volume.T1, "T1c": volume.T1c, "T2": volume.T2}
	for _, c := range cases {
		for k, name := range names {
			copyFile(c.Images[order[name]], filepath.Join(dir, "imagesTr", c.Name+"_000"+k+".nii.gz"))
		}
		copyFile(c.Label, filepath.Join(dir, "labelsTr", c.Name+".nii.gz"))
		pd := filepath.Join(dir, "preproc", c.Name)
		if err := os.MkdirAll(pd, 0o755); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(c.PreprocDir)
		for _, e := range entries {
			if e.Name() != TrainCacheFile {
				copyFile(filepath.Join(c.PreprocDir, e.Name()), filepath.Join(pd, e.Name()))
			}
		}
	}
	js, _ := json.Marshal(map[string]any{"channel_names": names, "labels": map[string]int{"background": 0, "metastasis": 1},
		"numTraining": len(cases), "file_ending": ".nii.gz"})
	if err := os.WriteFile(filepath.Join(dir, "dataset.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenDecathlon(t *testing.T) {
	cases := testCases(t, 2)
	dir := t.TempDir()
	names := map[string]string{"0": "FLAIR", "1": "T1", "2": "T1c", "3": "T2"}
	writeDecathlon(t, dir, cases, names)
	d, err := OpenDataset(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != "decathlon" || len(d.Train) != 2 {
		t.Fatalf("kind %s, %d cases", d.Kind, len(d.Train))
	}
	if got := filepath.Base(d.Train[0].Images[volume.T1c]); got != cases[0].Name+"_0002.nii.gz" {
		t.Errorf("T1c of %s is %s", cases[0].Name, got)
	}
	// The case reads through its cached preprocessing and matches the
	// original's training copy.
	a, err := loadTrainCase(context.Background(), d.Train[1])
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadTrainCase(context.Background(), cases[1])
	if err != nil {
		t.Fatal(err)
	}
	if a.Dims != b.Dims || len(a.lesion) != len(b.lesion) || len(a.background) != len(b.background) {
		t.Errorf("decathlon copy %v %d/%d, original %v %d/%d", a.Dims, len(a.lesion), len(a.background), b.Dims, len(b.lesion), len(b.background))
	}
	for c := range a.Images {
		for i := range a.Images[c] {
			if a.Images[c][i] != b.Images[c][i] {
				t.Fatalf("channel %d differs at %d", c, i)
			}
		}
	}

	// Bad folders are errors naming the problem.
	for name, edit := range map[string]func(dir string){
		"numTraining": func(dir string) {
			js, _ := json.Marshal(map[string]any{"channel_names": names, "numTraining": 5})
			os.WriteFile(filepath.Join(dir, "dataset.json"), js, 0o644)
		},
		"channel": func(dir string) {
			js, _ := json.Marshal(map[string]any{"channel_names": map[string]string{"0": "T1", "1": "T1", "2": "T1c", "3": "T2"}})
			os.WriteFile(filepath.Join(dir, "dataset.json"), js, 0o644)
		},
		"no such file": func(dir string) {
			os.Remove(filepath.Join(dir, "imagesTr", cases[0].Name+"_0003.nii.gz"))
		},
	} {
		bad := t.TempDir()
		writeDecathlon(t, bad, cases, names)
		edit(bad)
		if _, err := OpenDataset(bad); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

// The training copy written to the cache reads back equal to the one made
// from the preprocessing, and a damaged cache file is rebuilt.
func TestTrainCacheRoundTrip(t *testing.T) {
	c := testCases(t, 1)[0]
	s, err := LoadSample(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	want, err := cropSample(s)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(c.PreprocDir, TrainCacheFile)
	if _, err := loadTrainCase(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	got, err := readTrainCache(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Dims != want.Dims || len(got.lesion) != len(want.lesion) || len(got.background) != len(want.background) || string(got.Label) != string(want.Label) {
		t.Fatal("cached training copy differs")
	}
	data, _ := os.ReadFile(path)
	os.WriteFile(path, data[:len(data)/2], 0o644)
	if _, err := readTrainCache(path); err == nil {
		t.Fatal("truncated cache accepted")
	}
	again, err := loadTrainCase(context.Background(), c)
	if err != nil || again.Dims != want.Dims {
		t.Fatalf("rebuild: %v", err)
	}
}

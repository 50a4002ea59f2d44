package inference

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"metascope/lesion"
	"metascope/volume"
)

func encode(t *testing.T, n *Network) []byte {
	var b bytes.Buffer
	if err := EncodeWeights(&b, n, DefaultPreprocessing(), map[string]string{"fold": "1"}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// reseal rewrites the header of a weights file and fixes its checksum, to
// build files that are well-formed but wrong.
func reseal(t *testing.T, data []byte, edit func(h *WeightsHeader)) []byte {
	hl := binary.LittleEndian.Uint32(data[12:])
	var h WeightsHeader
	if err := json.Unmarshal(data[16:16+hl], &h); err != nil {
		t.Fatal(err)
	}
	edit(&h)
	js, _ := json.Marshal(h)
	out := append([]byte(nil), data[:16]...)
	binary.LittleEndian.PutUint32(out[12:], uint32(len(js)))
	out = append(out, js...)
	out = append(out, data[16+hl:len(data)-32]...)
	sum := sha256.Sum256(out)
	return append(out, sum[:]...)
}

func TestWeightsRoundTrip(t *testing.T) {
	n := tinyNet4(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "fold-1.weights")
	if err := SaveWeights(path, n, DefaultPreprocessing(), nil); err != nil {
		t.Fatal(err)
	}
	m, h, err := LoadWeights(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Preprocessing.SpacingMM != [3]float64{1, 1, 1} || len(h.Preprocessing.Channels) != 4 {
		t.Errorf("preprocessing %+v", h.Preprocessing)
	}
	a, b := n.Params(), m.Params()
	for i := range a {
		for j := range a[i].T.Data {
			if a[i].T.Data[j] != b[i].T.Data[j] {
				t.Fatalf("%s[%d]: %g != %g", a[i].Name, j, a[i].T.Data[j], b[i].T.Data[j])
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 1))
	in, mask := testCase(r, [3]int{10, 9, 8})
	pa, _ := PredictProb(context.Background(), n, in, mask, 6, nil)
	pb, _ := PredictProb(context.Background(), m, in, mask, 12, nil)
	for i := range pa.Data {
		if pa.Data[i] != pb.Data[i] {
			t.Fatal("loaded network predicts differently")
		}
	}
}

func TestWeightsRefuseBadFiles(t *testing.T) {
	n := tinyNet4(t)
	good := encode(t, n)
	other := tinyConfig()
	other.InChannels = 4
	other.Channels = []int{2, 3, 3, 5}
	cases := map[string][]byte{
		"magic":     append([]byte("NOTMAGIC"), good[8:]...),
		"truncated": good[:len(good)-100],
		"flipped": func() []byte {
			b := append([]byte(nil), good...)
			b[len(b)/2] ^= 1
			return b
		}(),
		"version": func() []byte {
			b := append([]byte(nil), good...)
			binary.LittleEndian.PutUint32(b[8:], 2)
			return b
		}(),
		"shape":          reseal(t, good, func(h *WeightsHeader) { h.Tensors[0].Shape = []int{2, 4, 3, 3, 2} }),
		"name":           reseal(t, good, func(h *WeightsHeader) { h.Tensors[1].Name = "normal.1.bias" }),
		"config":         reseal(t, good, func(h *WeightsHeader) { h.Config = other }),
		"invalid config": reseal(t, good, func(h *WeightsHeader) { h.Config.Kernel = 4 }),
		"format":         reseal(t, good, func(h *WeightsHeader) { h.Format = "x" }),
		"nan": func() []byte {
			hl := binary.LittleEndian.Uint32(good[12:])
			b := append([]byte(nil), good[:len(good)-32]...)
			binary.LittleEndian.PutUint32(b[16+hl:], math.Float32bits(float32(math.NaN())))
			sum := sha256.Sum256(b)
			return append(b, sum[:]...)
		}(),
	}
	dir := t.TempDir()
	for name, data := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".weights")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadWeights(path, nil)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestModelFolder(t *testing.T) {
	dir := t.TempDir()
	var folds []*Network
	for i := 0; i < 3; i++ {
		c := tinyConfig()
		c.InChannels = 4
		n, _ := NewNetwork(c, uint64(i), nil)
		folds = append(folds, n)
	}
	info := ModelInfo{Name: "tiny", SyntheticData: true, Notice: SyntheticNotice, Threshold: 0.5, MinComponentCM3: 0.003,
		Data: json.RawMessage(`{"source":"test"}`), Metrics: map[string]float64{"dice": 0.5}}
	if err := SaveModel(dir, info, folds); err != nil {
		t.Fatal(err)
	}
	e, err := LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Folds) != 3 || e.Info.Folds[2] != "fold-3.weights" || !e.Info.SyntheticData {
		t.Fatalf("loaded %+v", e.Info)
	}
	// Predict runs all folds and fuses them exactly as Fuse does.
	r := rand.New(rand.NewPCG(2, 2))
	in, mask := testCase(r, [3]int{12, 11, 10})
	p, err := Predict(context.Background(), e, [4]*volume.Volume{in[0], in[1], in[2], in[3]}, mask, Options{Segment: 6}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var probs []*volume.Volume
	for _, n := range e.Folds {
		pr, _ := PredictProb(context.Background(), n, in, mask, 12, nil)
		probs = append(probs, pr)
	}
	want := Fuse(probs, 0.5, 0.003, lesion.Conn26)
	for i := range want.Prob.Data {
		if math.Abs(float64(want.Prob.Data[i]-p.Prob.Data[i])) > 1e-6 || want.Label.Data[i] != p.Label.Data[i] {
			t.Fatal("Predict differs from Fuse of the folds")
		}
	}
	if p.Notice != SyntheticNotice {
		t.Error("notice lost")
	}

	// The same folder through an fs.FS (as an embedded demo model).
	if fe, err := LoadModelFS(os.DirFS(dir), "embedded"); err != nil || len(fe.Folds) != 3 {
		t.Fatalf("LoadModelFS: %v", err)
	}

	// A fold whose weights have another architecture is refused.
	c := tinyConfig()
	c.InChannels = 4
	c.FC = []int{6}
	odd, _ := NewNetwork(c, 1, nil)
	if err := SaveWeights(filepath.Join(dir, "fold-2.weights"), odd, DefaultPreprocessing(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModel(dir); err == nil || !strings.Contains(err.Error(), "fold-2.weights") {
		t.Errorf("mismatched fold: %v", err)
	}
	// A fold path leaving the folder is refused.
	info.Folds = []string{"../x.weights"}
	info.Format, info.Version, info.Config = "metascope-model", 1, folds[0].Config
	if err := info.Validate(); err == nil {
		t.Error("fold path outside the folder accepted")
	}
	if _, err := LoadModel(t.TempDir()); err == nil {
		t.Error("empty folder accepted")
	}
}

// TestFuse builds five folds' probability maps with known lesions: one all
// folds find, one three find, one only two find (dropped by the vote), and
// one voxel all find (dropped as under 0.003 cm3).
func TestFuse(t *testing.T) {
	g := volume.Grid{Dims: [3]int{30, 20, 10}, Affine: volume.Diagonal([3]float64{1, 1, 1}, [3]float64{})}
	box := func(p *volume.Volume, lo, hi [3]int, v float32) {
		for k := lo[2]; k <= hi[2]; k++ {
			for j := lo[1]; j <= hi[1]; j++ {
				for i := lo[0]; i <= hi[0]; i++ {
					p.Set(i, j, k, v)
				}
			}
		}
	}
	var probs []*volume.Volume
	for f := 0; f < 5; f++ {
		p := volume.New(g)
		box(p, [3]int{2, 2, 2}, [3]int{5, 5, 5}, 0.9)
		if f < 3 {
			box(p, [3]int{10, 2, 2}, [3]int{12, 4, 4}, 0.6+0.1*float32(f))
		}
		if f < 2 {
			box(p, [3]int{20, 10, 2}, [3]int{22, 12, 4}, 0.8)
		}
		box(p, [3]int{27, 17, 7}, [3]int{27, 17, 7}, 0.99)
		probs = append(probs, p)
	}
	pr := Fuse(probs, 0.5, 0.003, lesion.Conn26)
	if len(pr.Candidates) != 2 || pr.Removed != 1 {
		t.Fatalf("%d candidates, %d removed: %+v", len(pr.Candidates), pr.Removed, pr.Candidates)
	}
	a, b := pr.Candidates[0], pr.Candidates[1]
	if a.Voxels != 64 || a.Folds != 5 || math.Abs(a.MaxProb-0.9) > 1e-6 || math.Abs(a.VolumeCM3-0.064) > 1e-9 {
		t.Errorf("first candidate %+v", a)
	}
	if b.Voxels != 27 || b.Folds != 3 || math.Abs(b.MeanProb-(0.6+0.7+0.8)/5) > 1e-6 {
		t.Errorf("second candidate %+v", b)
	}
	if pr.Label.At(21, 11, 3) != 0 || pr.Label.At(27, 17, 7) != 0 || pr.Label.At(3, 3, 3) != 1 {
		t.Error("fused label map wrong")
	}
	if math.Abs(float64(pr.Prob.At(21, 11, 3))-0.32) > 1e-6 {
		t.Errorf("mean probability %g, want 0.32", pr.Prob.At(21, 11, 3))
	}
}

// FuzzDecodeWeights feeds corrupted weights files to the decoder: it must
// return an error or a network, never panic or allocate without bound.
func FuzzDecodeWeights(f *testing.F) {
	c := tinyConfig()
	c.InChannels = 4
	n, _ := NewNetwork(c, 1, nil)
	var b bytes.Buffer
	EncodeWeights(&b, n, DefaultPreprocessing(), nil)
	f.Add(b.Bytes())
	f.Add(b.Bytes()[:100])
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, h, err := DecodeWeights(data, nil); err == nil && (m == nil || h == nil) {
			t.Fatal("no error and no network")
		}
	})
}

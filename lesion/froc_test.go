package lesion

import (
	"bytes"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"metascope/volume"
)

// frocCase builds two scans whose FROC points are known by hand.
//
// Scan 1: true lesions A (p = 0.9) and B (p = 0.5); false positive blobs
// F1 (p = 0.7) and F2 (p = 0.3); a single voxel at p = 0.95 (0.001 cm3,
// below the 0.003 cm3 rule). Scan 2: true lesion C (p = 0.6, rim 0.2).
func frocCase() ([]*volume.Label, []*volume.Volume) {
	g := grid(24, 12, 12)
	t1, p1 := volume.NewLabel(g), volume.New(g)
	t2, p2 := volume.NewLabel(g), volume.New(g)
	set := func(p *volume.Volume, lo, hi [3]int, v float32) {
		for k := lo[2]; k <= hi[2]; k++ {
			for j := lo[1]; j <= hi[1]; j++ {
				for i := lo[0]; i <= hi[0]; i++ {
					p.Set(i, j, k, v)
				}
			}
		}
	}
	box(t1, [3]int{1, 1, 1}, [3]int{3, 3, 3}, 1) // A
	set(p1, [3]int{1, 1, 1}, [3]int{3, 3, 3}, 0.9)
	box(t1, [3]int{8, 1, 1}, [3]int{10, 3, 3}, 1) // B
	set(p1, [3]int{8, 1, 1}, [3]int{10, 3, 3}, 0.5)
	set(p1, [3]int{15, 8, 8}, [3]int{16, 9, 9}, 0.7) // F1
	set(p1, [3]int{2, 8, 8}, [3]int{3, 9, 9}, 0.3)   // F2
	p1.Set(20, 2, 10, 0.95)                          // speck
	box(t2, [3]int{5, 5, 5}, [3]int{7, 7, 7}, 1)     // C
	set(p2, [3]int{4, 4, 4}, [3]int{8, 8, 8}, 0.2)
	set(p2, [3]int{5, 5, 5}, [3]int{7, 7, 7}, 0.6)
	return []*volume.Label{t1, t2}, []*volume.Volume{p1, p2}
}

func TestFROCExactPoints(t *testing.T) {
	truths, probs := frocCase()
	ths := []float64{0.1, 0.3, 0.5, 0.55, 0.65, 0.8, 0.92, 0.99}
	got := FROC(truths, probs, ths, DefaultEvalOptions())
	want := []FROCPoint{
		// 0.1: everything, C with its rim (one component), F1 and F2.
		{Threshold: 0.1, TP: 3, FN: 0, FP: 2},
		// 0.3: p >= t, so F2 (exactly 0.3) is still in.
		{Threshold: 0.3, TP: 3, FN: 0, FP: 2},
		{Threshold: 0.5, TP: 3, FN: 0, FP: 1},
		{Threshold: 0.55, TP: 2, FN: 1, FP: 1},
		{Threshold: 0.65, TP: 1, FN: 2, FP: 1},
		{Threshold: 0.8, TP: 1, FN: 2, FP: 0},
		// 0.92: only the speck, which the 0.003 cm3 rule removes.
		{Threshold: 0.92, TP: 0, FN: 3, FP: 0},
		{Threshold: 0.99, TP: 0, FN: 3, FP: 0},
	}
	for i, w := range want {
		w.Scans = 2
		w.Sensitivity = float64(w.TP) / 3
		w.FPPerScan = float64(w.FP) / 2
		if got[i] != w {
			t.Errorf("threshold %v: got %+v, want %+v", ths[i], got[i], w)
		}
	}
	// Per-case curves pooled give the same points.
	pooled := PoolFROC(FROC(truths[:1], probs[:1], ths, DefaultEvalOptions()),
		FROC(truths[1:], probs[1:], ths, DefaultEvalOptions()))
	for i := range got {
		if pooled[i] != got[i] {
			t.Errorf("pooled %+v, whole %+v", pooled[i], got[i])
		}
	}
	// Without the size rule the speck is a false positive at 0.92.
	opts := DefaultEvalOptions()
	opts.MinCM3 = 0
	if p := FROC(truths, probs, []float64{0.92}, opts)[0]; p.FP != 1 || p.TP != 0 {
		t.Errorf("no size rule at 0.92: %+v, want 1 FP", p)
	}
}

// TestFROCMatchesEvaluateCase checks the run-only FROC path against the
// obvious one (Threshold, then EvaluateCase) on random lesion maps.
func TestFROCMatchesEvaluateCase(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	ths := []float64{0.1, 0.25, 0.5, 0.75, 0.9}
	for trial := range 4 {
		g := volume.Grid{Dims: [3]int{40, 32, 20}, Affine: volume.Diagonal([3]float64{1, 1.2, 2}, [3]float64{})}
		truth := volume.NewLabel(g)
		blobs(truth, rng, 8, 1, 5)
		pred := perturb(truth, rng)
		prob := volume.New(g)
		for i := range prob.Data {
			prob.Data[i] = rng.Float32() * 0.2
			if pred.Data[i] != 0 {
				prob.Data[i] += 0.3 + 0.5*rng.Float32()
			}
		}
		for _, conn := range []Connectivity{Conn6, Conn26} {
			opts := DefaultEvalOptions()
			opts.Conn = conn
			got := FROC([]*volume.Label{truth}, []*volume.Volume{prob}, ths, opts)
			for i, th := range ths {
				r := EvaluateCase(truth, Threshold(prob, float32(th)), opts)
				if got[i].TP != r.TP || got[i].FN != r.FN || got[i].FP != r.FP {
					t.Fatalf("trial %d conn %v threshold %v: FROC %d/%d/%d, EvaluateCase %d/%d/%d",
						trial, conn, th, got[i].TP, got[i].FN, got[i].FP, r.TP, r.FN, r.FP)
				}
			}
		}
	}
}

func TestFROCCSVAndPlot(t *testing.T) {
	truths, probs := frocCase()
	pts := FROC(truths, probs, Thresholds(9), DefaultEvalOptions())
	var buf bytes.Buffer
	if err := WriteFROCCSV(&buf, pts); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 10 || lines[0] != "threshold,sensitivity,fps_per_scan,tp,fn,fp,scans" {
		t.Fatalf("CSV:\n%s", buf.String())
	}
	// Threshold 0.1 (1/10): all three found, 2 FP over 2 scans.
	if lines[1] != "0.1,1,1,3,0,2,2" {
		t.Errorf("first row %q", lines[1])
	}
	buf.Reset()
	if err := WriteFROCCurvesCSV(&buf, map[string][]FROCPoint{"b": pts[:1], "a": pts[:2]}); err != nil {
		t.Fatal(err)
	}
	if want := "curve,threshold,sensitivity,fps_per_scan,tp,fn,fp,scans\na,0.1,1,1,3,0,2,2\na,0.2,1,1,3,0,2,2\nb,0.1,1,1,3,0,2,2\n"; buf.String() != want {
		t.Errorf("curves CSV:\n%s\nwant\n%s", buf.String(), want)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "froc.png")
	shifted := make([]FROCPoint, len(pts))
	for i, p := range pts {
		p.FPPerScan *= 2
		shifted[i] = p
	}
	err := PlotFROCWithPoints(path, map[string][]FROCPoint{"ensemble": pts, "fold 1": shifted},
		map[string]FROCPoint{StudyName: StudyOperatingPoint()})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("plot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 300 {
		t.Errorf("plot %v too small", b)
	}
	if os.Getenv("LESION_KEEP_PLOT") != "" {
		data, _ := os.ReadFile(path)
		os.WriteFile(os.Getenv("LESION_KEEP_PLOT"), data, 0o644)
	}
}

func TestThresholds(t *testing.T) {
	ts := Thresholds(4)
	for i, want := range []float64{0.2, 0.4, 0.6, 0.8} {
		if math.Abs(ts[i]-want) > 1e-15 {
			t.Errorf("Thresholds(4) = %v", ts)
		}
	}
}

func BenchmarkFROC(b *testing.B) {
	truth := benchLabel()
	prob := volume.New(truth.Grid)
	for i, x := range truth.Data {
		prob.Data[i] = float32(x) * 0.8
	}
	ths := Thresholds(10)
	b.ResetTimer()
	for b.Loop() {
		FROC([]*volume.Label{truth}, []*volume.Volume{prob}, ths, DefaultEvalOptions())
	}
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N)/float64(len(ths)), "ms/threshold")
}

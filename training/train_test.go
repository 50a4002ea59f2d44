package training

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"metascope/inference"
	"metascope/inference/nn"
)

// A tiny network overfits a few patches of two phantom cases: the Dice loss
// falls and the Dice at 0.5 rises.
func TestTinyNetworkOverfits(t *testing.T) {
	cases := loadTestCases(t, 2)
	o := tinyOptions()
	net, err := inference.NewNetwork(o.Network, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var params []*nn.Tensor
	for _, p := range net.TrainableParams() {
		params = append(params, p.T)
	}
	opt := newRMSprop(params, o.RMSRho, o.RMSEps)
	rng := rand.New(rand.NewPCG(5, 6))
	var ps []Patch
	for i := 0; i < 8; i++ {
		ps = append(ps, drawPatch(rng, cases, []int{0, 1}, 0.5, 0.5))
	}
	x, y := batch(map[int]*trainCase{0: cases[0], 1: cases[1]}, ps, 4, o.PatchSize, net.Geometry().Margin)
	score := func() (float64, float64) {
		p, err := net.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := DiceLoss(p, y)
		var d diceCount
		d.add(p, y, 0.5)
		return l, d.dice()
	}
	l0, d0 := score()
	for i := 0; i < 80; i++ {
		if _, err := trainStep(net, opt, params, x, y, 3e-3, 0, rng); err != nil {
			t.Fatal(err)
		}
	}
	l1, d1 := score()
	t.Logf("loss %.3f -> %.3f, Dice %.3f -> %.3f", l0, l1, d0, d1)
	if !(l1 < 0.5*l0) {
		t.Errorf("loss %.3f -> %.3f: did not halve", l0, l1)
	}
	if !(d1 > 0.8 && d1 > d0+0.2) {
		t.Errorf("Dice %.3f -> %.3f: did not rise above 0.8", d0, d1)
	}
}

// A run stopped after its first epoch and resumed ends in exactly the
// state of an uninterrupted run: the same weights, bit for bit, and the
// same curve.
func TestResumeEqualsUninterrupted(t *testing.T) {
	cases := testCases(t, 4)
	o := tinyOptions()
	o.Network.Dropout = 0.2 // dropout masks come from the checkpointed stream
	d := &Dataset{Source: "test", Kind: "phantom", Train: cases}
	full := filepath.Join(t.TempDir(), "full")
	if _, err := Train(context.Background(), d, o, RunOptions{OutDir: full, Name: "m"}); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(t.TempDir(), "part")
	ctx, cancel := context.WithCancel(context.Background())
	stopAt := func(p Progress) {
		// Stop in the middle of fold 1's second epoch: its first epoch
		// is checkpointed, the partial one is lost.
		if p.Fold == 1 && p.Epoch == 2 && p.Step == 3 {
			cancel()
		}
	}
	_, err := Train(ctx, d, o, RunOptions{OutDir: part, Name: "m", Progress: stopAt})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped run: %v, want context.Canceled", err)
	}
	if _, err := Train(context.Background(), d, o, RunOptions{OutDir: part, Name: "m"}); err == nil {
		t.Fatal("a second run into the same folder without Resume was accepted")
	}
	res, err := Train(context.Background(), d, o, RunOptions{OutDir: part, Name: "m", Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	for f := 1; f <= o.Folds; f++ {
		name := "fold-" + string(rune('0'+f)) + ".weights"
		a, err := os.ReadFile(filepath.Join(full, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(part, name))
		if err != nil {
			t.Fatal(err)
		}
		na, _, err := inference.DecodeWeights(a, nil)
		if err != nil {
			t.Fatal(err)
		}
		nb, _, err := inference.DecodeWeights(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range na.Params() {
			if !reflect.DeepEqual(p.T.Data, nb.Params()[i].T.Data) {
				t.Errorf("fold %d: %s differs between the resumed and the uninterrupted run", f, p.Name)
			}
		}
		ca, _ := os.ReadFile(filepath.Join(TrainingDir(full), "fold-"+string(rune('0'+f)), CurveCSV))
		cb, _ := os.ReadFile(filepath.Join(TrainingDir(part), "fold-"+string(rune('0'+f)), CurveCSV))
		if !bytes.Equal(dropSeconds(ca), dropSeconds(cb)) {
			t.Errorf("fold %d: curves differ:\n%s\n%s", f, ca, cb)
		}
	}
	if len(res.Folds) != o.Folds || len(res.Folds[0].History) != o.Epochs {
		t.Errorf("resumed run: %d folds, %d epochs", len(res.Folds), len(res.Folds[0].History))
	}
	e, err := inference.LoadModel(part)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Folds) != o.Folds || e.Info.Metrics["fold1_val_dice"] <= 0 {
		t.Errorf("model folder: %d folds, metrics %v", len(e.Folds), e.Info.Metrics)
	}
	for _, f := range []string{CurveCSV, CurvePNG} {
		if _, err := os.Stat(filepath.Join(TrainingDir(part), "fold-1", f)); err != nil {
			t.Error(err)
		}
	}
}

// dropSeconds removes the last CSV column (wall-clock seconds per epoch).
func dropSeconds(csv []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(csv, []byte("\n")) {
		if i := bytes.LastIndexByte(line, ','); i >= 0 {
			line = line[:i]
		}
		out = append(out, line)
	}
	return bytes.Join(out, []byte("\n"))
}

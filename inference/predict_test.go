package inference

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"metascope/inference/kernels"
	"metascope/inference/nn"
	"metascope/volume"
)

// testCase builds four random sequences and an ellipsoidal brain mask that
// does not touch the volume's border on one side and touches it on another.
func testCase(r *rand.Rand, dims [3]int) ([]*volume.Volume, *volume.Label) {
	g := volume.Grid{Dims: dims, Affine: volume.Diagonal([3]float64{1, 1, 1}, [3]float64{-10, 5, 3})}
	var in []*volume.Volume
	for c := 0; c < 4; c++ {
		v := volume.New(g)
		for i := range v.Data {
			v.Data[i] = float32(r.NormFloat64())
		}
		in = append(in, v)
	}
	m := volume.NewLabel(g)
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				x := float64(i-dims[0]/2) / (0.4 * float64(dims[0]))
				y := float64(j-dims[1]/2) / (0.5 * float64(dims[1]))
				z := float64(k-dims[2]/2+1) / (0.45 * float64(dims[2]))
				if x*x+y*y+z*z <= 1 {
					m.Set(i, j, k, 1)
				}
			}
		}
	}
	return in, m
}

func tinyNet4(t testing.TB) *Network {
	c := tinyConfig()
	c.InChannels = 4
	// Layers 2-4 have enough input channels (>= 5) to take the Winograd
	// path, whose pairs of outputs fall differently in different tiles.
	c.Channels = []int{5, 6, 6, 6}
	n, err := NewNetwork(c, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Make the batch norms non-trivial so every part of the net matters.
	r := rand.New(rand.NewPCG(8, 8))
	for _, p := range n.Params() {
		if len(p.T.Shape) == 1 {
			for i := range p.T.Data {
				p.T.Data[i] += 0.2 * float32(r.Float64())
			}
		}
	}
	return n
}

func TestTilesCoverAligned(t *testing.T) {
	geo := DefaultConfig().Geometry()
	dims := [3]int{100, 47, 45}
	tiles, err := Tiles(dims, 48, geo)
	if err != nil {
		t.Fatal(err)
	}
	covered := make(map[[3]int]int)
	for _, tl := range tiles {
		for a := 0; a < 3; a++ {
			if tl.Origin[a]%48 != 0 || tl.Size[a]%3 != 0 || tl.Size[a] > 48 {
				t.Fatalf("tile %+v not aligned", tl)
			}
		}
		for k := tl.Origin[2]; k < tl.Origin[2]+tl.Size[2]; k++ {
			for j := tl.Origin[1]; j < tl.Origin[1]+tl.Size[1]; j++ {
				for i := tl.Origin[0]; i < tl.Origin[0]+tl.Size[0]; i++ {
					covered[[3]int{i, j, k}]++
				}
			}
		}
	}
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				if covered[[3]int{i, j, k}] != 1 {
					t.Fatalf("voxel %d,%d,%d covered %d times", i, j, k, covered[[3]int{i, j, k}])
				}
			}
		}
	}
	if len(tiles) != 3*1*1 {
		t.Errorf("%d tiles, want 3", len(tiles))
	}
	for _, seg := range []int{44, 45} {
		if _, err := Tiles(dims, seg, geo); err == nil {
			t.Errorf("segment %d accepted with alignment 6", seg)
		}
	}
}

// TestTilingEqualsWholeVolume predicts with small tiles and with one tile
// covering the whole brain box; the maps must agree bit for bit.
func TestTilingEqualsWholeVolume(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	in, mask := testCase(r, [3]int{23, 19, 16})
	n := tinyNet4(t)
	whole, err := PredictProb(context.Background(), n, in, mask, 30, nil)
	if err != nil {
		t.Fatal(err)
	}
	inside := 0
	for i, v := range whole.Data {
		if mask.Data[i] == 0 && v != 0 {
			t.Fatalf("probability %g outside the brain at %d", v, i)
		}
		if mask.Data[i] != 0 {
			inside++
			if !(v > 0 && v < 1) {
				t.Fatalf("probability %g inside the brain at %d", v, i)
			}
		}
	}
	if inside == 0 {
		t.Fatal("empty mask")
	}
	for _, seg := range []int{6, 12, 18} {
		tiled, err := PredictProb(context.Background(), n, in, mask, seg, nil)
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for i := range whole.Data {
			worst = math.Max(worst, math.Abs(float64(tiled.Data[i]-whole.Data[i])))
		}
		if worst != 0 {
			t.Errorf("segment %d: tiled and whole-volume maps differ by %g", seg, worst)
		}
	}
}

func TestPredictProbCancelAndErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	in, mask := testCase(r, [3]int{12, 12, 12})
	n := tinyNet4(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := PredictProb(ctx, n, in, mask, 6, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run returned %v", err)
	}
	if _, err := PredictProb(context.Background(), n, in[:3], mask, 6, nil); err == nil {
		t.Error("three inputs accepted")
	}
	other := volume.New(volume.Grid{Dims: [3]int{12, 12, 11}, Affine: in[0].Affine})
	if _, err := PredictProb(context.Background(), n, []*volume.Volume{in[0], in[1], other, in[3]}, mask, 6, nil); err == nil {
		t.Error("input on another grid accepted")
	}
	empty := volume.NewLabel(mask.Grid)
	p, err := PredictProb(context.Background(), n, in, empty, 6, nil)
	if err != nil || p.Dims != mask.Dims {
		t.Fatalf("empty mask: %v", err)
	}
}

// TestPlanCoversBrainOnce checks that the blocks write every brain voxel
// exactly once, stay on the Factor grid of the brain's box, and skip air.
func TestPlanCoversBrainOnce(t *testing.T) {
	_, mask := testCase(rand.New(rand.NewPCG(5, 5)), [3]int{40, 33, 29})
	geo := DefaultConfig().Geometry()
	lo, _, _ := BoundingBox(mask)
	blocks, err := Plan(mask, 12, geo)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]int, len(mask.Data))
	var computed int
	for _, b := range blocks {
		for a := 0; a < 3; a++ {
			if (b.Origin[a]-lo[a])%6 != 0 || b.Size[a]%3 != 0 || b.End[a] > b.Origin[a]+b.Size[a] || b.Size[a] > 12 {
				t.Fatalf("block %+v off the grid", b)
			}
		}
		computed += b.Size[0] * b.Size[1] * b.Size[2]
		for k := b.Origin[2]; k < b.End[2]; k++ {
			for j := b.Origin[1]; j < b.End[1]; j++ {
				for i := b.Origin[0]; i < b.End[0]; i++ {
					seen[mask.Index(i, j, k)]++
				}
			}
		}
	}
	for i, v := range mask.Data {
		if v != 0 && seen[i] != 1 {
			t.Fatalf("brain voxel %d written %d times", i, seen[i])
		}
	}
	lo2, hi2, _ := BoundingBox(mask)
	box := (hi2[0] - lo2[0] + 1) * (hi2[1] - lo2[1] + 1) * (hi2[2] - lo2[2] + 1)
	if computed >= box {
		t.Errorf("blocks compute %d voxels, the whole box is %d", computed, box)
	}
	t.Logf("%d blocks, %d voxels computed for a box of %d, brain %d", len(blocks), computed, box, mask.Count())
}

// TestPredictFoldsQueueExact runs three folds through the shared
// (fold, block) queue with one to three workers; every fold's map must
// equal its own PredictProb bit for bit, and progress must never go back.
func TestPredictFoldsQueueExact(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	in, mask := testCase(r, [3]int{23, 19, 16})
	var folds []*Network
	var want []*volume.Volume
	for f := 0; f < 3; f++ {
		n := tinyNet4(t)
		for i := range n.Normal[0].W.Data {
			n.Normal[0].W.Data[i] *= 1 + 0.3*float32(f)
		}
		folds = append(folds, n)
		p, err := PredictProb(context.Background(), n, in, mask, 6, nil)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, p)
	}
	if slices.Equal(want[0].Data, want[1].Data) {
		t.Fatal("folds do not differ")
	}
	for workers := 1; workers <= 3; workers++ {
		last := -1.0
		progress := func(stage string, d float64) {
			if stage == "network" && d < last {
				t.Errorf("%d workers: progress %g after %g", workers, d, last)
			}
			last = d
		}
		got, err := predictFolds(context.Background(), folds, in, mask, 6, workers, progress)
		if err != nil {
			t.Fatal(err)
		}
		for f := range folds {
			if !slices.Equal(got[f].Data, want[f].Data) {
				t.Errorf("%d workers: fold %d differs from its own PredictProb", workers, f+1)
			}
		}
		if last != 1 {
			t.Errorf("%d workers: progress ended at %g", workers, last)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := predictFolds(ctx, folds, in, mask, 6, 2, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ensemble returned %v", err)
	}
}

// unfused hides a backend's fused PReLU, so the network runs its
// convolutions and PReLUs as separate passes.
type unfused struct{ kernels.Backend }

// TestFusedPReLUUnchanged: fusing the PReLU into the convolutions must not
// change one bit of the probabilities.
func TestFusedPReLUUnchanged(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	in, mask := testCase(r, [3]int{23, 19, 16})
	n := tinyNet4(t)
	if _, ok := n.Backend.(kernels.PReLUConv); !ok {
		t.Fatalf("backend %s does not fuse PReLU", n.Backend.Name())
	}
	fused, err := PredictProb(context.Background(), n, in, mask, 12, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.Backend = unfused{n.Backend}
	plain, err := PredictProb(context.Background(), n, in, mask, 12, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fused.Data, plain.Data) {
		t.Error("fused and separate PReLU give different maps")
	}
}

// TestReusedBuffersUnchanged runs the network with its released-buffer
// list primed with NaN-filled buffers: every convolution that takes one
// must write all of it, so the output equals a fresh run bit for bit.
func TestReusedBuffersUnchanged(t *testing.T) {
	n := tinyNet4(t)
	r := rand.New(rand.NewPCG(10, 10))
	x := nn.New(1, 4, 30, 30, 30)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	want, err := n.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	var free [][]float32
	for i := 0; i < 64; i++ {
		b := make([]float32, 4*x.Len()>>(i%6))
		for j := range b {
			b[j] = float32(math.NaN())
		}
		free = append(free, b)
	}
	got, err := wire[*nn.Tensor](n, direct{free: &free}, x, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	used := 0
	for _, b := range free {
		if !math.IsNaN(float64(b[0])) {
			used++
		}
	}
	if used == 0 {
		t.Fatal("no buffer reused")
	}
	if !slices.Equal(got.Data, want.Data) {
		t.Error("output differs with reused buffers")
	}
}

// TestForwardRowsMatchesForward: the rows ForwardRows is asked for equal
// Forward's bit for bit, with a backend that skips the other rows and with
// one that cannot, for scattered and blocky row sets; and the skipping is
// real: some unwanted rows come out different.
func TestForwardRowsMatchesForward(t *testing.T) {
	n := tinyNet4(t)
	r := rand.New(rand.NewPCG(12, 12))
	geo := n.Geometry()
	size, err := geo.InputSize(18)
	if err != nil {
		t.Fatal(err)
	}
	x := nn.New(2, 4, size, size+6, size+12)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	full, err := n.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	Z, Y, X := full.Shape[2], full.Shape[3], full.Shape[4]
	scattered := make([]bool, Z*Y)
	for i := range scattered {
		scattered[i] = r.IntN(5) == 0
	}
	corner := make([]bool, Z*Y) // a ball's worth of rows: the corners empty
	for z := 0; z < Z; z++ {
		for y := 0; y < Y; y++ {
			dz, dy := float64(z)-float64(Z)/2, float64(y)-float64(Y)/2
			corner[z*Y+y] = dz*dz+dy*dy < float64(Z*Z)/9
		}
	}
	one := make([]bool, Z*Y)
	one[len(one)/2] = true
	for _, be := range []kernels.Backend{n.Backend, unfused{n.Backend}} {
		m := *n
		m.Backend = be
		skipped := false
		for wi, want := range [][]bool{scattered, corner, one} {
			got, err := m.ForwardRows(x, want)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range got.Data {
				row := (i / X) % (Z * Y)
				if want[row] && v != full.Data[i] {
					t.Fatalf("%s row set %d: wanted output %d is %g, Forward gives %g", be.Name(), wi, i, v, full.Data[i])
				}
				if !want[row] && v != full.Data[i] {
					skipped = true
				}
			}
		}
		if _, ok := be.(kernels.RowConv); ok && !skipped {
			t.Errorf("%s: every unwanted row equals Forward's: nothing was skipped", be.Name())
		}
	}
	if _, err := n.ForwardRows(x, make([]bool, Z*Y-1)); err == nil {
		t.Error("a row set of the wrong length was accepted")
	}
}

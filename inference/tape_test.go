package inference

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"metascope/inference/kernels"
	"metascope/inference/nn"
)

// countingBackend counts the data gradients of convolutions.
type countingBackend struct {
	kernels.Backend
	data *atomic.Int64
}

func (c countingBackend) Conv3DBackwardData(dx []float32, xs kernels.Shape5, dy []float32, w []float32, cout, k int) {
	c.data.Add(1)
	c.Backend.Conv3DBackwardData(dx, xs, dy, w, cout, k)
}

// tapeNet is the tiny network with two FC layers (dropout feeding an FC
// layer), non-trivial batch norm and PReLU parameters, on a backend that
// counts data gradients.
func tapeNet(t *testing.T) (*Network, *atomic.Int64) {
	t.Helper()
	cfg := tinyConfig()
	cfg.FC = []int{5, 4}
	cnt := new(atomic.Int64)
	n, err := NewNetwork(cfg, 7, countingBackend{kernels.Default(), cnt})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, p := range n.Params() {
		if p.Trainable && len(p.T.Shape) == 1 {
			for i := range p.T.Data {
				p.T.Data[i] += 0.3 * float32(r.NormFloat64())
			}
		}
	}
	return n, cnt
}

func f32bits(d []float32) []uint32 {
	b := make([]uint32, len(d))
	for i, v := range d {
		b[i] = math.Float32bits(v)
	}
	return b
}

func bnStates(n *Network) [][]float32 {
	var s [][]float32
	for _, p := range n.Params() {
		if !p.Trainable {
			s = append(s, slices.Clone(p.T.Data))
		}
	}
	return s
}

// TestTapeRecomputeMatchesKeepAll: the tape that drops and recomputes
// activations gives every parameter the gradient, bit for bit, of the tape
// that keeps everything (which TestNetworkGradient checks against the
// gorgonia graph); it moves the running batch norm statistics exactly as
// one forward pass does; it computes no data gradient for the first
// convolution of either pathway (the input's gradient leads nowhere); and
// it holds no recomputable activation after the forward pass and no
// activation after Backward.
func TestTapeRecomputeMatchesKeepAll(t *testing.T) {
	ref, refCount := tapeNet(t)
	net, count := tapeNet(t)
	fwd, _ := tapeNet(t)
	before := bnStates(net)
	r := rand.New(rand.NewPCG(8, 9))
	in, _ := net.Geometry().InputSize(3)
	x := randInput(r, 2, 2, in, in, in)
	xCopy := slices.Clone(x.Data)
	mask := func(i int, shape []int) *nn.Tensor {
		mr := rand.New(rand.NewPCG(uint64(i), 1))
		return nn.DropoutMask(shape, 0.5, mr.Float64)
	}

	refTape, err := ref.forwardTrain(x, mask, true)
	if err != nil {
		t.Fatal(err)
	}
	tape, err := net.ForwardTrain(x, mask)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fwd.ForwardTrain(x, mask); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f32bits(tape.Output().Data), f32bits(refTape.Output().Data)) {
		t.Fatal("outputs differ")
	}
	for _, e := range tape.entries {
		if recomputed(e.f) && e.out != tape.out && e.out.Data != nil {
			t.Errorf("after the forward pass, the tape holds the output of %v", e.f)
		}
	}
	convs := 2*len(net.Config.Channels) + len(net.Config.FC) + 1
	entries := slices.Clone(tape.entries) // Backward clears them

	dout := randInput(r, tape.Output().Shape...)
	refCount.Store(0)
	want, err := refTape.Backward(dout)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tape.Backward(dout)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range net.TrainableParams() {
		if !slices.Equal(f32bits(got[i].Data), f32bits(want[i].Data)) {
			t.Errorf("gradient of %s differs from the keep-everything tape", p.Name)
		}
		// A bias before batch norm has no effect, so gradient 0 (to
		// rounding); every other parameter has one.
		biasBeforeBN := strings.HasSuffix(p.Name, ".b") && p.Name != "out.b"
		if !biasBeforeBN && !slices.ContainsFunc(got[i].Data, func(v float32) bool { return v != 0 }) {
			t.Errorf("gradient of %s is zero", p.Name)
		}
	}
	if n := refCount.Load(); n != int64(convs) {
		t.Errorf("keep-everything tape: %d data gradients, want %d", n, convs)
	}
	if n := count.Load(); n != int64(convs-2) {
		t.Errorf("%d data gradients of convolutions, want %d (none for the input)", n, convs-2)
	}
	for i, e := range entries {
		if e.out != tape.out && e.out.Data != nil {
			t.Errorf("after Backward, the tape holds the output of %v", e.f)
		}
		if tape.entries[i].in != nil {
			t.Errorf("after Backward, the tape holds the inputs of %v", e.f)
		}
	}
	if !slices.Equal(x.Data, xCopy) {
		t.Error("the input changed")
	}

	after, once := bnStates(net), bnStates(fwd)
	for i := range after {
		if !slices.Equal(after[i], once[i]) {
			t.Fatalf("running statistics %d: %v after forward and backward, %v after one forward pass", i, after[i], once[i])
		}
		if slices.Equal(after[i], before[i]) {
			t.Fatalf("running statistics %d did not move", i)
		}
	}
	if _, err := tape.Backward(dout); err == nil {
		t.Error("second Backward on a tape: no error")
	}
}
